package dev.iommukit.spi.tlb;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Predicate;

/**
 * A direct-mapped cache of {@link TlbEntry translations}, for the IOTLBs of hardware halves.
 * Lookups take no lock and allocate nothing: one volatile read per page size probed.
 *
 * <p>Fills race with invalidations safely: a walker reads {@link #epoch()} before it walks and
 * passes it to {@link #fill}; an entry filled by a walk that an invalidation overlapped is
 * withdrawn. So once an invalidation has returned, no entry from before it can be hit.
 */
public final class TranslationCache {
    private final AtomicReferenceArray<TlbEntry> slots;
    private final int mask;
    private final int[] pageShifts;
    private final AtomicLong epoch = new AtomicLong();

    /**
     * @param capacity number of slots, a power of two
     * @param pageShifts the page sizes entries may have, as shifts, probed in this order
     */
    public TranslationCache(int capacity, int... pageShifts) {
        if (Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        this.slots = new AtomicReferenceArray<>(capacity);
        this.mask = capacity - 1;
        this.pageShifts = pageShifts.clone();
    }

    private int index(long tag, long page, int shift) {
        long h = (tag * 0x9E3779B97F4A7C15L) ^ (page * 0xC2B2AE3D27D4EB4FL) ^ shift;
        h ^= h >>> 29;
        return (int) h & mask;
    }

    /** The entry for {@code tag} that covers {@code address}, or {@code null}. */
    public TlbEntry lookup(long tag, long address) {
        return lookup(tag, address, pageShifts);
    }

    /**
     * As {@link #lookup(long, long)}, probing only the page sizes {@code shifts} (those the
     * translation regime can produce, such as one granule's page and block sizes).
     */
    public TlbEntry lookup(long tag, long address, int[] shifts) {
        for (int shift : shifts) {
            long base = address & -(1L << shift);
            TlbEntry e = slots.get(index(tag, base >>> shift, shift));
            if (e != null && e.tag() == tag && e.pageShift() == shift && e.inputBase() == base) {
                return e;
            }
        }
        return null;
    }

    /** The invalidation epoch; read it before a walk whose result will be filled. */
    public long epoch() {
        return epoch.get();
    }

    /** Caches {@code entry} unless an invalidation began after {@code epochAtWalkStart}. */
    public void fill(TlbEntry entry, long epochAtWalkStart) {
        int i = index(entry.tag(), entry.inputBase() >>> entry.pageShift(), entry.pageShift());
        slots.set(i, entry);
        if (epoch.get() != epochAtWalkStart) {
            slots.compareAndSet(i, entry, null);
        }
    }

    /** Drops every entry that {@code match} accepts. */
    public void invalidate(Predicate<TlbEntry> match) {
        epoch.incrementAndGet();
        for (int i = 0; i <= mask; i++) {
            TlbEntry e = slots.get(i);
            if (e != null && match.test(e)) {
                slots.compareAndSet(i, e, null);
            }
        }
    }

    /** Drops every entry. */
    public void invalidateAll() {
        invalidate(e -> true);
    }

    /** Number of entries held now (for tests and statistics). */
    public int size() {
        int n = 0;
        for (int i = 0; i <= mask; i++) {
            if (slots.get(i) != null) {
                n++;
            }
        }
        return n;
    }
}
