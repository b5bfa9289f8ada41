package dev.iommukit.conformance.sva;

import dev.iommukit.api.Device;
import dev.iommukit.api.Process;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.Permissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Worker threads issue DMA tagged with a process's PASID without pause while the calling thread
 * munmaps one page of the process at a time and mmaps a fresh one in its place. A page's virtual
 * address is never mapped again once unmapped (mmap only moves up), so a request at it that
 * started after the munmap returned must fault; one that reached the old page is a stale
 * translation. Fixed seeds, a bounded number of operations, progress (not time) paces the storm.
 */
final class SvaStorm {
    private static final long PAGE = 4096;
    private static final int REQUESTS_PER_HANDSHAKE = 16;
    private static final int RECENT_DEAD = 16;

    /** What the storm saw. */
    record Result(List<String> staleHits, List<String> strayHits, List<Throwable> escaped, long requests) {}

    /** A page of the process: its virtual address and the physical page it maps to. */
    private record Page(long va, long pa) {}

    private final Process process;
    private final List<Device> devices;
    private final int pasid;

    SvaStorm(Process process, List<Device> devices, int pasid) {
        this.process = process;
        this.devices = List.copyOf(devices);
        this.pasid = pasid;
    }

    Result run(int threads, int slots, int operations, long seed) throws InterruptedException {
        AtomicReferenceArray<Page> live = new AtomicReferenceArray<>(slots);
        for (int i = 0; i < slots; i++) {
            live.set(i, mapFresh());
        }
        List<Page> dead = new CopyOnWriteArrayList<>();
        List<String> stale = new CopyOnWriteArrayList<>();
        List<String> stray = new CopyOnWriteArrayList<>();
        List<Throwable> escaped = new CopyOnWriteArrayList<>();
        AtomicBoolean done = new AtomicBoolean();
        AtomicLong requests = new AtomicLong();
        AtomicLongArray progress = new AtomicLongArray(threads);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread w = new Thread(() -> work(id, seed, live, dead, stale, stray, escaped, done, requests, progress),
                    "sva-storm-" + t);
            w.setDaemon(true);
            workers.add(w);
        }
        workers.forEach(Thread::start);
        try {
            Random rnd = new Random(seed);
            TranslationOutcome out = new TranslationOutcome();
            for (int op = 0; op < operations; op++) {
                int slot = rnd.nextInt(slots);
                Page old = live.get(slot);
                for (Device d : devices) {
                    d.translate(DmaRequest.of(d.rid().value(), pasid, old.va(), 8, AccessType.READ), out);
                }
                process.munmap(old.va(), PAGE);
                for (Device d : devices) {
                    d.translate(DmaRequest.of(d.rid().value(), pasid, old.va() + 8, 8, AccessType.WRITE), out);
                    check(d, old, old.va() + 8, out, stale, stray, "the unmapping thread");
                }
                dead.add(old);
                live.set(slot, mapFresh());
                if (op % 4 == 3) {
                    awaitProgress(progress, done);
                }
            }
        } finally {
            done.set(true);
            for (Thread w : workers) {
                w.join();
            }
        }
        return new Result(List.copyOf(stale), List.copyOf(stray), List.copyOf(escaped), requests.get());
    }

    private Page mapFresh() {
        long va = process.mmap(PAGE, Permissions.READ_WRITE);
        return new Page(va, process.resolve(va));
    }

    /** A request at an unmapped page's address after its munmap returned must fault. */
    private void check(Device d, Page old, long va, TranslationOutcome out, List<String> stale, List<String> stray, String who) {
        if (!out.isTranslated()) {
            return;
        }
        String what = String.format("%s: %s pasid %d at 0x%x (unmapped, was 0x%x) reached 0x%x", who, d.name(), pasid, va, old.pa(),
                out.physicalAddress());
        if ((out.physicalAddress() & -PAGE) == old.pa()) {
            stale.add(what);
        } else {
            stray.add(what);
        }
    }

    private void work(int id, long seed, AtomicReferenceArray<Page> live, List<Page> dead, List<String> stale, List<String> stray,
                      List<Throwable> escaped, AtomicBoolean done, AtomicLong requests, AtomicLongArray progress) {
        Random rnd = new Random(seed * 31 + id);
        TranslationOutcome out = new TranslationOutcome();
        while (!done.get()) {
            Device d = devices.get(rnd.nextInt(devices.size()));
            AccessType access = rnd.nextBoolean() ? AccessType.READ : AccessType.WRITE;
            long offset = rnd.nextInt((int) (PAGE / 8)) * 8L;
            try {
                int n = dead.size();
                if (n > 0 && rnd.nextInt(3) == 0) {
                    Page old = dead.get(n - 1 - rnd.nextInt(Math.min(n, RECENT_DEAD)));
                    d.translate(DmaRequest.of(d.rid().value(), pasid, old.va() + offset, 8, access), out);
                    check(d, old, old.va() + offset, out, stale, stray, "worker " + id);
                } else {
                    Page page = live.get(rnd.nextInt(live.length()));
                    d.translate(DmaRequest.of(d.rid().value(), pasid, page.va() + offset, 8, access), out);
                    if (out.isTranslated() && out.physicalAddress() != page.pa() + offset) {
                        stray.add(String.format("worker %d: %s pasid %d at 0x%x (maps to 0x%x) reached 0x%x", id, d.name(), pasid,
                                page.va() + offset, page.pa() + offset, out.physicalAddress()));
                    }
                }
            } catch (RuntimeException e) {
                escaped.add(e);
            }
            requests.incrementAndGet();
            progress.incrementAndGet(id);
        }
    }

    /** Waits until every worker issued {@link #REQUESTS_PER_HANDSHAKE} more requests, so workers keep up with the unmaps. */
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
}
