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
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Several threads translate while another maps and unmaps: a request that starts after unmap
 * returned never reaches the page it unmapped (unmap waits for its inv_wait, which waits for
 * every walk in flight).
 */
class ConcurrencyTest {
    private static final int PAGES = 16;
    private static final int GENERATIONS = 300;

    @ParameterizedTest
    @ValueSource(strings = {"second", "first"})
    void noRequestReachesAnUnmappedPage(String level) throws InterruptedException {
        try (VtdMachine m = new VtdMachine(Map.of("pagingLevel", level))) {
            RequesterId dev = RequesterId.parse("00:03.0");
            m.driver.probeDevice(dev, 0);
            BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            m.driver.attach(dev, Pasid.NONE, d);
            // unmapped[i] = the newest generation of page i whose unmap has returned
            AtomicLongArray unmapped = new AtomicLongArray(PAGES);
            for (int i = 0; i < PAGES; i++) {
                unmapped.set(i, -1);
            }
            AtomicBoolean stop = new AtomicBoolean();
            ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
            Thread[] readers = new Thread[4];
            for (int t = 0; t < readers.length; t++) {
                final int seed = t;
                readers[t] = new Thread(() -> {
                    TranslationOutcome out = new TranslationOutcome();
                    java.util.Random r = new java.util.Random(seed);
                    while (!stop.get()) {
                        int page = r.nextInt(PAGES);
                        long done = unmapped.get(page);
                        m.hw.dmaPort().translate(DmaRequest.of(dev.value(), Pasid.NONE, (long) page << 12, 8,
                                r.nextBoolean() ? AccessType.READ : AccessType.WRITE), out);
                        if (out.isTranslated()) {
                            long generation = out.physicalAddress() >>> 24;
                            if (generation <= done) {
                                violations.add("page " + page + " reached generation " + generation + " after unmap of " + done);
                            }
                        }
                    }
                });
                readers[t].start();
            }
            for (int g = 0; g < GENERATIONS; g++) {
                for (int i = 0; i < PAGES; i++) {
                    d.map((long) i << 12, ((long) g + 1) << 24 | (long) i << 12, 4096, 1, Permissions.READ_WRITE);
                }
                for (int i = 0; i < PAGES; i++) {
                    d.unmap((long) i << 12, 4096);
                    unmapped.set(i, g + 1);
                }
            }
            stop.set(true);
            for (Thread t : readers) {
                t.join();
            }
            assertThat(violations).isEmpty();
            assertThat(m.reported).isNotEmpty().allSatisfy(f -> assertThat(f.record().name()).isIn("SSS.2", "SFS.2"));
        }
    }
}
