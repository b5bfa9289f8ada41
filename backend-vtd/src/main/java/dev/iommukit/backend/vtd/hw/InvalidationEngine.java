package dev.iommukit.backend.vtd.hw;

import static dev.iommukit.backend.vtd.arch.InvalidationDescriptor.*;
import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;

import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
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
 * then writes its status and sets ICS.IWC; with PD it first waits for the page requests in flight
 * to be queued (page request drain). A page group response descriptor sends its PCIe response
 * (RC 0 success, 1 invalid request, any other code response failure: Linux passes its own
 * FAILURE = 2 through, digest §12). Device-TLB invalidations (ECAP.DT) are checked and complete at
 * once: no device keeps a TLB in this model. Interrupt-entry-cache descriptors do nothing. An
 * invalid descriptor sets FSTS.IQE and IQERCD.IQEI and stops at IQH.
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
        if ((type == DEV_TLB_INV || type == P_DEV_TLB_INV) && !hardware.model().ecap().dt()
                || type == PAGE_GRP_RESP && !hardware.model().ecap().prs()) {
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
                if (waitPageRequestDrain(d[0])) {
                    if (!hardware.model().ecap().pds()) {
                        return IQEI_RESERVED_FIELD;
                    }
                    // Every page request received before this descriptor is in the queue (or dropped) first.
                    hardware.drainPageRequests();
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
            case PAGE_GRP_RESP -> {
                int rc = responseCode(d[0]);
                PageResponseCode code = switch (rc) {
                    case RC_SUCCESS -> PageResponseCode.SUCCESS;
                    case RC_INVALID_REQUEST -> PageResponseCode.INVALID_REQUEST;
                    default -> PageResponseCode.RESPONSE_FAILURE;
                };
                hardware.pageResponses().send(new PageResponseMessage(responseRid(d[0]),
                        responsePasidPresent(d[0]) ? pasid(d[0]) : Pasid.NONE, responseGroupIndex(d[1]), code));
            }
            default -> { } // dev_tlb, p_dev_tlb (no device TLB is modelled), iec
        }
        return 0;
    }

    private static boolean overlaps(TlbEntry e, long start, long end) {
        long eEnd = e.inputBase() + (1L << e.pageShift());
        return e.inputBase() < end && start < eEnd;
    }
}
