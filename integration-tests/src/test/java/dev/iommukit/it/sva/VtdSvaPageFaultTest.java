package dev.iommukit.it.sva;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.spi.iopf.PageRequest;
import java.util.List;

/** SVA with I/O page faults on VT-d: page requests arrive through the page request queue (256-bit descriptors, type 01h). */
class VtdSvaPageFaultTest extends SvaPageFaultContract {
    @Override
    String backend() {
        return "vtd";
    }

    @Override
    String queueName() {
        return "prq";
    }

    @Override
    void assertQueueEntry(PageRequest r, Device device) {
        List<Long> w = r.record().words();
        assertThat(w.size()).as("a page request descriptor is 256 bits (the first 128 carry the request)").isIn(2, 4);
        long q0 = w.get(0);
        long q1 = w.get(1);
        assertThat(q0 & 0xFF).as("Type").isEqualTo(1);
        assertThat(bit(q0, 8)).as("PP").isEqualTo(r.hasPasid());
        assertThat((q0 >>> 16) & 0xFFFF).as("RID").isEqualTo(device.rid().value());
        assertThat((q0 >>> 32) & 0xF_FFFFL).as("PASID").isEqualTo(r.pasid());
        assertThat(bit(q0, 52)).as("EXR").isEqualTo(r.execute());
        assertThat(bit(q0, 53)).as("PMR").isEqualTo(r.privileged());
        assertThat(bit(q1, 0)).as("RDR").isEqualTo(r.read());
        assertThat(bit(q1, 1)).as("WRR").isEqualTo(r.write());
        assertThat(bit(q1, 2)).as("LPIG").isEqualTo(r.last());
        assertThat((q1 >>> 3) & 0x1FF).as("PRGI").isEqualTo(r.groupIndex());
        assertThat(q1 & ~0xFFFL).as("ADDR").isEqualTo(r.pageAddress());
    }

    private static boolean bit(long word, int bit) {
        return (word >>> bit & 1) != 0;
    }
}
