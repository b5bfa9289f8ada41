package dev.iommukit.backend.vtd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.NestedDomain;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.pgtable.x86.X86PagingEntry;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * Threads send nested DMA while the host remaps the parent (stage 2) or the guest remaps its
 * first level and invalidates: a request that starts after the unmap (or the guest's invalidate)
 * returned never reaches the page it replaced.
 */
class NestedConcurrencyTest {
    private static final RequesterId DEV = RequesterId.parse("00:03.0");
    private static final int PASID = 5;
    private static final int PAGES = 8;
    private static final int GENERATIONS = 150;
    private static final long HOST = 0x1000_0000L;
    private static final long VA = 0x0000_0040_0000_0000L;
    private static final long GPA_DATA = 0x10_0000L;

    /** Runs readers against generation counters while {@code writer} advances them; returns violations. */
    private static List<String> race(VtdMachine m, AtomicLongArray replaced, LongUnaryOperator generationOf, Runnable writer)
            throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
        Thread[] readers = new Thread[3];
        for (int t = 0; t < readers.length; t++) {
            final int seed = t;
            readers[t] = new Thread(() -> {
                TranslationOutcome out = new TranslationOutcome();
                java.util.Random r = new java.util.Random(seed);
                while (!stop.get()) {
                    int page = r.nextInt(PAGES);
                    long done = replaced.get(page);
                    m.hw.dmaPort().translate(DmaRequest.of(DEV.value(), PASID, VA + ((long) page << 12), 8,
                            r.nextBoolean() ? AccessType.READ : AccessType.WRITE), out);
                    if (out.isTranslated()) {
                        long generation = generationOf.applyAsLong(out.physicalAddress());
                        if (generation <= done) {
                            violations.add("page " + page + " reached generation " + generation + " after " + done + " was replaced");
                        }
                    }
                }
            });
            readers[t].start();
        }
        writer.run();
        stop.set(true);
        for (Thread t : readers) {
            t.join();
        }
        return List.copyOf(violations);
    }

    private static AtomicLongArray minusOnes() {
        AtomicLongArray a = new AtomicLongArray(PAGES);
        for (int i = 0; i < PAGES; i++) {
            a.set(i, -1);
        }
        return a;
    }

    @Test
    void noNestedRequestReachesAPageTheParentUnmapped() throws InterruptedException {
        try (VtdMachine m = new VtdMachine()) {
            m.driver.probeDevice(DEV, 8);
            BackendDomain parent = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
            HandBuiltGuest guest = new HandBuiltGuest(m.memory, parent, HOST, GPA_DATA);
            for (int i = 0; i < PAGES; i++) {
                guest.map(VA + ((long) i << 12), GPA_DATA + ((long) i << 12), 12, HandBuiltGuest.USER_RW);
            }
            NestedDomain nested = m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(guest.root, 48, Set.of()));
            m.driver.attach(DEV, PASID, nested);
            AtomicLongArray unmapped = minusOnes();
            List<String> violations = race(m, unmapped, pa -> pa >>> 32, () -> {
                for (int g = 0; g < GENERATIONS; g++) {
                    for (int i = 0; i < PAGES; i++) {
                        parent.map(GPA_DATA + ((long) i << 12), ((long) g + 1) << 32 | (long) i << 12, 4096, 1, Permissions.READ_WRITE);
                    }
                    for (int i = 0; i < PAGES; i++) {
                        parent.unmap(GPA_DATA + ((long) i << 12), 4096);
                        unmapped.set(i, g + 1);
                    }
                }
            });
            assertThat(violations).isEmpty();
            assertThat(m.reported).isNotEmpty().allSatisfy(f -> assertThat(f.record().name()).isEqualTo("SSS.2"));
            m.driver.releaseDevice(DEV);
            nested.free();
            parent.free();
        }
    }

    @Test
    void noNestedRequestReachesAPageTheGuestUnmappedAndInvalidated() throws InterruptedException {
        try (VtdMachine m = new VtdMachine()) {
            m.driver.probeDevice(DEV, 8);
            BackendDomain parent = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
            long ram = 8L << 20;
            HandBuiltGuest guest = new HandBuiltGuest(m.memory, parent, HOST, ram);
            long[] leaves = new long[PAGES];
            for (int i = 0; i < PAGES; i++) {
                long[] slots = guest.map(VA + ((long) i << 12), GPA_DATA, 12, 0);
                leaves[i] = slots[3];
            }
            NestedDomain nested = m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(guest.root, 48, Set.of()));
            m.driver.attach(DEV, PASID, nested);
            AtomicLongArray replaced = minusOnes();
            // Generation g of page i is GPA 1 MiB + (g * PAGES + i) pages: the HPA says which.
            LongUnaryOperator generationOf = pa -> ((pa - HOST - GPA_DATA) >>> 12) / PAGES;
            List<String> violations = race(m, replaced, generationOf, () -> {
                for (int g = 0; g < GENERATIONS; g++) {
                    for (int i = 0; i < PAGES; i++) {
                        guest.write(leaves[i], (GPA_DATA + ((long) g * PAGES + i << 12)) | HandBuiltGuest.USER_RW | X86PagingEntry.A);
                    }
                    for (int i = 0; i < PAGES; i++) {
                        guest.write(leaves[i], 0);
                        nested.invalidate(List.of(CacheInvalidation.range(PASID, VA + ((long) i << 12), 4096, 1, true)));
                        replaced.set(i, g);
                    }
                }
            });
            assertThat(violations).isEmpty();
            assertThat(m.reported).isNotEmpty().allSatisfy(f -> assertThat(f.record().name()).isEqualTo("SFS.2"));
            m.driver.releaseDevice(DEV);
            nested.free();
            parent.free();
        }
    }
}
