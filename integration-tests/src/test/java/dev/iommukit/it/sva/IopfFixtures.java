package dev.iommukit.it.sva;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PageRequestHandler;
import dev.iommukit.api.PendingPageRequest;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageResponseCode;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/** Helpers of the SVA and I/O page fault tests: handlers that record or hold requests, DMA on its own thread, accounting. */
final class IopfFixtures {
    static final long PAGE = 4096;
    /** Upper bound on waiting for another thread; only keeps a broken run from hanging, never asserted on. */
    static final long PATIENCE_SECONDS = 20;

    private IopfFixtures() {}

    static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 31 + i * 7 + (i >> 8) + 1);
        }
        return b;
    }

    /** Table pages, process pages and PASIDs in use at one moment. */
    record Usage(long tablePages, long processPages, int pasids) {
        static Usage of(Machine m) {
            return new Usage(m.tablePagesInUse(), m.processPagesInUse(), m.pasidsInUse());
        }
    }

    /**
     * A page request handler that records every group it is given and either resolves it with
     * {@link PageRequestHandler#svaFaultIn()} or, while {@link #hold} is set, keeps it unanswered
     * in {@link #held} (a handler that defers its answer to later, from another thread).
     */
    static final class RecordingHandler implements PageRequestHandler {
        final List<PageRequest> seen = new CopyOnWriteArrayList<>();
        final LinkedBlockingQueue<PendingPageRequest> held = new LinkedBlockingQueue<>();
        final AtomicBoolean hold = new AtomicBoolean();

        @Override
        public void onPageRequest(PendingPageRequest request) {
            seen.addAll(request.group());
            if (hold.get()) {
                held.add(request);
            } else {
                PageRequestHandler.svaFaultIn().onPageRequest(request);
            }
        }

        /** Waits for the next held request. */
        PendingPageRequest awaitHeld() throws InterruptedException {
            PendingPageRequest p = held.poll(PATIENCE_SECONDS, TimeUnit.SECONDS);
            assertThat(p).as("a page request reached the handler").isNotNull();
            return p;
        }

        /** The page requests seen for {@code page}. */
        long requestsFor(long page) {
            return seen.stream().filter(r -> r.pageAddress() == page).count();
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

    /** Whether the transfer failed because its page request was answered {@code code}. */
    static void assertFailedWithResponse(DmaResult r, PageResponseCode code) {
        assertThat(r.ok()).as("transfer " + r).isFalse();
        assertThat(r.fault().record().format()).as(r.toString()).isEqualTo("pcie-prg-response");
        assertThat(r.fault().record().name()).as(r.toString()).isEqualTo(code.name());
    }

    /** The device's handler registration, pending requests and enable state, all cleared. */
    static void assertNoPageRequestState(Device d) {
        assertThat(d.pendingPageRequests()).as("pending page requests of " + d).isEmpty();
    }
}
