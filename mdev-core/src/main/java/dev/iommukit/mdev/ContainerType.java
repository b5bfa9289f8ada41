package dev.iommukit.mdev;

/**
 * The IOMMU model a container offers, as VFIO names them. Chosen when the container is opened and
 * fixed for its life.
 */
public enum ContainerType {
    /**
     * VFIO_TYPE1v2_IOMMU: MAP_DMA and UNMAP_DMA into ordinary paging domains. Guest PASIDs, guest
     * PASID binds and PASID-table binds are refused.
     */
    TYPE1,
    /**
     * VFIO_TYPE1_NESTING_IOMMU: the container's unit domains and mdev aux domains are allocated as
     * nesting parents, so they serve as the stage 2 of a guest's own stage 1 (a VT-d guest PASID
     * bind, an SMMUv3 PASID-table bind). MAP_DMA and UNMAP_DMA program that stage 2.
     */
    TYPE1_NESTING
}
