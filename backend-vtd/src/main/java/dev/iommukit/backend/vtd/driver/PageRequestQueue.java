package dev.iommukit.backend.vtd.driver;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;

import dev.iommukit.backend.vtd.arch.PageRequestDescriptor;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageRequestReporter;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.Mmio;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The driver's side of the page request queue, as Linux intel_svm_enable_prq and prq_event_thread
 * do it: a 16-page queue (PQA with PQS=4: 2048 descriptors of 32 bytes), PQH = PQT = 0, the page
 * request event programmed and unmasked. {@link #consume} clears PRS.PPR first (so a request
 * queued meanwhile raises a new event), reads every descriptor from PQH to PQT, reports each,
 * moves PQH to the tail it read and clears PRS.PRO once the queue is empty. Reports happen under
 * the queue's lock, so a consume that returns has reported everything it saw.
 */
final class PageRequestQueue {
    /** Linux PRQ_ORDER: 2^4 pages. */
    static final int PQS = 4;
    static final int ENTRIES = (4096 << PQS) / PageRequestDescriptor.SIZE;
    private static final long SIZE = 4096L << PQS;

    private final Mmio mmio;
    private final PhysicalMemory memory;
    private final PageAllocator allocator;
    private final PageRequestReporter reporter;
    private final ReentrantLock lock = new ReentrantLock();
    private final long base;

    PageRequestQueue(Mmio mmio, PageAllocator allocator, PageRequestReporter reporter, String unitName) {
        this.mmio = mmio;
        this.allocator = allocator;
        this.memory = allocator.memory();
        this.reporter = reporter;
        this.base = allocator.allocate(SIZE, unitName + " vtd page request queue");
    }

    long base() {
        return base;
    }

    /** Programs PQH, PQT and PQA, then the page request event (MSI data/address) and unmasks it. */
    void enable() {
        mmio.write64(PQH_REG, 0);
        mmio.write64(PQT_REG, 0);
        mmio.write64(PQA_REG, base | PQS);
        mmio.write32(PEDATA_REG, 0x4022);
        mmio.write32(PEADDR_REG, 0xFEE0_0000);
        mmio.write32(PEUADDR_REG, 0);
        mmio.write32(PECTL_REG, 0);
    }

    /** Masks the event and clears the queue registers (Linux intel_svm_finish_prq). */
    void disable() {
        mmio.write32(PECTL_REG, ECTL_IM);
        mmio.write64(PQH_REG, 0);
        mmio.write64(PQT_REG, 0);
        mmio.write64(PQA_REG, 0);
    }

    void free() {
        allocator.free(base);
    }

    /** Reads and reports every descriptor from PQH to PQT (the page request interrupt handler). */
    void consume() {
        lock.lock();
        try {
            mmio.write32(PRS_REG, PRS_PPR);
            long tail = mmio.read64(PQT_REG) & PQ_OFFSET_MASK;
            long head = mmio.read64(PQH_REG) & PQ_OFFSET_MASK;
            while (head != tail) {
                long[] q = new long[4];
                for (int i = 0; i < 4; i++) {
                    q[i] = memory.read64(base + head + 8L * i);
                }
                reporter.report(toPageRequest(PageRequestDescriptor.decode(q)));
                head = (head + PageRequestDescriptor.SIZE) % SIZE;
            }
            mmio.write64(PQH_REG, tail);
            if ((mmio.read32(PRS_REG) & PRS_PRO) != 0
                    && (mmio.read64(PQH_REG) & PQ_OFFSET_MASK) == (mmio.read64(PQT_REG) & PQ_OFFSET_MASK)) {
                mmio.write32(PRS_REG, PRS_PRO);
            }
        } finally {
            lock.unlock();
        }
    }

    /** Whether PRS.PRO is set (requests were dropped since the queue was last emptied). */
    boolean overflowed() {
        return (mmio.read32(PRS_REG) & PRS_PRO) != 0;
    }

    static PageRequest toPageRequest(PageRequestDescriptor d) {
        return new PageRequest(RequesterId.of(d.rid()), d.pasidPresent() ? d.pasid() : Pasid.NONE, d.pageAddress(), d.readRequested(),
                d.writeRequested(), d.executeRequested(), d.privilegedRequested(), d.groupIndex(), d.lastPageInGroup(), d);
    }
}
