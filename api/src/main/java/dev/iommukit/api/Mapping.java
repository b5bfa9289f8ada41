package dev.iommukit.api;

import dev.iommukit.spi.domain.Permissions;

/** One mapping of a paging domain as the core keeps it: {@code [iova, iova + size)} to {@code pa}. */
public record Mapping(long iova, long size, long pa, int permissions) {
    public long end() {
        return iova + size;
    }

    @Override
    public String toString() {
        return String.format("0x%x+0x%x -> 0x%x %s", iova, size, pa, Permissions.toString(permissions));
    }
}
