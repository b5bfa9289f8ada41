package dev.iommukit.api;

import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * The machine's PASID space: allocation of the lowest free PASID below a device's width, with a
 * reference count per PASID so that a PASID is reused only once nothing refers to it. PASID 0 is
 * never handed out (it stands for requests without PASID). Guarded by the machine's lock.
 */
final class PasidAllocator {
    private final BitSet used = new BitSet();
    private final Map<Integer, Integer> references = new HashMap<>();

    /** The lowest free PASID in {@code 1 .. 2^width - 1}, with one reference. */
    int allocate(int width, String forWhat) {
        int limit = 1 << width;
        int pasid = used.nextClearBit(1);
        if (pasid >= limit) {
            throw new ResourceExhaustedException("pasid: no free PASID below 2^" + width + " for " + forWhat
                    + " (" + references.size() + " in use)");
        }
        used.set(pasid);
        references.put(pasid, 1);
        return pasid;
    }

    /** Takes a reference to {@code pasid}, allocating it when it is free (a caller-chosen PASID). */
    void claim(int pasid) {
        if (used.get(pasid)) {
            retain(pasid);
        } else {
            used.set(pasid);
            references.put(pasid, 1);
        }
    }

    /** Adds a reference to a live PASID. */
    void retain(int pasid) {
        Integer n = references.get(pasid);
        if (n == null) {
            throw IommuException.invalid("pasid", pasid + " is not allocated");
        }
        references.put(pasid, n + 1);
    }

    /** Drops a reference; the PASID becomes free when the last one goes. */
    void release(int pasid) {
        Integer n = references.get(pasid);
        if (n == null) {
            throw IommuException.invalid("pasid", pasid + " is not allocated");
        }
        if (n == 1) {
            references.remove(pasid);
            used.clear(pasid);
        } else {
            references.put(pasid, n - 1);
        }
    }

    int inUse() {
        return references.size();
    }
}
