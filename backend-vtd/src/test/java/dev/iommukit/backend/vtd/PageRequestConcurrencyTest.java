package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Devices on several threads send page requests and wait for their responses, while another
 * thread answers them (page group responses through the invalidation queue) and a third drains:
 * every request is reported once and answered, and the queues end empty and error-free.
 */
class PageRequestConcurrencyTest {
    private static final RequesterId DEV = RequesterId.parse("00:03.0");
    private static final int SID = DEV.value();
    private static final int PASID = 7;
    private static final int THREADS = 4;
    private static final int PER_THREAD = 150;

    @Test
    void requestsResponsesAndDrainsFromManyThreads() throws Exception {
        try (VtdMachine m = new VtdMachine()) {
            m.driver.probeDevice(DEV, 8);
            m.driver.attach(DEV, PASID, m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT));
            m.driver.enablePageRequests(DEV);
            Map<Integer, CompletableFuture<PageResponseCode>> waiting = new ConcurrentHashMap<>();
            m.hw.dmaPort().connectPageResponses((PageResponseMessage r) -> {
                CompletableFuture<PageResponseCode> f = waiting.remove(r.groupIndex());
                if (f != null) {
                    f.complete(r.code());
                }
            });
            AtomicBoolean done = new AtomicBoolean();
            ExecutorService pool = Executors.newFixedThreadPool(THREADS + 2);
            Future<?> responder = pool.submit(() -> {
                int next = 0;
                while (!done.get() || next < m.pageRequests.size()) {
                    if (next < m.pageRequests.size()) {
                        m.driver.respondPageRequest(m.pageRequests.get(next++), PageResponseCode.SUCCESS);
                    } else {
                        Thread.onSpinWait();
                    }
                }
            });
            Future<?> drainer = pool.submit(() -> {
                while (!done.get()) {
                    m.driver.drainPageRequests(DEV, PASID);
                }
            });
            List<Future<Integer>> devices = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int thread = t;
                devices.add(pool.submit(() -> {
                    int answered = 0;
                    for (int i = 0; i < PER_THREAD; i++) {
                        int group = thread * 100 + i % 100;
                        CompletableFuture<PageResponseCode> f = new CompletableFuture<>();
                        waiting.put(group, f);
                        m.hw.dmaPort().pageRequest(new PageRequestMessage(SID, PASID, (long) (thread * PER_THREAD + i) << 12, true,
                                false, false, false, group, true));
                        if (f.get(20, TimeUnit.SECONDS) == PageResponseCode.SUCCESS) {
                            answered++;
                        }
                    }
                    return answered;
                }));
            }
            int answered = 0;
            for (Future<Integer> d : devices) {
                answered += d.get(60, TimeUnit.SECONDS);
            }
            done.set(true);
            responder.get(20, TimeUnit.SECONDS);
            drainer.get(20, TimeUnit.SECONDS);
            pool.shutdown();
            assertThat(answered).isEqualTo(THREADS * PER_THREAD);
            assertThat(m.pageRequests).hasSize(THREADS * PER_THREAD);
            Set<Long> pages = new HashSet<>();
            for (PageRequest r : m.pageRequests) {
                pages.add(r.pageAddress());
            }
            assertThat(pages).as("each request reported once").hasSize(THREADS * PER_THREAD);
            assertThat(m.hw.read64(PQH_REG)).isEqualTo(m.hw.read64(PQT_REG));
            assertThat(m.hw.read64(IQH_REG)).isEqualTo(m.hw.read64(IQT_REG));
            assertThat(m.hw.read32(FSTS_REG)).isZero();
            assertThat(m.hw.read32(PRS_REG)).isZero();
        }
    }
}
