package dev.iommukit.spi.iopf;

/**
 * A PCIe page request group response as an IOMMU sends it back to a device: requester id, the
 * PASID of the request (or {@link dev.iommukit.spi.device.Pasid#NONE} when the response carries
 * none), the group index it answers, and the response code.
 */
public record PageResponseMessage(int rid, int pasid, int groupIndex, PageResponseCode code) {}
