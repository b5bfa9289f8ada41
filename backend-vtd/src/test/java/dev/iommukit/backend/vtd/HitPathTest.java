package dev.iommukit.backend.vtd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import java.lang.management.ManagementFactory;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A translation that hits every cache allocates nothing (measured in bytes, not time). */
class HitPathTest {
    @ParameterizedTest
    @ValueSource(strings = {"second", "first"})
    void iotlbHitAllocatesNothing(String level) {
        java.lang.management.ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "allocation counting not available");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        try (VtdMachine m = new VtdMachine(java.util.Map.of("pagingLevel", level))) {
            RequesterId dev = RequesterId.parse("00:03.0");
            m.driver.probeDevice(dev, 8);
            BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            m.driver.attach(dev, Pasid.NONE, d);
            m.driver.attach(dev, 5, d);
            d.map(0x20_0000L, 0x40_0000L, 1L << 21, 1, Permissions.READ_WRITE);
            DmaRequest plain = DmaRequest.of(dev.value(), Pasid.NONE, 0x20_1234L, 8, AccessType.WRITE);
            DmaRequest tagged = DmaRequest.of(dev.value(), 5, 0x21_0000L, 8, AccessType.READ);
            TranslationOutcome out = new TranslationOutcome();
            for (int i = 0; i < 20_000; i++) {
                m.hw.dmaPort().translate(plain, out);
                m.hw.dmaPort().translate(tagged, out);
            }
            long tid = Thread.currentThread().getId();
            long before = threads.getThreadAllocatedBytes(tid);
            for (int i = 0; i < 10_000; i++) {
                m.hw.dmaPort().translate(plain, out);
                m.hw.dmaPort().translate(tagged, out);
            }
            long allocated = threads.getThreadAllocatedBytes(tid) - before;
            assertThat(out.physicalAddress()).isEqualTo(0x41_0000L);
            assertThat(allocated).as("bytes allocated by 20000 hits").isLessThan(2_000);
        }
    }
}
