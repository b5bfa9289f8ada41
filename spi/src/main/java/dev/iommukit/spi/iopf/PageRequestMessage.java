package dev.iommukit.spi.iopf;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.error.IommuException;

/**
 * A PCIe page request message as a device sends it to its IOMMU: requester id, PASID (or
 * {@link Pasid#NONE}) with its execute and privileged bits, the page address (4 KiB aligned), the
 * read and write access asked for, the page request group index (9 bits) and whether this is the
 * last request of its group (the one that expects a response).
 */
public record PageRequestMessage(int rid, int pasid, long pageAddress, boolean read, boolean write, boolean execute,
                                 boolean privileged, int groupIndex, boolean last) {
    /** Largest page request group index: the field is 9 bits wide. */
    public static final int MAX_GROUP_INDEX = 0x1FF;

    public PageRequestMessage {
        if ((pageAddress & 0xFFF) != 0) {
            throw IommuException.invalid("pageAddress", "0x" + Long.toHexString(pageAddress) + " is not 4 KiB aligned");
        }
        if (groupIndex < 0 || groupIndex > MAX_GROUP_INDEX) {
            throw IommuException.invalid("groupIndex", groupIndex + " is outside the 9-bit field");
        }
    }

    public boolean hasPasid() {
        return pasid != Pasid.NONE;
    }
}
