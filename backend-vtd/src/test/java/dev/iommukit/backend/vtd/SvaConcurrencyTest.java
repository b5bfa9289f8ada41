package dev.iommukit.backend.vtd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.pgtable.PageTable;
import dev.iommukit.spi.pgtable.x86.X86PagingFormat;
import java.util.Random;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;

/**
 * A process remaps its pages while devices translate through its tables at a PASID (hardware
 * setting A/D with compare-and-swap as the process rewrites entries): a request that starts after
 * {@code invalidate} returned never reaches the retired page, and one that starts after
 * {@code quiesce} returned always aborts without a fault record.
 */
class SvaConcurrencyTest {
    private static final int PAGES = 16;
    private static final int GENERATIONS = 150;
    private static final int PASID = 9;
    private static final long VA = 0x0000_7F00_0000_0000L;

    private static long pa(int generation, int page) {
        return (long) generation << 16 | (long) page << 12;
    }

    @Test
    void invalidateAndQuiesceAreStrict() throws InterruptedException {
        try (VtdMachine m = new VtdMachine()) {
            PageAllocator processAllocator = new PageAllocator(m.memory, 256L << 20, 64L << 20);
            PageTable process = new PageTable(new X86PagingFormat(4, true, true, false, false), processAllocator, "process");
            RequesterId dev = RequesterId.parse("00:03.0");
            m.driver.probeDevice(dev, 10);
            for (int i = 0; i < PAGES; i++) {
                process.map(VA + ((long) i << 12), pa(1, i), 4096, 1, Permissions.READ_WRITE);
            }
            SvaDomain sva = m.driver.allocateSvaDomain(new CpuAddressSpace(process.root(), "x86-64", 48));
            m.driver.attach(dev, PASID, sva);

            AtomicLongArray retired = new AtomicLongArray(PAGES); // newest generation whose invalidate returned
            AtomicBoolean quiesced = new AtomicBoolean();
            AtomicBoolean stop = new AtomicBoolean();
            AtomicLong afterQuiesce = new AtomicLong();
            ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
            Thread[] devices = new Thread[3];
            for (int t = 0; t < devices.length; t++) {
                final int seed = t;
                devices[t] = new Thread(() -> {
                    TranslationOutcome out = new TranslationOutcome();
                    Random r = new Random(seed);
                    while (!stop.get()) {
                        int page = r.nextInt(PAGES);
                        boolean silent = quiesced.get();
                        long done = retired.get(page);
                        m.hw.dmaPort().translate(DmaRequest.of(dev.value(), PASID, VA + ((long) page << 12) + 8, 8,
                                r.nextBoolean() ? AccessType.READ : AccessType.WRITE), out);
                        if (silent) {
                            afterQuiesce.incrementAndGet();
                            if (out.isTranslated() || !out.fault().record().name().equals("SPT.2")
                                    || out.fault().record().fields().get("F") != 0L) {
                                violations.add("after quiesce: " + (out.isTranslated() ? "translated" : out.fault().record()));
                            }
                        } else if (out.isTranslated() && out.physicalAddress() >>> 16 <= done) {
                            violations.add("page " + page + " reached generation " + (out.physicalAddress() >>> 16)
                                    + " after the invalidate that retired " + done);
                        }
                    }
                });
                devices[t].start();
            }
            for (int g = 1; g < GENERATIONS; g++) {
                for (int i = 0; i < PAGES; i++) {
                    long va = VA + ((long) i << 12);
                    process.unmap(va, 4096);
                    process.map(va, pa(g + 1, i), 4096, 1, Permissions.READ_WRITE);
                    sva.invalidate(va, 4096);
                    retired.set(i, g);
                }
            }
            sva.quiesce();
            quiesced.set(true);
            int reportedAtQuiesce = m.reported.size();
            while (afterQuiesce.get() < 3000) {
                Thread.onSpinWait();
            }
            stop.set(true);
            for (Thread t : devices) {
                t.join();
            }
            assertThat(violations).isEmpty();
            assertThat(m.reported.size()).as("requests that started after quiesce record nothing").isLessThanOrEqualTo(reportedAtQuiesce + devices.length);
            assertThat(m.reported).allSatisfy(f -> assertThat(f.record().name()).isEqualTo("SFS.2"));
            m.driver.attach(dev, PASID, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
            sva.free();
            process.free();
        }
    }
}
