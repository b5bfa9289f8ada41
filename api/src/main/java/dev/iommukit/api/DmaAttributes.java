package dev.iommukit.api;

import dev.iommukit.spi.device.Pasid;

/**
 * The attributes a device puts on a DMA request besides address and direction: the PASID (or
 * {@link Pasid#NONE}), whether it is an instruction fetch, and whether it is privileged.
 */
public record DmaAttributes(int pasid, boolean execute, boolean privileged) {
    /** No PASID, data access, unprivileged. */
    public static final DmaAttributes DEFAULT = new DmaAttributes(Pasid.NONE, false, false);

    /** Tagged with {@code pasid}, data access, unprivileged. */
    public static DmaAttributes pasid(int pasid) {
        return new DmaAttributes(pasid, false, false);
    }

    public DmaAttributes withExecute() {
        return new DmaAttributes(pasid, true, privileged);
    }

    public DmaAttributes withPrivileged() {
        return new DmaAttributes(pasid, execute, true);
    }
}
