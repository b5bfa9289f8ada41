/**
 * The mdev core: mediated devices on aux domains, and VFIO-type1-style containers, built on the
 * vendor-neutral API alone.
 *
 * <p>An {@link dev.iommukit.mdev.MdevCore} is the mdev bus of one machine. Parents register with
 * their {@link dev.iommukit.mdev.MdevTypeSpec types}; an {@link dev.iommukit.mdev.Mdev} is created
 * by UUID and type and names its parent as its IOMMU device. A {@link dev.iommukit.mdev.Container}
 * belongs to a process: attaching an mdev gives it an aux domain on its parent and the PASID that
 * domain answers on, attaching a whole PCI device puts it in the container's paging domain for its
 * unit, and MAP_DMA / UNMAP_DMA pin the owner's pages and program every domain at once.
 *
 * <p>Rules that hold throughout:
 * <ul>
 *   <li>an mdev's DMA is its parent's DMA tagged with its PASID; without a PASID (not attached) it
 *       is refused before any request is issued, so it never reaches the parent's domain for
 *       requests without PASID;</li>
 *   <li>a detach withdraws the PASID and waits for the mdev's DMAs in flight before the aux domain
 *       goes, so a PASID handed to someone else later is never reached with the old owner's DMA
 *       (fault handlers of the parent must therefore not call container operations on the faulting
 *       thread);</li>
 *   <li>every refused call leaves no partial state: no domain, pin, mapping or PASID remains;</li>
 *   <li>a {@link dev.iommukit.mdev.ContainerType#TYPE1_NESTING} container allocates its domains
 *       as nesting parents; its guest PASIDs come from the machine's PASID space, count against
 *       the owner's quota across its containers, and every call that names one checks that this
 *       container allocated it; a guest binding belongs to the container that made it, not to a
 *       process;</li>
 *   <li>closing a container first unbinds every guest binding made through it and frees its guest
 *       PASIDs, then detaches everything, closes its domains, releases its PASIDs and unpins every
 *       page, also after its owner exited or its machine closed.</li>
 * </ul>
 * Control operations of one bus and its containers are serialised on one lock; DMA runs alongside.
 */
package dev.iommukit.mdev;
