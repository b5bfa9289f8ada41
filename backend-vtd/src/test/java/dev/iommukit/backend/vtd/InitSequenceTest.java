package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.vtd.driver.UnitOptions;
import dev.iommukit.backend.vtd.driver.VtdDriver;
import dev.iommukit.backend.vtd.hw.HardwareModel;
import dev.iommukit.backend.vtd.hw.VtdHardware;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.Mmio;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The order of the driver's register writes at initialisation, as Linux does it (digest §1.4, §1.5, §1.9). */
class InitSequenceTest {
    @Test
    void initialisationWritesRegistersInLinuxOrder() {
        PhysicalMemory memory = PhysicalMemory.of(0, 64L << 20);
        PageAllocator alloc = new PageAllocator(memory, 32L << 20, 32L << 20);
        VtdHardware hw = new VtdHardware(memory, HardwareModel.defaults());
        List<String> writes = new ArrayList<>();
        Mmio recording = new Mmio() {
            @Override
            public int read32(long offset) {
                return hw.read32(offset);
            }

            @Override
            public void write32(long offset, int value) {
                writes.add(String.format("w32 %03x %08x", offset, value));
                hw.write32(offset, value);
            }

            @Override
            public long read64(long offset) {
                return hw.read64(offset);
            }

            @Override
            public void write64(long offset, long value) {
                writes.add(String.format("w64 %03x %x", offset, value));
                hw.write64(offset, value);
            }
        };
        VtdDriver driver = new VtdDriver(new UnitContext("u", memory, alloc, f -> { }, r -> { }, Map.of()), recording, hw.dmaPort(),
                UnitOptions.DEFAULTS, 48);
        hw.connectFaultEvent(driver::onFaultInterrupt);
        driver.initialize();
        long root = driver.rootTable();
        long iq = driver.invalidationQueue();
        assertThat(writes).containsExactly(
                String.format("w64 %03x %x", RTADDR_REG, root | 0x400),
                String.format("w32 %03x %08x", GCMD_REG, GCMD_SRTP),
                String.format("w64 %03x %x", IQT_REG, 0),
                String.format("w64 %03x %x", IQA_REG, iq | 0x801),
                String.format("w32 %03x %08x", GCMD_REG, GCMD_QIE),
                String.format("w64 %03x %x", IQT_REG, 0x80),
                String.format("w64 %03x %x", PQH_REG, 0),
                String.format("w64 %03x %x", PQT_REG, 0),
                String.format("w64 %03x %x", PQA_REG, driver.pageRequestQueueBase() | 4),
                String.format("w32 %03x %08x", PEDATA_REG, 0x4022),
                String.format("w32 %03x %08x", PEADDR_REG, 0xFEE00000),
                String.format("w32 %03x %08x", PEUADDR_REG, 0),
                String.format("w32 %03x %08x", PECTL_REG, 0),
                String.format("w32 %03x %08x", FEDATA_REG, 0x4021),
                String.format("w32 %03x %08x", FEADDR_REG, 0xFEE00000),
                String.format("w32 %03x %08x", FEUADDR_REG, 0),
                String.format("w32 %03x %08x", FECTL_REG, 0),
                String.format("w32 %03x %08x", GCMD_REG, GCMD_TE | GCMD_QIE));
        driver.close();
        assertThat(writes.subList(writes.size() - 2, writes.size())).containsExactly(
                String.format("w32 %03x %08x", GCMD_REG, GCMD_QIE),
                String.format("w32 %03x %08x", GCMD_REG, 0));
        assertThat(alloc.allocatedPages()).isZero();
    }
}
