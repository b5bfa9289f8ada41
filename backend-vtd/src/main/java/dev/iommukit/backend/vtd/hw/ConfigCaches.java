package dev.iommukit.backend.vtd.hw;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Predicate;

/**
 * The context cache (indexed by source id) and the PASID cache (direct-mapped on source id and
 * PASID, tagged by DID and PASID for invalidation). Lookups take no lock and allocate nothing;
 * fills made by a walk that an invalidation overlapped are withdrawn, as in the IOTLB. Only the
 * invalidation queue changes them (CAP.CM=0: nothing not-present or faulting is cached).
 */
final class ConfigCaches {
    private static final int PASID_SLOTS = 4096;
    private final AtomicReferenceArray<ContextConfig> contexts = new AtomicReferenceArray<>(65536);
    private final AtomicReferenceArray<PasidConfig> pasids = new AtomicReferenceArray<>(PASID_SLOTS);
    private final AtomicLong contextEpoch = new AtomicLong();
    private final AtomicLong pasidEpoch = new AtomicLong();

    ContextConfig context(int sid) {
        return contexts.get(sid);
    }

    long contextEpoch() {
        return contextEpoch.get();
    }

    void fillContext(ContextConfig c, long epoch) {
        contexts.set(c.sid(), c);
        if (contextEpoch.get() != epoch) {
            contexts.compareAndSet(c.sid(), c, null);
        }
    }

    /** Drops the context entries whose source id matches {@code sid} under function mask {@code fm}, or all when sid is -1. */
    void invalidateContexts(int sid, int fm) {
        contextEpoch.incrementAndGet();
        if (sid >= 0 && fm == 0) {
            contexts.set(sid, null);
            return;
        }
        int ignore = fm == 0 ? 0 : (1 << fm) - 1 << (3 - fm);
        for (int i = 0; i < 65536; i++) {
            if (sid < 0 || (i & ~ignore) == (sid & ~ignore)) {
                contexts.set(i, null);
            }
        }
    }

    private static int slot(int sid, int pasid) {
        int h = sid * 0x9E3779B1 ^ pasid * 0x85EBCA6B;
        return (h ^ h >>> 15) & (PASID_SLOTS - 1);
    }

    PasidConfig pasid(int sid, int pasid) {
        PasidConfig p = pasids.get(slot(sid, pasid));
        return p != null && p.sid() == sid && p.pasid() == pasid ? p : null;
    }

    long pasidEpoch() {
        return pasidEpoch.get();
    }

    void fillPasid(PasidConfig p, long epoch) {
        int i = slot(p.sid(), p.pasid());
        pasids.set(i, p);
        if (pasidEpoch.get() != epoch) {
            pasids.compareAndSet(i, p, null);
        }
    }

    void invalidatePasids(Predicate<PasidConfig> match) {
        pasidEpoch.incrementAndGet();
        for (int i = 0; i < PASID_SLOTS; i++) {
            PasidConfig p = pasids.get(i);
            if (p != null && match.test(p)) {
                pasids.compareAndSet(i, p, null);
            }
        }
    }
}
