package dev.iommukit.spi.pgtable;

import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.ArrayList;
import java.util.List;

/**
 * A translation table in simulated memory, managed through a {@link PageTableFormat}: map,
 * unmap (splitting larger pages when a range cuts them), iova-to-phys, and free. Writers are
 * serialised; readers (hardware walkers) may walk at any time: every table is written whole
 * before the descriptor that publishes it, with single-copy-atomic stores. Intermediate tables
 * stay until {@link #free()}, even when a larger page later replaces an emptied table, so a
 * walker never reads a page that was reused.
 */
public final class PageTable {
    private final PageTableFormat format;
    private final PageAllocator allocator;
    private final PhysicalMemory memory;
    private final String owner;
    private final long root;
    private final List<Long> tables = new ArrayList<>();
    private long tableBytes;
    private boolean freed;

    /** Allocates an empty root table for {@code format} from {@code allocator}. */
    public PageTable(PageTableFormat format, PageAllocator allocator, String owner) {
        this.format = format;
        this.allocator = allocator;
        this.memory = allocator.memory();
        this.owner = owner;
        this.root = allocateTable(0);
    }

    public PageTableFormat format() {
        return format;
    }

    /** Physical address of the root table. */
    public long root() {
        return root;
    }

    /** Number of 4 KiB pages the tables occupy. */
    public synchronized long tablePages() {
        return tableBytes / PhysicalMemory.PAGE_SIZE;
    }

    private long allocateTable(int level) {
        long bytes = Math.max(PhysicalMemory.PAGE_SIZE, format.tableBytes(level));
        long pa = allocator.allocate(bytes, owner);
        tables.add(pa);
        tableBytes += bytes;
        return pa;
    }

    private long slot(long table, int level, long iova) {
        long index = (iova >>> format.indexShift(level)) & ((1L << format.indexBits(level)) - 1);
        return table + index * 8;
    }

    private int levelFor(long pageSize) {
        for (int l = 0; l < format.levels(); l++) {
            if (format.leafSize(l) == pageSize && format.leafAllowed(l)) {
                return l;
            }
        }
        throw IommuException.invalid("pageSize", "0x" + Long.toHexString(pageSize) + " is not a page size of " + format.name());
    }

    /**
     * Maps {@code count} pages of {@code pageSize} from {@code iova} to {@code pa}. All or nothing:
     * if a slot is taken or table memory runs out, the leaves written by this call are cleared.
     */
    public synchronized void map(long iova, long pa, long pageSize, long count, int permissions) {
        checkLive();
        int leafLevel = levelFor(pageSize);
        List<Long> written = new ArrayList<>();
        try {
            for (long i = 0; i < count; i++) {
                long va = iova + i * pageSize;
                long table = root;
                for (int level = 0; level < leafLevel; level++) {
                    long s = slot(table, level, va);
                    long d = memory.read64(s);
                    if (format.isTable(d, level)) {
                        table = format.address(d, level);
                    } else if (format.isLeaf(d, level)) {
                        throw new ConflictException("iova 0x" + Long.toHexString(va) + " is already mapped by a larger page");
                    } else {
                        long next = allocateTable(level + 1);
                        memory.write64(s, format.encodeTable(next, level));
                        table = next;
                    }
                }
                long s = slot(table, leafLevel, va);
                long d = memory.read64(s);
                if (format.isLeaf(d, leafLevel)
                        || (format.isTable(d, leafLevel) && !isEmpty(format.address(d, leafLevel), leafLevel + 1))) {
                    throw new ConflictException("iova 0x" + Long.toHexString(va) + " is already mapped");
                }
                memory.write64(s, format.encodeLeaf(pa + i * pageSize, leafLevel, permissions));
                written.add(s);
            }
        } catch (RuntimeException e) {
            for (long s : written) {
                memory.write64(s, 0);
            }
            throw e;
        }
    }

    /** Whether the table at {@code table} (of {@code level}) and everything below it maps nothing. */
    private boolean isEmpty(long table, int level) {
        long entries = 1L << format.indexBits(level);
        for (long i = 0; i < entries; i++) {
            long d = memory.read64(table + i * 8);
            if (format.isLeaf(d, level) || (format.isTable(d, level) && !isEmpty(format.address(d, level), level + 1))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Clears every leaf in {@code [iova, iova + size)}; a larger page that the range only cuts is
     * first replaced by a table of smaller pages mapping the same memory. Unmapped holes are
     * skipped. The caller invalidates caches afterwards.
     *
     * @return the number of bytes that were mapped in the range
     */
    public synchronized long unmap(long iova, long size) {
        checkLive();
        return unmapIn(root, 0, iova, iova + size);
    }

    private long unmapIn(long table, int level, long start, long end) {
        long span = format.leafSize(level);
        long unmapped = 0;
        long va = start;
        while (va < end) {
            long entryBase = va & ~(span - 1);
            long entryEnd = entryBase + span;
            long segEnd = Math.min(end, entryEnd);
            if (segEnd <= entryBase) {
                break;
            }
            long s = slot(table, level, va);
            long d = memory.read64(s);
            if (format.isLeaf(d, level)) {
                if (va == entryBase && segEnd == entryEnd) {
                    memory.write64(s, 0);
                    unmapped += span;
                } else {
                    long next = split(d, level);
                    memory.write64(s, format.encodeTable(next, level));
                    unmapped += unmapIn(next, level + 1, va, segEnd);
                }
            } else if (format.isTable(d, level)) {
                unmapped += unmapIn(format.address(d, level), level + 1, va, segEnd);
            }
            va = segEnd;
        }
        return unmapped;
    }

    private long split(long leaf, int level) {
        int next = level + 1;
        if (next >= format.levels() || !format.leafAllowed(next)) {
            throw IommuException.invalid("size", "cannot split a " + format.leafSize(level) + "-byte page of " + format.name());
        }
        long table = allocateTable(next);
        long base = format.address(leaf, level);
        int perms = format.permissions(leaf, level);
        long entries = 1L << format.indexBits(next);
        long step = format.leafSize(next);
        for (long i = 0; i < entries; i++) {
            memory.write64(table + i * 8, format.encodeLeaf(base + i * step, next, perms));
        }
        return table;
    }

    /** The physical address {@code iova} maps to, or -1; lock-free. */
    public long iovaToPhys(long iova) {
        long table = root;
        for (int level = 0; level < format.levels(); level++) {
            long d = memory.read64(slot(table, level, iova));
            if (format.isLeaf(d, level)) {
                return format.address(d, level) + (iova & (format.leafSize(level) - 1));
            }
            if (!format.isTable(d, level)) {
                return -1;
            }
            table = format.address(d, level);
        }
        return -1;
    }

    /** The permissions of the leaf mapping {@code iova}, or 0. */
    public long permissionsAt(long iova) {
        long table = root;
        for (int level = 0; level < format.levels(); level++) {
            long d = memory.read64(slot(table, level, iova));
            if (format.isLeaf(d, level)) {
                return format.permissions(d, level);
            }
            if (!format.isTable(d, level)) {
                return 0;
            }
            table = format.address(d, level);
        }
        return 0;
    }

    /** Frees every table page. The caller has made sure no walker still uses them. */
    public synchronized void free() {
        if (freed) {
            return;
        }
        freed = true;
        for (long t : tables) {
            allocator.free(t);
        }
        tables.clear();
        tableBytes = 0;
    }

    private void checkLive() {
        if (freed) {
            throw new dev.iommukit.spi.error.ClosedException("page table " + owner + " was freed");
        }
    }
}
