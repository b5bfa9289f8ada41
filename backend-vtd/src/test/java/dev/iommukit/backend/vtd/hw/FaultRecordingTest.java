package dev.iommukit.backend.vtd.hw;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** Primary fault logging (digest §1.8) and the fault event (§1.7), with no driver attached. */
class FaultRecordingTest {
    private final PhysicalMemory memory = PhysicalMemory.of(0, 1L << 20);
    private final VtdHardware hw = new VtdHardware(memory, HardwareModel.defaults());
    private final AtomicInteger interrupts = new AtomicInteger();

    private void enable() {
        hw.connectFaultEvent(interrupts::incrementAndGet);
        hw.write64(RTADDR_REG, 0x1000 | 1L << 10); // an all-zero root table: every request is SRT.2
        hw.write32(GCMD_REG, GCMD_SRTP);
        hw.write32(GCMD_REG, GCMD_TE);
    }

    private TranslationOutcome request(int rid) {
        TranslationOutcome out = new TranslationOutcome();
        hw.dmaPort().translate(DmaRequest.of(rid, Pasid.NONE, 0x1000L * rid, 4, AccessType.READ), out);
        return out;
    }

    @Test
    void translationDisabledPassesThrough() {
        assertThat(request(1).physicalAddress()).isEqualTo(0x1000);
    }

    @Test
    void recordsInOrderThenOverflows() {
        enable();
        for (int i = 0; i < 8; i++) {
            assertThat(request(i + 1).fault().record().name()).isEqualTo("SRT.2");
        }
        assertThat(hw.read32(FSTS_REG)).as("PPF, FRI=0").isEqualTo(FSTS_PPF);
        assertThat(hw.read32(FECTL_REG)).as("masked: IP set, no MSI").isEqualTo(ECTL_IM | ECTL_IP);
        assertThat(interrupts).hasValue(0);
        for (int i = 0; i < 8; i++) {
            int off = frcd(HardwareModel.FRO, i);
            assertThat(hw.read64(off)).isEqualTo(0x1000L * (i + 1));
            assertThat(hw.read64(off + 8)).isEqualTo((i + 1) | 0x39L << 32 | 1L << 62 | 1L << 63);
        }
        request(9);
        assertThat(hw.read32(FSTS_REG)).as("PFO").isEqualTo(FSTS_PPF | FSTS_PFO);
        // unmasking with IP=1 sends the MSI
        hw.write32(FECTL_REG, 0);
        assertThat(interrupts).hasValue(1);
        assertThat(hw.read32(FECTL_REG)).isZero();
        // clear FRCD 0 (dword write to +12, as Linux does) and PFO; record 9 is dropped while PFO=1
        hw.write32(frcd(HardwareModel.FRO, 0) + 12, 1 << 31);
        assertThat(hw.read64(frcd(HardwareModel.FRO, 0) + 8) >>> 63).isZero();
        request(10);
        assertThat(hw.read64(frcd(HardwareModel.FRO, 0))).as("PFO=1 drops").isEqualTo(0x1000);
        hw.write32(FSTS_REG, FSTS_PFO);
        request(10);
        assertThat(hw.read64(frcd(HardwareModel.FRO, 0))).isEqualTo(0xA000);
        for (int i = 0; i < 8; i++) {
            hw.write64(frcd(HardwareModel.FRO, i) + 8, 1L << 63);
        }
        assertThat(hw.read32(FSTS_REG) & FSTS_PPF).isZero();
        request(11);
        assertThat(hw.read32(FSTS_REG)).as("FRI of the next record").isEqualTo(FSTS_PPF | 1 << FSTS_FRI_SHIFT);
        assertThat(interrupts).hasValue(2);
    }

    @Test
    void frcdIsReadOnlyExceptF() {
        enable();
        request(3);
        int off = frcd(HardwareModel.FRO, 0);
        hw.write64(off, 0);
        hw.write64(off + 8, 0);
        assertThat(hw.read64(off)).isEqualTo(0x3000);
        assertThat(hw.read64(off + 8) >>> 63).isEqualTo(1);
    }
}
