/**
 * A guest model for nested translation: a virtual machine whose RAM is a VMM process's memory,
 * mapped with MAP_DMA into a {@link dev.iommukit.mdev.Container} at IOVA = guest-physical address,
 * so that the container's domains are the guest's stage 2.
 *
 * <p>The guest writes its own structures into its RAM, as a guest kernel would: page tables
 * ({@link dev.iommukit.guest.GuestPageTable}: x86-64 4- and 5-level paging for VT-d guests,
 * VMSAv8-64 stage 1 with a 4 KiB granule for SMMUv3 guests) and, on SMMUv3, its context-descriptor
 * table ({@link dev.iommukit.guest.GuestContextTable}, encoded here from the architecture, not
 * borrowed from a backend). Every address in those structures is guest-physical. Nothing the guest
 * writes reaches the IOMMU's caches before the guest asks for an invalidation through its
 * container ({@link dev.iommukit.mdev.Container#invalidateGuestCaches}).
 */
package dev.iommukit.guest;
