package dev.iommukit.it.nested;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PageRequestHandler;
import dev.iommukit.api.PendingPageRequest;
import dev.iommukit.spi.iopf.PageResponseCode;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/** Helpers of the nesting integration tests: data patterns, accounting, DMA on its own thread, a handler that holds requests. */
final class NestedFixtures {
    static final long PAGE = 4096;
    /** Upper bound on waiting for another thread; only keeps a broken run from hanging, never asserted on. */
    static final long PATIENCE_SECONDS = 20;

    private NestedFixtures() {}

    static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 37 + i * 11 + (i >> 9) + 3);
        }
        return b;
    }

    /** Table pages, process pages and PASIDs in use at one moment. */
    record Usage(long tablePages, long processPages, int pasids) {
        static Usage of(Machine m) {
            return new Usage(m.tablePagesInUse(), m.processPagesInUse(), m.pasidsInUse());
        }
    }

    /** A page request handler that keeps every group unanswered until the test answers it. */
    static final class HoldingHandler implements PageRequestHandler {
        final LinkedBlockingQueue<PendingPageRequest> held = new LinkedBlockingQueue<>();

        @Override
        public void onPageRequest(PendingPageRequest request) {
            held.add(request);
        }

        PendingPageRequest awaitHeld() throws InterruptedException {
            PendingPageRequest p = held.poll(PATIENCE_SECONDS, TimeUnit.SECONDS);
            assertThat(p).as("a page request reached the handler").isNotNull();
            return p;
        }
    }

    /** Runs {@code dma} on a fresh daemon thread, as a device's DMA engine would. */
    static CompletableFuture<DmaResult> onDmaThread(String name, Supplier<DmaResult> dma) {
        return CompletableFuture.supplyAsync(dma, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            t.start();
        });
    }

    static DmaResult await(CompletableFuture<DmaResult> f) throws Exception {
        return f.get(PATIENCE_SECONDS, TimeUnit.SECONDS);
    }

    static void assertFailedWithResponse(DmaResult r, PageResponseCode code) {
        assertThat(r.ok()).as("transfer " + r).isFalse();
        assertThat(r.fault().record().format()).as(r.toString()).isEqualTo("pcie-prg-response");
        assertThat(r.fault().record().name()).as(r.toString()).isEqualTo(code.name());
    }

    static boolean pageRequests(Device d) {
        return d.capabilities().has(dev.iommukit.spi.cap.Capability.PAGE_REQUEST);
    }
}
