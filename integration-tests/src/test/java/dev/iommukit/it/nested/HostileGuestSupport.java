package dev.iommukit.it.nested;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Mapping;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.guest.Guest;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.fault.Fault;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * The machinery of a randomized hostile-guest run: a fixed seed, the values a hostile guest
 * writes (garbage, pointers inside and outside its RAM, beyond every address width), a log of the
 * last actions for the failure message, and the two checks every DMA result must pass: a
 * translation lands in a host page the guest's stage 2 maps, a fault is architectural (the
 * IOMMU's record, or the PCIe page response that ended a transfer of a device with page requests).
 */
final class HostileGuestSupport {
    static final long PAGE = 4096;
    private static final int LOG_LINES = 40;

    final SplittableRandom rnd;
    final long seed;
    final Guest guest;
    final long ram;
    private final Set<Long> allowedPages = new HashSet<>();
    private final Deque<String> log = new ArrayDeque<>();
    private final String vendorFormat;
    int step;
    long translations;
    long faults;
    long refusals;

    HostileGuestSupport(long seed, Guest guest, String vendorFormat) {
        this.seed = seed;
        this.rnd = new SplittableRandom(seed);
        this.guest = guest;
        this.ram = guest.ramSize();
        this.vendorFormat = vendorFormat;
    }

    /** The seed of a run: {@code -Diommukit.hostile.seed} or {@code fallback}. */
    static long seed(long fallback) {
        return Long.getLong("iommukit.hostile.seed", fallback);
    }

    /** The number of steps of a run: {@code -Diommukit.hostile.steps} or {@code fallback}. */
    static int steps(int fallback) {
        return Integer.getInteger("iommukit.hostile.steps", fallback);
    }

    /**
     * Takes the host pages {@code stage2} maps as the only ones a translation may reach, after
     * checking they are exactly the guest's RAM (the container maps nothing else).
     */
    void allowStage2(PagingDomain stage2) {
        Set<Long> pages = new HashSet<>();
        for (Mapping m : stage2.mappings()) {
            for (long off = 0; off < m.size(); off += PAGE) {
                pages.add((m.pa() + off) & -PAGE);
            }
        }
        Set<Long> ramPages = new HashSet<>();
        for (long gpa = 0; gpa < ram; gpa += PAGE) {
            ramPages.add(guest.hostPhysical(gpa));
        }
        assertThat(pages).as("the stage 2 of " + stage2 + " maps the guest's RAM").isEqualTo(ramPages);
        allowedPages.addAll(pages);
    }

    void log(String action) {
        if (log.size() == LOG_LINES) {
            log.removeFirst();
        }
        log.addLast(step + ": " + action);
    }

    String context() {
        return "seed " + seed + ", step " + step + "; last actions:\n  " + String.join("\n  ", log);
    }

    boolean chance(double p) {
        return rnd.nextDouble() < p;
    }

    <T> T pick(List<T> list) {
        return list.get(rnd.nextInt(list.size()));
    }

    /** An address a hostile guest might put in a pointer field: in its RAM, just outside, far away, beyond every width, or 0. */
    long pointer() {
        return switch (rnd.nextInt(10)) {
            case 0, 1, 2, 3 -> rnd.nextLong(ram) & -8L;
            case 4 -> ram - PAGE + (rnd.nextLong(PAGE) & -8L);
            case 5 -> ram + (rnd.nextLong(16L << 20) & -8L);
            case 6 -> rnd.nextLong(1L << 48) & -8L;
            case 7 -> (rnd.nextLong(1L << 52)) & -8L;
            case 8 -> rnd.nextLong() & -8L;
            default -> 0;
        };
    }

    /** A value a hostile guest writes into a descriptor: noise, or a pointer with random low (flag) bits and maybe high bits. */
    long garbage() {
        return switch (rnd.nextInt(6)) {
            case 0 -> rnd.nextLong();
            case 1 -> 0;
            case 2 -> (pointer() & ~0xFFFL) | (rnd.nextLong() & 0xFFF);
            case 3 -> (pointer() & ~0xFFFL) | (rnd.nextLong() & 0xFFF) | (rnd.nextLong() & 0xFFF0_0000_0000_0000L);
            case 4 -> (pointer() & ~0xFFFL) | 0x3 | (rnd.nextLong() & 0x7FC);
            default -> -1L;
        };
    }

