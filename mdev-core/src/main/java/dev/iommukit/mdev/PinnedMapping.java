package dev.iommukit.mdev;

import dev.iommukit.api.PagingDomain;

/**
 * A DMA mapping of a container with the physical pages pinned for it, in order. Maps itself into
 * a domain as runs of physically contiguous pages, each run one map call.
 */
final class PinnedMapping {
    private static final long PAGE = 4096;
    private final DmaMapping mapping;
    private final long[] pages;

    PinnedMapping(DmaMapping mapping, long[] pages) {
        this.mapping = mapping;
        this.pages = pages;
    }

    DmaMapping mapping() {
        return mapping;
    }

    long[] pages() {
        return pages;
    }

    /** The IOVA of the last byte. */
    long last() {
        return mapping.iova() + mapping.size() - 1;
    }

    /** Maps every run into {@code domain}; all or nothing. */
    void mapInto(PagingDomain domain) {
        long done = 0;
        try {
            int i = 0;
            while (i < pages.length) {
                int j = i + 1;
                while (j < pages.length && pages[j] == pages[j - 1] + PAGE) {
                    j++;
                }
                long length = (j - i) * PAGE;
                domain.map(mapping.iova() + i * PAGE, pages[i], length, mapping.permissions());
                done += length;
                i = j;
            }
        } catch (RuntimeException e) {
            if (done > 0) {
                try {
                    domain.unmap(mapping.iova(), done);
                } catch (RuntimeException undo) {
                    e.addSuppressed(undo);
                }
            }
            throw e;
        }
    }

    void unmapFrom(PagingDomain domain) {
        domain.unmap(mapping.iova(), mapping.size());
    }
}
