package dev.iommukit.spi.iopf;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.fault.VendorFaultRecord;

/**
 * A page request as a driver half read it from its unit's queue: the request's fields decoded,
 * plus the architecture's record (SMMUv3 PRI queue entry, VT-d page request descriptor) with its
 * raw words. The driver answers it through {@link dev.iommukit.spi.IommuUnit#respondPageRequest}.
 */
public record PageRequest(RequesterId requester, int pasid, long pageAddress, boolean read, boolean write,
                          boolean execute, boolean privileged, int groupIndex, boolean last,
                          VendorFaultRecord record) {
    public boolean hasPasid() {
        return pasid != Pasid.NONE;
    }

    @Override
    public String toString() {
        return "page request " + (read ? "R" : "") + (write ? "W" : "") + (execute ? "X" : "") + (privileged ? "P" : "")
                + " 0x" + Long.toHexString(pageAddress) + " from " + requester + (hasPasid() ? " pasid " + pasid : "")
                + " group " + groupIndex + (last ? " (last)" : "");
    }
}
