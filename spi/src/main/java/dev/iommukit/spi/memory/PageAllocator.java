package dev.iommukit.spi.memory;

import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * Hands out naturally aligned, zeroed, power-of-two blocks of pages from a pool of RAM for the
 * structures an IOMMU keeps in memory (tables, queues), and keeps account of every block so that
 * a test can assert nothing leaked. A buddy allocator: thread-safe, not on any translate path.
 */
public final class PageAllocator {
    private static final int PAGE_SHIFT = 12;
    private static final int MAX_ORDER = 20;

    private final PhysicalMemory memory;
    private final long poolBase;
    private final long poolSize;
    private final List<TreeSet<Long>> free = new ArrayList<>();
    private final Map<Long, Allocation> live = new HashMap<>();
    private long allocatedPages;

    /** One live block: its address, size in bytes and the owner named at allocation. */
    public record Allocation(long pa, long bytes, String owner) {}

    /** An allocator over {@code [poolBase, poolBase + poolSize)}, which must be RAM of {@code memory}. */
    public PageAllocator(PhysicalMemory memory, long poolBase, long poolSize) {
        if (!memory.isRam(poolBase, poolSize) || (poolBase & 0xFFF) != 0 || (poolSize & 0xFFF) != 0 || poolSize <= 0) {
            throw IommuException.invalid("pool", "must be a 4 KiB aligned range of RAM, was [0x"
                    + Long.toHexString(poolBase) + ", +0x" + Long.toHexString(poolSize) + ")");
        }
        this.memory = memory;
        this.poolBase = poolBase;
        this.poolSize = poolSize;
        for (int i = 0; i <= MAX_ORDER; i++) {
            free.add(new TreeSet<>());
        }
        long pa = poolBase;
        long end = poolBase + poolSize;
        while (pa < end) {
            int order = MAX_ORDER;
            while (order > 0 && (((pa >>> PAGE_SHIFT) & ((1L << order) - 1)) != 0 || pa + (1L << (order + PAGE_SHIFT)) > end)) {
                order--;
            }
            free.get(order).add(pa);
            pa += 1L << (order + PAGE_SHIFT);
        }
    }

    /** The memory this allocator carves from. */
    public PhysicalMemory memory() {
        return memory;
    }

    /** Whether {@code pa} lies in this allocator's pool. */
    public boolean inPool(long pa) {
        return pa >= poolBase && pa < poolBase + poolSize;
    }

    /**
     * Allocates a zeroed block of at least {@code bytes} (rounded up to a power-of-two number of
     * pages), aligned to its own size.
     *
     * @throws ResourceExhaustedException when no block of that size is free
     */
    public synchronized long allocate(long bytes, String owner) {
        if (bytes <= 0 || bytes > (1L << (MAX_ORDER + PAGE_SHIFT))) {
            throw IommuException.invalid("bytes", "must be in (0, 4 GiB], was " + bytes);
        }
        int order = orderFor(bytes);
        int o = order;
        while (o <= MAX_ORDER && free.get(o).isEmpty()) {
            o++;
        }
        if (o > MAX_ORDER) {
            throw new ResourceExhaustedException("table memory: no free block of " + (1L << (order + PAGE_SHIFT))
                    + " bytes left in the pool of 0x" + Long.toHexString(poolSize) + " bytes (owner " + owner + ")");
        }
        long pa = free.get(o).pollFirst();
        while (o > order) {
            o--;
            free.get(o).add(pa + (1L << (o + PAGE_SHIFT)));
        }
        long size = 1L << (order + PAGE_SHIFT);
        memory.zero(pa, size);
        live.put(pa, new Allocation(pa, size, owner));
        allocatedPages += size >>> PAGE_SHIFT;
        return pa;
    }

    /** Allocates one zeroed 4 KiB page. */
    public long allocatePage(String owner) {
        return allocate(PhysicalMemory.PAGE_SIZE, owner);
    }

    /** Returns a block obtained from {@link #allocate}; its contents are zeroed. */
    public synchronized void free(long pa) {
        Allocation a = live.remove(pa);
        if (a == null) {
            throw IommuException.invalid("pa", "0x" + Long.toHexString(pa) + " is not the start of a live allocation");
        }
        memory.zero(pa, a.bytes());
        allocatedPages -= a.bytes() >>> PAGE_SHIFT;
        int order = orderFor(a.bytes());
        long block = pa;
        while (order < MAX_ORDER) {
            long buddy = block ^ (1L << (order + PAGE_SHIFT));
            if (!free.get(order).remove(buddy)) {
                break;
            }
            block = Math.min(block, buddy);
            order++;
        }
        free.get(order).add(block);
    }

    /** Number of pages currently allocated. */
    public synchronized long allocatedPages() {
        return allocatedPages;
    }

    /** The live allocations, lowest address first. */
    public synchronized List<Allocation> liveAllocations() {
        return List.copyOf(new TreeMap<>(live).values());
    }

    private static int orderFor(long bytes) {
        long pages = (bytes + PhysicalMemory.PAGE_SIZE - 1) >>> PAGE_SHIFT;
        return 64 - Long.numberOfLeadingZeros(pages - 1);
    }
}
