package dev.iommukit.backend.vtd.hw;

import static dev.iommukit.backend.vtd.arch.InvalidationDescriptor.*;
import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;

import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.tlb.TlbEntry;
import dev.iommukit.spi.tlb.TranslationCache;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Consumes the invalidation queue (digest §1.9, §11) when IQT is written, synchronously on the
 * writer's thread: context-cache, PASID-cache, IOTLB and PASID-based IOTLB invalidations act on
 * the caches; inv_wait completes only after every earlier descriptor and every walk that started
 * before it (walks hold the read side of {@link #walkLock()}, inv_wait takes the write side),
 * then writes its status and sets ICS.IWC. Device-TLB, interrupt-entry-cache and page-group
 * response descriptors are accepted and do nothing (no device TLB, interrupt remapping or page
 * requests are modelled). An invalid descriptor sets FSTS.IQE and IQERCD.IQEI and stops at IQH.
 */
final class InvalidationEngine {
    private final VtdHardware hardware;
    private final PhysicalMemory memory;
    private final ConfigCaches caches;
    private final TranslationCache iotlb;
    private final ReentrantReadWriteLock walkLock = new ReentrantReadWriteLock();
    private final ReentrantLock queueLock = new ReentrantLock();

    InvalidationEngine(VtdHardware hardware, PhysicalMemory memory, ConfigCaches caches, TranslationCache iotlb) {
        this.hardware = hardware;
        this.memory = memory;
        this.caches = caches;
        this.iotlb = iotlb;
    }

    ReentrantReadWriteLock walkLock() {
        return walkLock;
    }

    void process() {
        queueLock.lock();
        try {
            while (true) {
                VtdHardware.QueueState q = hardware.queueState();
                if (q == null || q.head() == q.tail()) {
                    return;
                }
                boolean wide = (q.iqa() & IQA_DW) != 0;
                long queueBytes = 4096L << (q.iqa() & IQA_QS_MASK);
                if (wide && (q.tail() & 0x10) != 0) {
                    hardware.queueError(IQEI_TAIL_MISALIGNED);
                    return;
                }
                if (q.tail() >= queueBytes) {
                    hardware.queueError(IQEI_TAIL_BEYOND_QUEUE);
                    return;
                }
                if (!wide && q.ttm() == TTM_SCALABLE) {
                    hardware.queueError(IQEI_WRONG_WIDTH);
                    return;
                }
                long base = q.iqa() & IQA_BASE_MASK;
                long[] d = new long[4];
                try {
                    for (int i = 0; i < 4; i++) {
                        d[i] = memory.read64(base + q.head() + 8L * i);
                    }
                } catch (ExternalAbortException e) {
                    hardware.queueError(IQEI_FETCH_ERROR);
                    return;
                }
                int error = execute(d);
                if (error != 0) {
                    hardware.queueError(error);
                    return;
                }
                hardware.advanceHead((q.head() + SIZE) % queueBytes);
            }
        } finally {
            queueLock.unlock();
        }
    }

    /** Executes one descriptor; returns 0 or the IQEI of its error. */
    private int execute(long[] d) {
        int type = InvalidationDescriptor.type(d[0]);
        if (type < CC_INV || type > PAGE_GRP_RESP) {
            return IQEI_INVALID_TYPE;
        }
        for (int i = 0; i < 4; i++) {
            if ((d[i] & reservedBits(type, i)) != 0) {
                return IQEI_RESERVED_FIELD;
            }
        }
        int g = granularity(d[0]);
        switch (type) {
            case CC_INV -> {
                if (g == 0) {
                    return IQEI_RESERVED_FIELD;
                }
                // Scalable mode: the context cache is not DID-tagged, domain-selective acts as global.
                caches.invalidateContexts(g == CC_DEVICE ? sid(d[0]) : -1, g == CC_DEVICE ? functionMask(d[0]) : 0);
            }
            case PC_INV -> {
                int did = did(d[0]);
                int pasid = pasid(d[0]);
                switch (g) {
                    case PC_DOMAIN -> caches.invalidatePasids(p -> p.did() == did);
                    case PC_PASID -> caches.invalidatePasids(p -> p.did() == did && p.pasid() == pasid);
                    case PC_GLOBAL -> caches.invalidatePasids(p -> true);
                    default -> {
                        return IQEI_RESERVED_FIELD;
                    }
                }
            }
            case IOTLB_INV -> {
                int did = did(d[0]);
                switch (g) {
                    case IOTLB_GLOBAL -> iotlb.invalidateAll();
                    case IOTLB_DOMAIN -> iotlb.invalidate(e -> IotlbTags.did(e.tag()) == did);
                    case IOTLB_PAGE -> {
                        int am = addressMask(d[1]);
                        if (am > hardware.model().cap().mamv()) {
                            return IQEI_RESERVED_FIELD;
                        }
                        long start = address(d[1]) & -(1L << (12 + am));
                        long end = start + (1L << (12 + am));
                        // SL/PT entries of the DID in the range; FL entries of the DID whole (digest §11 table).
                        iotlb.invalidate(e -> IotlbTags.did(e.tag()) == did
                                && ((e.attributes() & IotlbTags.FIRST_LEVEL) != 0 || overlaps(e, start, end)));
                    }
                    default -> {
                        return IQEI_RESERVED_FIELD;
                    }
                }
            }
            case P_IOTLB_INV -> {
                int did = did(d[0]);
                int pasid = pasid(d[0]);
                long tag = IotlbTags.tag(did, pasid);
                switch (g) {
                    case P_IOTLB_PASID -> iotlb.invalidate(e -> e.tag() == tag);
                    case P_IOTLB_PAGE -> {
                        int am = addressMask(d[1]);
                        if (am > hardware.model().cap().mamv()) {
                            return IQEI_RESERVED_FIELD;
                        }
                        long start = address(d[1]) & -(1L << (12 + am));
                        long end = start + (1L << (12 + am));
                        // Only FL-only / nested entries; SL-only and PT entries are untouched.
                        iotlb.invalidate(e -> e.tag() == tag && (e.attributes() & IotlbTags.FIRST_LEVEL) != 0 && overlaps(e, start, end));
                    }
                    default -> {
                        return IQEI_RESERVED_FIELD;
                    }
                }
            }
            case INV_WAIT -> {
                if ((d[0] & (1L << 7)) != 0 && !hardware.model().ecap().pds()) {
                    return IQEI_RESERVED_FIELD;
                }
                // Every walk that started before this descriptor has finished once the write lock is ours.
                walkLock.writeLock().lock();
                walkLock.writeLock().unlock();
                if (waitStatusWrite(d[0])) {
                    try {
                        memory.write32(statusAddress(d[1]), statusData(d[0]));
                    } catch (ExternalAbortException e) {
                        // The status write is lost, as a write to non-existent memory is on a real bus.
                    }
                }
                if (waitInterruptFlag(d[0])) {
                    hardware.waitCompleted();
                }
            }
            default -> { } // dev_tlb, iec, p_dev_tlb, page_grp_resp: nothing modelled to invalidate
        }
        return 0;
    }

    private static boolean overlaps(TlbEntry e, long start, long end) {
        long eEnd = e.inputBase() + (1L << e.pageShift());
        return e.inputBase() < end && start < eEnd;
    }
}
