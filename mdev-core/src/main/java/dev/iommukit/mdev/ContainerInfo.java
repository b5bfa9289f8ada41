package dev.iommukit.mdev;

import java.util.List;

/**
 * What a container offers now, as VFIO_IOMMU_GET_INFO reports it: the page sizes every domain of
 * the container maps (bit n: 2^n bytes), the IOVA ranges every domain accepts, and whether every
 * device in it (PCI devices, and the parents of mdevs) can issue PASID-tagged requests, with the
 * PASID width they all share. Taking it changes nothing.
 */
public record ContainerInfo(long pageSizes, List<IovaRange> iovaRanges, boolean pasidSupport, int pasidBits) {
    public ContainerInfo {
        iovaRanges = List.copyOf(iovaRanges);
    }
}
