package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.arch.SmmuRegisters.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.smmuv3.arch.PriQueueRecord;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Random sequences of page requests, consumption and overflow acknowledgements on a 4-entry PRI
 * queue against a model of spec §6.4 / 8.1: what is written where, PRIQ_PROD, and which requests
 * get an automatic response.
 */
class PriQueueModelPropertiesTest {
    private static final int ENTRIES = 1 << PriRig.PRIQ_LOG2;
    private static final int OVF = 1 << 31;

    @Property(tries = 200)
    void queueFollowsTheModel(@ForAll @Size(max = 40) List<@IntRange(min = 0, max = 4) Integer> ops) {
        PriRig rig = new PriRig().enable();
        List<Integer> queued = new ArrayList<>(); // groups in the queue, oldest first
        List<PageResponseMessage> expectedResponses = new ArrayList<>();
        int written = 0;
        int consumed = 0;
        int ovflg = 0;
        int ackflg = 0;
        int group = 0;
        for (int op : ops) {
            switch (op) {
                case 0, 1 -> { // a request, Last = op
                    boolean last = op == 1;
                    group = (group + 1) & 0x1FF;
                    rig.pageRequest(9, Pasid.NONE, 0x1000L * group, true, false, group, last);
                    boolean overflowing = ovflg != ackflg;
                    if (!overflowing && written - consumed == ENTRIES) {
                        ovflg ^= OVF;
                        overflowing = true;
                    }
                    if (overflowing) {
                        if (last) {
                            expectedResponses.add(new PageResponseMessage(9, Pasid.NONE, group, PageResponseCode.SUCCESS));
                        }
                    } else {
                        written++;
                        queued.add(group);
                    }
                }
                case 2 -> { // consume one
                    if (!queued.isEmpty()) {
                        long d1 = rig.priEntry(consumed % ENTRIES)[1];
                        assertThat((int) PriQueueRecord.PRG_INDEX.get(d1)).isEqualTo(queued.remove(0));
                        consumed++;
                        rig.regs.write32(PRIQ_CONS, (consumed & (2 * ENTRIES - 1)) | ackflg);
                    }
                }
                case 3 -> { // acknowledge the overflow
                    ackflg = ovflg;
                    rig.regs.write32(PRIQ_CONS, (consumed & (2 * ENTRIES - 1)) | ackflg);
                }
                default -> { // consume everything and acknowledge, as the driver does
                    while (!queued.isEmpty()) {
                        assertThat((int) PriQueueRecord.PRG_INDEX.get(rig.priEntry(consumed % ENTRIES)[1])).isEqualTo(queued.remove(0));
                        consumed++;
                    }
                    ackflg = ovflg;
                    rig.regs.write32(PRIQ_CONS, (consumed & (2 * ENTRIES - 1)) | ackflg);
                }
            }
            assertThat(rig.regs.read32(PRIQ_PROD)).isEqualTo((written & (2 * ENTRIES - 1)) | ovflg);
        }
        assertThat(rig.responses).containsExactlyElementsOf(expectedResponses);
    }
}
