package dev.iommukit.conformance.concurrency;

import dev.iommukit.api.Device;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.Permissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Several threads issue DMA without pause while the calling thread maps and unmaps slots of one
 * domain, each mapping to a physical page never used before. A page is <em>retired</em> once the
 * unmap that removed it returned; a request that started after that and still reached the page
 * is a stale translation. Fixed seeds, a bounded number of control operations, no time limits.
 */
final class DmaStorm {
    private static final long PAGE = 4096;
    private static final int REQUESTS_PER_HANDSHAKE = 32;
    /** How many control operations run between two waits for the workers' progress. */
    private static final int OPERATIONS_PER_HANDSHAKE = 8;
    private static final long MAX_REQUESTS = 5_000_000L;

    /** What the storm saw. */
    record Result(List<String> staleHits, List<String> strayHits, List<Throwable> escaped, List<String> stableMisses,
                  long requests) {}

    private final Device device;
    private final Device stableDevice;
    private final long stableIova;
    private final long stablePa;
    private final PagingDomain domain;
    private final long slotBase;
    private final int slots;
    private final long paBase;

    DmaStorm(PagingDomain domain, Device device, long slotBase, int slots, long paBase,
             Device stableDevice, long stableIova, long stablePa) {
        this.domain = domain;
        this.device = device;
        this.slotBase = slotBase;
        this.slots = slots;
        this.paBase = paBase;
        this.stableDevice = stableDevice;
        this.stableIova = stableIova;
        this.stablePa = stablePa;
    }

    /**
     * Waits until every worker issued {@link #REQUESTS_PER_HANDSHAKE} more requests (or stopped), so
     * that the workers keep up with the control path: progress, not time, paces the storm.
     */
    private static void awaitProgress(AtomicLongArray progress, AtomicBoolean done) {
        long[] target = new long[progress.length()];
        for (int i = 0; i < target.length; i++) {
            target[i] = progress.get(i) + REQUESTS_PER_HANDSHAKE;
        }
        for (int i = 0; i < target.length; i++) {
            while (progress.get(i) < target[i] && !done.get()) {
                Thread.yield();
            }
        }
    }

    Result run(int threads, int operations, long seed) throws InterruptedException {
        Map<Long, Long> retiredAt = new ConcurrentHashMap<>();
        Map<Long, Integer> slotOfPa = new ConcurrentHashMap<>();
        AtomicLong retireSeq = new AtomicLong();
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong requests = new AtomicLong();
        List<String> stale = new CopyOnWriteArrayList<>();
        List<String> stray = new CopyOnWriteArrayList<>();
        List<String> stableMisses = new CopyOnWriteArrayList<>();
        List<Throwable> escaped = new CopyOnWriteArrayList<>();
        CountDownLatch started = new CountDownLatch(threads);
        AtomicLongArray progress = new AtomicLongArray(threads);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            long workerSeed = seed * 31 + t;
            int index = t;
            boolean stableWorker = stableDevice != null && t == threads - 1;
            Thread w = new Thread(() -> {
                Random rnd = new Random(workerSeed);
                TranslationOutcome out = new TranslationOutcome();
                int rid = device.rid().value();
                boolean first = true;
                try {
                    while (!done.get() && requests.get() < MAX_REQUESTS) {
                        if (stableWorker) {
                            stableDevice.translate(DmaRequest.of(stableDevice.rid().value(), Pasid.NONE, stableIova, 8, AccessType.READ), out);
                            if (!out.isTranslated() || out.physicalAddress() != stablePa) {
                                stableMisses.add("stable mapping 0x" + Long.toHexString(stableIova) + " -> "
                                        + (out.isTranslated() ? "0x" + Long.toHexString(out.physicalAddress()) : String.valueOf(out.fault())));
                            }
                        } else {
                            int slot = rnd.nextInt(slots);
                            long iova = slotBase + slot * PAGE;
                            AccessType access = rnd.nextBoolean() ? AccessType.READ : AccessType.WRITE;
                            long startSeq = retireSeq.get();
                            device.translate(DmaRequest.of(rid, Pasid.NONE, iova, 8, access), out);
                            if (out.isTranslated()) {
                                long pa = out.physicalAddress();
                                Integer owner = slotOfPa.get(pa);
                                Long retired = retiredAt.get(pa);
                                if (owner == null || owner != slot) {
                                    stray.add("slot " + slot + " reached 0x" + Long.toHexString(pa) + ", never mapped there");
                                } else if (retired != null && retired <= startSeq) {
                                    stale.add(access + " at slot " + slot + " reached 0x" + Long.toHexString(pa)
                                            + ", retired by unmap #" + retired + " before the request started (#" + startSeq + ")");
                                }
                            } else if (out.fault() == null) {
                                stray.add("slot " + slot + ": a fault outcome without a Fault");
                            }
                        }
                        requests.incrementAndGet();
                        progress.incrementAndGet(index);
                        if (first) {
                            first = false;
                            started.countDown();
                        }
                    }
                } catch (Throwable e) {
                    escaped.add(e);
                } finally {
                    progress.set(index, Long.MAX_VALUE);
                    if (first) {
                        started.countDown();
                    }
                }
            }, "conformance-dma-" + t);
            w.setDaemon(true);
            workers.add(w);
            w.start();
        }
        started.await();
        Random rnd = new Random(seed);
        AtomicLongArray current = new AtomicLongArray(slots);
        long nextPa = paBase;
        try {
            for (int op = 0; op < operations; op++) {
                int slot = rnd.nextInt(slots);
                long iova = slotBase + slot * PAGE;
                long pa = current.get(slot);
                if (pa != 0) {
                    domain.unmap(iova, PAGE);
                    current.set(slot, 0);
                    long seq = retireSeq.get() + 1;
                    retiredAt.put(pa, seq);
                    retireSeq.set(seq);
                } else {
                    long fresh = nextPa;
                    nextPa += PAGE;
                    slotOfPa.put(fresh, slot);
                    domain.map(iova, fresh, PAGE, Permissions.READ_WRITE);
                    current.set(slot, fresh);
                }
                if (op % OPERATIONS_PER_HANDSHAKE == OPERATIONS_PER_HANDSHAKE - 1) {
                    awaitProgress(progress, done);
                }
            }
        } finally {
            done.set(true);
            for (Thread w : workers) {
                w.join();
            }
        }
        return new Result(List.copyOf(stale), List.copyOf(stray), List.copyOf(escaped), List.copyOf(stableMisses), requests.get());
    }
}
