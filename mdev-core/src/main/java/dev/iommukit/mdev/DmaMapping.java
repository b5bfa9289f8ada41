package dev.iommukit.mdev;

import dev.iommukit.spi.domain.Permissions;

/**
 * One MAP_DMA of a container: {@code [iova, iova + size)} maps the owner's pinned pages at
 * {@code [vaddr, vaddr + size)} with {@link Permissions} bits. UNMAP_DMA removes whole mappings only.
 */
public record DmaMapping(long iova, long size, long vaddr, int permissions) {
    /** The first IOVA after the mapping. */
    public long end() {
        return iova + size;
    }

    @Override
    public String toString() {
        return String.format("iova 0x%x+0x%x <- vaddr 0x%x %s", iova, size, vaddr, Permissions.toString(permissions));
    }
}
