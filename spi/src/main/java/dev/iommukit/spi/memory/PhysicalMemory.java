package dev.iommukit.spi.memory;

import dev.iommukit.spi.error.IommuException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.BiConsumer;

/**
 * Simulated physical memory: RAM regions at fixed physical addresses, read and written in
 * single-copy-atomic little-endian 64-bit units, with compare-and-swap for hardware-set bits.
 *
 * <p>An access outside RAM throws {@link ExternalAbortException}. A read costs a region scan over
 * a handful of regions and two array accesses, never a hash lookup. Pages are materialised on
 * first write; unwritten memory reads as zero. Loads have acquire and stores release semantics,
 * so a structure written by one thread and published by a later store is seen whole by another.
 */
public final class PhysicalMemory {
    /** Size of a page of simulated memory: the unit of allocation and of dumps. */
    public static final int PAGE_SIZE = 4096;
    private static final int PAGE_SHIFT = 12;
    private static final int WORDS_PER_PAGE = PAGE_SIZE / 8;
    private static final VarHandle WORD = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle PAGE = MethodHandles.arrayElementVarHandle(long[][].class);

    private final RamRegion[] regions;
    private final long[] bases;
    private final long[] ends;
    private final long[][][] pages;

    private PhysicalMemory(List<RamRegion> regionList) {
        this.regions = regionList.toArray(RamRegion[]::new);
        Arrays.sort(regions, (a, b) -> Long.compareUnsigned(a.base(), b.base()));
        for (int i = 1; i < regions.length; i++) {
            if (regions[i].base() < regions[i - 1].end()) {
                throw IommuException.invalid("regions", "RAM regions must not overlap: " + regions[i - 1] + " and " + regions[i]);
            }
        }
        bases = new long[regions.length];
        ends = new long[regions.length];
        pages = new long[regions.length][][];
        for (int i = 0; i < regions.length; i++) {
            bases[i] = regions[i].base();
            ends[i] = regions[i].end();
            long count = regions[i].size() >>> PAGE_SHIFT;
            if (count > Integer.MAX_VALUE) {
                throw IommuException.invalid("size", "a RAM region holds at most 2^31 pages");
            }
            pages[i] = new long[(int) count][];
        }
    }

