package dev.iommukit.backend.vtd.hw;

import dev.iommukit.spi.iopf.PageResponsePort;
import dev.iommukit.backend.vtd.arch.PageRequestDescriptor;
import dev.iommukit.backend.vtd.arch.PasidTableEntry;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.tlb.TlbEntry;
import dev.iommukit.spi.tlb.TranslationCache;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Handles PCIe page request messages (digest §12, hardware handling), one at a time on the
 * sender's thread. A request whose structures fault is recorded as a page request fault and
 * dropped; one arriving while PRS.PRO is set, or with the queue full (which sets PRO), is dropped.
 * A dropped request that is the last of its group is answered by hardware itself: "invalid
 * request" after a structure fault, "success" after an overflow. Otherwise hardware invalidates
 * the IOTLB for the page (SPEC Table 27), writes the 256-bit descriptor at PQT, advances PQT and
 * sets PRS.PPR. Setting PPR or PRO while both were clear is a page request event (PECTL IM/IP).
 * With TES=0 no request is queued ("invalid request" for a last one; unconfirmed).
 */
final class PageRequestEngine {
    private final VtdHardware hardware;
    private final PhysicalMemory memory;
    private final RemappingEngine remapping;
    private final TranslationCache iotlb;
    private final PageResponsePort responses;
    private final ReentrantLock lock = new ReentrantLock();

    PageRequestEngine(VtdHardware hardware, PhysicalMemory memory, RemappingEngine remapping, TranslationCache iotlb,
                      PageResponsePort responses) {
        this.hardware = hardware;
        this.memory = memory;
        this.remapping = remapping;
        this.iotlb = iotlb;
        this.responses = responses;
    }

    void receive(PageRequestMessage m) {
        PageResponseCode autoResponse = null;
        boolean raise = false;
        lock.lock();
        try {
            if (!hardware.translationEnabled()) {
                autoResponse = PageResponseCode.INVALID_REQUEST;
            } else {
                RemappingEngine.PageRequestTarget target = remapping.resolvePageRequest(m);
                if (target.fault() != null) {
                    autoResponse = PageResponseCode.INVALID_REQUEST;
                } else {
                    VtdHardware.PageRequestSlot slot = hardware.claimPageRequestSlot();
                    if (slot.address() < 0) {
                        autoResponse = PageResponseCode.SUCCESS;
                        raise = slot.raise();
                    } else {
                        invalidateImplicitly(target.config(), m.pageAddress());
                        write(slot.address(), descriptor(m));
                        raise = hardware.publishPageRequest(slot);
                    }
                }
            }
        } finally {
            lock.unlock();
        }
        if (raise) {
            hardware.raisePageRequestEvent();
        }
        if (autoResponse != null && m.last()) {
            responses.send(new PageResponseMessage(m.rid(), m.pasid(), m.groupIndex(), autoResponse));
        }
    }

    /** Returns once every page request that arrived before the call is queued or dropped (inv_wait PD). */
    void drain() {
        lock.lock();
        lock.unlock();
    }

    static PageRequestDescriptor descriptor(PageRequestMessage m) {
        boolean pp = m.hasPasid();
        return PageRequestDescriptor.of(m.rid() & 0xFFFF, pp, pp ? m.pasid() & 0xFFFFF : 0, m.pageAddress(), m.read(), m.write(),
                pp && m.execute(), pp && m.privileged(), m.groupIndex(), m.last());
    }

    private void write(long address, PageRequestDescriptor d) {
        long[] q = d.encode();
        try {
            for (int i = 0; i < q.length; i++) {
                memory.write64(address + 8L * i, q[i]);
            }
        } catch (ExternalAbortException | IllegalArgumentException e) {
            // The queue lies outside RAM: the write is lost, as on a real bus; PQT still advances.
        }
    }

    /**
     * SPEC Table 27: FL-only, page-selective PASID-based IOTLB invalidation (DID, PASID, the page,
     * AM=0); SL-only and pass-through, page-selective IOTLB invalidation in the DID; nested,
     * domain-selective IOTLB invalidation.
     */
    private void invalidateImplicitly(PasidConfig pc, long page) {
        int did = pc.did();
        long end = page + 4096;
        switch (pc.pgtt()) {
            case PasidTableEntry.PGTT_FIRST_LEVEL -> {
                long tag = pc.tag();
                iotlb.invalidate(e -> e.tag() == tag && (e.attributes() & IotlbTags.FIRST_LEVEL) != 0 && overlaps(e, page, end));
            }
            case PasidTableEntry.PGTT_NESTED -> iotlb.invalidate(e -> IotlbTags.did(e.tag()) == did);
            default -> iotlb.invalidate(e -> IotlbTags.did(e.tag()) == did
                    && ((e.attributes() & IotlbTags.FIRST_LEVEL) != 0 || overlaps(e, page, end)));
        }
    }

    private static boolean overlaps(TlbEntry e, long start, long end) {
        return e.inputBase() < end && start < e.inputBase() + (1L << e.pageShift());
    }
}
