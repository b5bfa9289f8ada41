package dev.iommukit.backend.smmuv3.driver;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.smmuv3.TestMachine;
import dev.iommukit.backend.smmuv3.arch.SmmuRegisters;
import dev.iommukit.backend.smmuv3.hw.SmmuV3Hardware;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.mmio.Mmio;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** On an SMMU without range invalidation (IDR3.RIL=0) unmap falls back to per-page or whole-tag TLBIs. */
class InvalidationWithoutRilTest {
    @ParameterizedTest(name = "stage 2 {0}, {1} pages")
    @CsvSource({"false,3", "false,100", "true,3", "true,100"})
    void unmapIsStrictWithoutRil(boolean stage2, int pages) {
        TestMachine m = new TestMachine();
        SmmuV3Hardware hw = new SmmuV3Hardware(m.memory, 16, () -> { });
        Mmio regs = hw.registers();
        Mmio noRil = new Mmio() {
            @Override
            public int read32(long offset) {
                return offset == SmmuRegisters.IDR3 ? 0 : regs.read32(offset);
            }

            @Override
            public void write32(long offset, int value) {
                regs.write32(offset, value);
            }

            @Override
            public long read64(long offset) {
                return regs.read64(offset);
            }

            @Override
            public void write64(long offset, long value) {
                regs.write64(offset, value);
            }
        };
        SmmuV3Driver driver = new SmmuV3Driver("no-ril", noRil, m.allocator, f -> { }, hw.dmaPort(), DriverOptions.DEFAULT);
        driver.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = driver.allocateDomain(DomainType.PAGING, stage2 ? DomainOptions.NESTING_PARENT : DomainOptions.DEFAULT);
        driver.attach(TestMachine.DEV, Pasid.NONE, d);
        d.map(0x100000, TestMachine.RAM, 0x1000, pages, Permissions.READ);
        TranslationOutcome out = new TranslationOutcome();
        for (int i = 0; i < pages; i++) {
            hw.dmaPort().translate(DmaRequest.of(TestMachine.DEV.value(), Pasid.NONE, 0x100000 + i * 0x1000L, 4, AccessType.READ), out);
            assertThat(out.isTranslated()).isTrue();
        }
        d.unmap(0x100000, pages * 0x1000L);
        for (int i = 0; i < pages; i++) {
            hw.dmaPort().translate(DmaRequest.of(TestMachine.DEV.value(), Pasid.NONE, 0x100000 + i * 0x1000L, 4, AccessType.READ), out);
            assertThat(out.isTranslated()).as("page %d after unmap", i).isFalse();
        }
        driver.close();
    }
}
