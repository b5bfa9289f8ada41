package dev.iommukit.cli.inspect;

import java.util.Collections;
import java.util.NavigableSet;
import java.util.TreeMap;

/**
 * Physical memory as a dump holds it: the listed 4 KiB pages; every other byte reads as zero.
 * Reads are little-endian, as the structures of both architectures are. Not thread-safe (it remembers the last
 * page read).
 */
public final class SparseMemory {
    public static final int PAGE_SIZE = 4096;

    private final TreeMap<Long, byte[]> pages;
    private long lastPage = -1;
    private byte[] lastData;

    /** {@code pages} maps page-aligned physical addresses to exactly 4096 bytes (copied by the caller's promise). */
    public SparseMemory(TreeMap<Long, byte[]> pages) {
        this.pages = pages;
    }

    /** The 64-bit little-endian value at {@code pa} (any alignment); unlisted bytes are zero. */
    public long read64(long pa) {
        if ((pa & 7) == 0) {
            byte[] page = page(pa & ~(PAGE_SIZE - 1L));
            if (page == null) {
                return 0;
            }
            int off = (int) (pa & (PAGE_SIZE - 1));
            long v = 0;
            for (int i = 7; i >= 0; i--) {
                v = v << 8 | (page[off + i] & 0xFFL);
            }
            return v;
        }
        long v = 0;
        for (int i = 7; i >= 0; i--) {
            v = v << 8 | (read8(pa + i) & 0xFFL);
        }
        return v;
    }

    /** The byte at {@code pa}. */
    public int read8(long pa) {
        byte[] page = page(pa & ~(PAGE_SIZE - 1L));
        return page == null ? 0 : page[(int) (pa & (PAGE_SIZE - 1))] & 0xFF;
    }

    /** Whether the page holding {@code pa} is listed (holds some non-zero byte). */
    public boolean isListed(long pa) {
        return page(pa & ~(PAGE_SIZE - 1L)) != null;
    }

    /** Listed page addresses in {@code [from, to)} (unsigned order is irrelevant: PAs stay below 2^56). */
    public NavigableSet<Long> listedPages(long from, long to) {
        if (Long.compareUnsigned(from, to) >= 0) {
            return Collections.emptyNavigableSet();
        }
        return pages.navigableKeySet().subSet(from & ~(PAGE_SIZE - 1L), true, to, false);
    }

    /** Number of listed pages. */
    public int pageCount() {
        return pages.size();
    }

    private byte[] page(long pageAddress) {
        if (pageAddress == lastPage) {
            return lastData;
        }
        byte[] data = pages.get(pageAddress);
        lastPage = pageAddress;
        lastData = data;
        return data;
    }
}
