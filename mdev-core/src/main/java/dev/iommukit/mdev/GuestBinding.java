package dev.iommukit.mdev;

import dev.iommukit.api.Device;
import dev.iommukit.api.NestedDomain;
import dev.iommukit.spi.device.Pasid;
import java.util.Optional;

/**
 * One guest stage 1 installed through a container: a guest PASID bound on a whole PCI device or on
 * an mdev (VT-d: {@code pasid} is the guest PASID, attached at {@code device}, the mdev's parent
 * for an mdev), or a guest PASID table attached to a whole device ({@code pasid} is
 * {@link Pasid#NONE}). {@code domain} is the nested domain whose parent is the container's stage 2.
 */
public record GuestBinding(Device device, Optional<Mdev> mdev, int pasid, NestedDomain domain) {
    /** Whether this is a PASID-table bind (SMMUv3) rather than a guest PASID bind. */
    public boolean isPasidTable() {
        return pasid == Pasid.NONE;
    }

    @Override
    public String toString() {
        String target = mdev.map(Mdev::toString).orElse(device.name());
        return isPasidTable() ? "PASID table of " + target + " (" + domain + ")" : "guest PASID " + pasid + " on " + target + " (" + domain + ")";
    }
}
