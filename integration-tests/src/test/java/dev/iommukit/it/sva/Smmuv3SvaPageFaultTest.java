package dev.iommukit.it.sva;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.spi.iopf.PageRequest;
import java.util.List;

/** SVA with I/O page faults on SMMUv3: page requests arrive through the PRI queue (16-byte entries, SPEC 8.1). */
class Smmuv3SvaPageFaultTest extends SvaPageFaultContract {
    @Override
    String backend() {
        return "smmuv3";
    }

    @Override
    String queueName() {
        return "priq";
    }

    @Override
    void assertQueueEntry(PageRequest r, Device device) {
        List<Long> w = r.record().words();
        assertThat(w).as("a PRI queue entry is two doublewords").hasSize(2);
        long d0 = w.get(0);
        long d1 = w.get(1);
        assertThat(d0 & 0xFFFF_FFFFL).as("SID").isEqualTo(device.rid().value());
        assertThat((d0 >>> 32) & 0xF_FFFFL).as("SSID").isEqualTo(r.pasid());
        assertThat(bit(d0, 58)).as("Priv").isEqualTo(r.privileged());
        assertThat(bit(d0, 59)).as("Exec").isEqualTo(r.execute());
        assertThat(bit(d0, 60)).as("Read").isEqualTo(r.read());
        assertThat(bit(d0, 61)).as("Write").isEqualTo(r.write());
        assertThat(bit(d0, 62)).as("Last").isEqualTo(r.last());
        assertThat(bit(d0, 63)).as("SSV").isEqualTo(r.hasPasid());
        assertThat(d1 & 0x1FF).as("PRGIndex").isEqualTo(r.groupIndex());
        assertThat(d1 & ~0xFFFL).as("Addr").isEqualTo(r.pageAddress());
    }

    private static boolean bit(long word, int bit) {
        return (word >>> bit & 1) != 0;
    }
}
