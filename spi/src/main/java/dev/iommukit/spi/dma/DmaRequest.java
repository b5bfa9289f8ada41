package dev.iommukit.spi.dma;

import dev.iommukit.spi.device.Pasid;

/**
 * One untranslated DMA request as it reaches an IOMMU: requester id, PASID (or {@link Pasid#NONE}),
 * the input address, its size in bytes (within one 4 KiB page), read or write, execute and
 * privileged attributes. Values, reusable across calls.
 */
public record DmaRequest(int rid, int pasid, long address, int size, AccessType access, boolean execute, boolean privileged) {
    /** A plain unprivileged, non-execute request. */
    public static DmaRequest of(int rid, int pasid, long address, int size, AccessType access) {
        return new DmaRequest(rid, pasid, address, size, access, false, false);
    }

    public boolean hasPasid() {
        return pasid != Pasid.NONE;
    }

    public boolean isWrite() {
        return access == AccessType.WRITE;
    }
}
