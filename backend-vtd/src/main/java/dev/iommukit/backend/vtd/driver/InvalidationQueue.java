package dev.iommukit.backend.vtd.driver;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;

import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.Mmio;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The driver's side of the invalidation queue: a 2-page queue of 256-bit descriptors (IQA QS=1,
 * DW=1, 128 entries) into which batches are written, each closed by an inv_wait with SW=1 whose
 * status word is polled in memory, as Linux does. Batches from several threads are serialised.
 * When device-TLB invalidations are tracked, each IOTLB invalidation of a batch is followed by
 * those of the ATS-enabled devices it concerns.
 */
final class InvalidationQueue {
    private static final int QS = 1;
    private static final int ENTRIES = (4096 << QS) / InvalidationDescriptor.SIZE;
    private static final int MAX_POLLS = 1_000_000;

    private final Mmio mmio;
    private final PhysicalMemory memory;
    private final PageAllocator allocator;
    private final ReentrantLock lock = new ReentrantLock();
    private final long base;
    private final long status;
    private int tail;
    private int sequence;
    private volatile DeviceTlbInvalidations deviceTlbs;

    InvalidationQueue(Mmio mmio, PageAllocator allocator) {
        this.mmio = mmio;
        this.allocator = allocator;
        this.memory = allocator.memory();
        this.base = allocator.allocate(4096L << QS, "vtd invalidation queue");
        this.status = allocator.allocatePage("vtd invalidation wait status");
    }

    long base() {
        return base;
    }

    long statusAddress() {
        return status;
    }

    /** Programs IQT and IQA and enables queued invalidation (GCMD.QIE, polling GSTS.QIES). */
    void enable() {
        mmio.write64(IQT_REG, 0);
        tail = 0;
        mmio.write64(IQA_REG, base | IQA_DW | QS);
        Registers.command(mmio, GCMD_QIE, true);
        Registers.pollStatus(mmio, GSTS_QIES, true);
    }

    void disable() {
        Registers.command(mmio, GCMD_QIE, false);
        Registers.pollStatus(mmio, GSTS_QIES, false);
    }

    /** Adds the device-TLB invalidations {@code tracker} asks for after every later IOTLB invalidation. */
    void trackDeviceTlbs(DeviceTlbInvalidations tracker) {
        this.deviceTlbs = tracker;
    }

    /** Submits {@code descriptors} and an inv_wait, and returns once the wait's status word was written. */
    void submitAndWait(List<long[]> descriptors) {
        DeviceTlbInvalidations tracker = deviceTlbs;
        submit(tracker == null ? descriptors : tracker.expand(descriptors), false);
    }

    /**
     * Submits {@code descriptors} exactly as given, closed by an inv_wait with SW=1 and PD=1: it
     * completes only once the page requests received before it are in the page request queue.
     */
    void submitAndDrainPageRequests(List<long[]> descriptors) {
        submit(descriptors, true);
    }

    private void submit(List<long[]> descriptors, boolean pageRequestDrain) {
        lock.lock();
        try {
            // Resynchronise with the hardware's tail (another agent may have queued descriptors).
            tail = (int) ((mmio.read64(IQT_REG) & IQ_OFFSET_MASK) / InvalidationDescriptor.SIZE);
            for (long[] d : descriptors) {
                append(d);
            }
            int seq = ++sequence;
            append(InvalidationDescriptor.invWait(false, true, false, pageRequestDrain, seq, status));
            mmio.write64(IQT_REG, (long) tail * InvalidationDescriptor.SIZE);
            for (int i = 0; memory.read32(status) != seq; i++) {
                if ((mmio.read32(FSTS_REG) & FSTS_IQE) != 0) {
                    recoverFromError();
                    throw new IommuException(ErrorCode.INTERNAL, "invalidation queue error IQEI="
                            + (mmio.read64(IQERCD_REG) & 0xF) + " (a descriptor the hardware refused)");
                }
                if (i > MAX_POLLS) {
                    throw new IommuException(ErrorCode.INTERNAL, "invalidation wait did not complete");
                }
                Thread.onSpinWait();
            }
        } finally {
            lock.unlock();
        }
    }

    private void append(long[] d) {
        int next = (tail + 1) % ENTRIES;
        for (int i = 0; next == headIndex(); i++) {
            mmio.write64(IQT_REG, (long) tail * InvalidationDescriptor.SIZE);
            if (i > MAX_POLLS) {
                throw new IommuException(ErrorCode.INTERNAL, "invalidation queue stays full");
            }
            Thread.onSpinWait();
        }
        long slot = base + (long) tail * InvalidationDescriptor.SIZE;
        for (int i = 0; i < 4; i++) {
            memory.write64(slot + 8L * i, d[i]);
        }
        tail = next;
    }

    private int headIndex() {
        return (int) ((mmio.read64(IQH_REG) & IQ_OFFSET_MASK) / InvalidationDescriptor.SIZE);
    }

    /**
     * Replaces the refused descriptor at IQH with a plain inv_wait, so that the batch after it
     * still runs, and clears FSTS.IQE (Linux qi_check_fault does the same).
     */
    private void recoverFromError() {
        long slot = base + (mmio.read64(IQH_REG) & IQ_OFFSET_MASK);
        long[] nop = InvalidationDescriptor.invWait(false, false, false, 0, 0);
        for (int i = 0; i < 4; i++) {
            memory.write64(slot + 8L * i, nop[i]);
        }
        mmio.write32(FSTS_REG, FSTS_IQE);
    }

    void free() {
        allocator.free(base);
        allocator.free(status);
    }
}