    /** Memory with one RAM region. */
    public static PhysicalMemory of(long base, long size) {
        return builder().ram(base, size).build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Builds a {@link PhysicalMemory}. */
    public static final class Builder {
        private final List<RamRegion> regions = new ArrayList<>();

        public Builder ram(long base, long size) {
            regions.add(new RamRegion(base, size));
            return this;
        }

        public PhysicalMemory build() {
            if (regions.isEmpty()) {
                throw IommuException.invalid("regions", "memory needs at least one RAM region");
            }
            return new PhysicalMemory(regions);
        }
    }

    /** The RAM regions, lowest first. */
    public List<RamRegion> regions() {
        return List.of(regions);
    }

    /** Whether every byte of {@code [pa, pa + length)} is RAM. */
    public boolean isRam(long pa, long length) {
        for (RamRegion r : regions) {
            if (r.contains(pa, length)) {
                return true;
            }
        }
        return false;
    }

    private int region(long pa) {
        for (int i = 0; i < bases.length; i++) {
            if (pa >= bases[i] && pa < ends[i]) {
                return i;
            }
        }
        throw new ExternalAbortException(pa);
    }

    private long[] pageForRead(long pa) {
        int r = region(pa);
        return (long[]) PAGE.getAcquire(pages[r], (int) ((pa - bases[r]) >>> PAGE_SHIFT));
    }

    private long[] pageForWrite(long pa) {
        int r = region(pa);
        long[][] table = pages[r];
        int index = (int) ((pa - bases[r]) >>> PAGE_SHIFT);
        long[] page = (long[]) PAGE.getAcquire(table, index);
        if (page == null) {
            long[] fresh = new long[WORDS_PER_PAGE];
            page = (long[]) PAGE.compareAndExchangeRelease(table, index, (long[]) null, fresh);
            if (page == null) {
                page = fresh;
            }
        }
        return page;
    }

    private static void checkAligned(long pa, int alignment) {
        if ((pa & (alignment - 1)) != 0) {
            throw IommuException.invalid("pa", "must be " + alignment + "-byte aligned, was 0x" + Long.toHexString(pa));
        }
    }

    /** Single-copy-atomic 64-bit load of an 8-byte aligned address. */
    public long read64(long pa) {
        checkAligned(pa, 8);
        long[] page = pageForRead(pa);
        return page == null ? 0 : (long) WORD.getAcquire(page, (int) ((pa & (PAGE_SIZE - 1)) >>> 3));
    }

    /** Single-copy-atomic 64-bit store to an 8-byte aligned address. */
    public void write64(long pa, long value) {
        checkAligned(pa, 8);
        if (value == 0) {
            long[] page = pageForRead(pa);
            if (page == null) {
                return;
            }
            WORD.setRelease(page, (int) ((pa & (PAGE_SIZE - 1)) >>> 3), 0L);
            return;
        }
        WORD.setRelease(pageForWrite(pa), (int) ((pa & (PAGE_SIZE - 1)) >>> 3), value);
    }

    /** Atomically replaces the 64-bit word at {@code pa} when it equals {@code expected}. */
    public boolean compareAndSwap64(long pa, long expected, long update) {
        checkAligned(pa, 8);
        long[] page = pageForWrite(pa);
        return WORD.compareAndSet(page, (int) ((pa & (PAGE_SIZE - 1)) >>> 3), expected, update);
    }

    /** 32-bit load of a 4-byte aligned address. */
    public int read32(long pa) {
        checkAligned(pa, 4);
        return (int) (read64(pa & ~7L) >>> ((pa & 4) * 8));
    }

    /** Single-copy-atomic 32-bit store to a 4-byte aligned address; the other half is untouched. */
    public void write32(long pa, int value) {
        checkAligned(pa, 4);
        writeMasked(pa & ~7L, 0xFFFF_FFFFL << ((pa & 4) * 8), (value & 0xFFFF_FFFFL) << ((pa & 4) * 8));
    }

    private void writeMasked(long wordPa, long mask, long bits) {
        long[] page = pageForWrite(wordPa);
        int index = (int) ((wordPa & (PAGE_SIZE - 1)) >>> 3);
        long old;
        do {
            old = (long) WORD.getAcquire(page, index);
        } while (!WORD.compareAndSet(page, index, old, (old & ~mask) | (bits & mask)));
    }

    /** Copies {@code length} bytes from memory at {@code pa} into {@code dst}. */
    public void read(long pa, byte[] dst, int offset, int length) {
        requireRam(pa, length);
        for (int i = 0; i < length; i++) {
            long a = pa + i;
            dst[offset + i] = (byte) (read64(a & ~7L) >>> ((a & 7) * 8));
        }
    }

    /** Copies {@code length} bytes from {@code src} into memory at {@code pa}; each byte lands atomically. */
    public void write(long pa, byte[] src, int offset, int length) {
        requireRam(pa, length);
        for (int i = 0; i < length; i++) {
            long a = pa + i;
            int shift = (int) ((a & 7) * 8);
            writeMasked(a & ~7L, 0xFFL << shift, (src[offset + i] & 0xFFL) << shift);
        }
    }

    /** Writes zeroes over {@code [pa, pa + length)}; both ends 8-byte aligned. */
    public void zero(long pa, long length) {
        checkAligned(pa, 8);
        checkAligned(length, 8);
        requireRam(pa, length);
        for (long a = pa; a < pa + length; a += 8) {
            write64(a, 0);
        }
    }

    private void requireRam(long pa, long length) {
        if (!isRam(pa, length)) {
            throw new ExternalAbortException(isRam(pa, 1) ? pa + length - 1 : pa);
        }
    }

    /** Visits every page that holds a non-zero byte, lowest address first, with a copy of its words. */
    public void forEachNonZeroPage(BiConsumer<Long, long[]> visitor) {
        for (int r = 0; r < regions.length; r++) {
            long[][] table = pages[r];
            for (int i = 0; i < table.length; i++) {
                long[] page = (long[]) PAGE.getAcquire(table, i);
                if (page == null) {
                    continue;
                }
                long[] copy = new long[WORDS_PER_PAGE];
                boolean nonZero = false;
                for (int w = 0; w < WORDS_PER_PAGE; w++) {
                    copy[w] = (long) WORD.getAcquire(page, w);
                    nonZero |= copy[w] != 0;
                }
                if (nonZero) {
                    visitor.accept(bases[r] + ((long) i << PAGE_SHIFT), copy);
                }
            }
        }
    }
}
