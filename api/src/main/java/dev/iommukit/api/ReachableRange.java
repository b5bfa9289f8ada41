package dev.iommukit.api;

/**
 * What the core believes one requester can reach through one unit: either everything untranslated
 * ({@code identity}) or {@code [iova, iova + size)} to {@code pa} with the read and write
 * permissions of an unprivileged, non-execute request. {@code pasid} is
 * {@link dev.iommukit.spi.device.Pasid#NONE} for requests without PASID.
 */
public record ReachableRange(String unit, int rid, int pasid, boolean identity, long iova, long size, long pa,
                             boolean read, boolean write) {
    static ReachableRange identity(String unit, int rid, int pasid) {
        return new ReachableRange(unit, rid, pasid, true, 0, 0, 0, true, true);
    }
}
