package dev.iommukit.backend.vtd.driver;

import java.util.Iterator;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Where a domain is attached: (requester id, hardware PASID) pairs, packed as {@code rid << 32 |
 * pasid}. Safe to iterate while the driver changes it (invalidations run beside attaches).
 */
final class Attachments implements Iterable<Long> {
    private final Set<Long> pairs = ConcurrentHashMap.newKeySet();

    void add(int rid, int pasid) {
        pairs.add(pack(rid, pasid));
    }

    void remove(int rid, int pasid) {
        pairs.remove(pack(rid, pasid));
    }

    boolean isEmpty() {
        return pairs.isEmpty();
    }

    static int rid(long pair) {
        return (int) (pair >>> 32);
    }

    static int pasid(long pair) {
        return (int) pair;
    }

    private static long pack(int rid, int pasid) {
        return (long) rid << 32 | pasid;
    }

    @Override
    public Iterator<Long> iterator() {
        return pairs.iterator();
    }
}