    /** An input address for a DMA: near {@code mapped}, below 2^48, in the upper canonical half, 57-bit, or any 64-bit value. */
    long dmaAddress(List<Long> mapped) {
        return switch (rnd.nextInt(10)) {
            case 0, 1, 2, 3, 4 -> pick(mapped) + rnd.nextLong(2 * PAGE) - PAGE / 2;
            case 5 -> rnd.nextLong(1L << 48);
            case 6 -> 0xFFFF_8000_0000_0000L | rnd.nextLong(1L << 47);
            case 7 -> rnd.nextLong(1L << 57);
            case 8 -> rnd.nextLong(ram + (1 << 20));
            default -> rnd.nextLong();
        };
    }

    /** Runs a control call of the guest or VMM; a typed refusal is a clean answer, any other exception a failure. */
    void control(String what, Runnable call) {
        log(what);
        try {
            call.run();
        } catch (IommuException e) {
            refusals++;
            log("  refused: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            throw new AssertionError("a control call threw " + e + "\n" + context(), e);
        }
    }

    /** Runs a DMA: nothing may escape it, and its result must pass {@link #check}. */
    DmaResult dma(String what, Supplier<DmaResult> request) {
        log(what);
        DmaResult r;
        try {
            r = request.get();
        } catch (RuntimeException | Error e) {
            throw new AssertionError("a DMA threw " + e + "\n" + context(), e);
        }
        check(r, what);
        return r;
    }

    /** A translation lands in the guest's stage 2; a fault carries a reason and the architecture's record. */
    void check(DmaResult r, String what) {
        if (r.ok() || r.bytesTransferred() > 0) {
            translations++;
            long page = r.physicalAddress() & -PAGE;
            if (!allowedPages.contains(page)) {
                fail(what + " reached host page 0x" + Long.toHexString(page) + " outside the guest's stage 2 (" + r + ")\n" + context());
            }
        }
        if (r.faulted()) {
            faults++;
            Fault f = r.fault();
            if (f.reason() == null || f.record() == null || f.stage() == null || f.record().name() == null) {
                fail(what + ": incomplete fault " + f + "\n" + context());
            }
            boolean pcie = f.record().format().equals("pcie-prg-response");
            if (!f.record().format().equals(vendorFormat) && !pcie) {
                fail(what + ": fault without the architecture's record: " + f + " (" + f.record().format() + ")\n" + context());
            }
        }
    }

    /** A support for another thread's DMA: its own random stream (from {@code seed + 1 + index}), log and counts, the same stage 2. */
    HostileGuestSupport worker(int index) {
        HostileGuestSupport w = new HostileGuestSupport(seed + 1 + index, guest, vendorFormat);
        w.allowedPages.addAll(allowedPages);
        return w;
    }

    /**
     * Runs {@code steps} guest actions on this thread while each of {@code workers} issues DMA on
     * its own thread, until the guest is done or a worker fails; a worker's failure is rethrown.
     */
    void concurrently(List<HostileGuestSupport> workers, int steps, java.util.function.Consumer<HostileGuestSupport> dmaStep,
                      Runnable guestStep) {
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<Throwable> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<Thread> threads = new java.util.ArrayList<>();
        for (HostileGuestSupport w : workers) {
            Thread t = new Thread(() -> {
                try {
                    while (!stop.get()) {
                        w.step++;
                        dmaStep.accept(w);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                    stop.set(true);
                }
            }, "hostile-dma-" + w.seed);
            t.setDaemon(true);
            threads.add(t);
            t.start();
        }
        try {
            for (step = 0; step < steps && !stop.get(); step++) {
                guestStep.run();
            }
        } finally {
            stop.set(true);
            for (Thread t : threads) {
                try {
                    t.join(java.util.concurrent.TimeUnit.SECONDS.toMillis(NestedFixtures.PATIENCE_SECONDS));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                assertThat(t.isAlive()).as(t.getName() + " stopped").isFalse();
            }
        }
        if (!failures.isEmpty()) {
            throw new AssertionError("a DMA thread failed while the guest ran on (" + context() + ")", failures.get(0));
        }
    }

    /**
     * Enables ATS and page requests on {@code device} with a handler that answers success twice,
     * then invalid, in turn (a guest that sometimes cannot resolve its faults): its transfers then
     * go through ATS translation requests on the hostile structures. Returns the registration.
     */
    static dev.iommukit.api.Registration answerPageRequests(dev.iommukit.api.Device device) {
        device.enablePageRequests();
        java.util.concurrent.atomic.AtomicLong answered = new java.util.concurrent.atomic.AtomicLong();
        return device.onPageRequest(p -> p.respond(answered.incrementAndGet() % 3 == 0
                ? dev.iommukit.spi.iopf.PageResponseCode.INVALID_REQUEST : dev.iommukit.spi.iopf.PageResponseCode.SUCCESS));
    }
}
