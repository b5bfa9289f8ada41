/**
 * The SMMUv3 driver half, shaped like Linux's arm-smmu-v3: initialisation through registers,
 * abort STEs for every unused StreamID, tear-free STE and CD updates each followed by CFGI and
 * CMD_SYNC, stage 1 domains with their own ASID and stage 2 (nesting parent) domains with their
 * own VMID, TLB invalidation and sync on unmap, and the event queue drained on its interrupt.
 *
 * <p>Page requests: the PRI queue is programmed and enabled after the event queue (Linux order),
 * drained on its interrupt and on {@code drainPageRequests}; enabling page requests for a device
 * sets STE.EATS=0b01 and PPAR=1 and invalidates its ATC; after each TLB invalidation the ATCs of
 * ATS-enabled devices reaching the domain get CMD_ATC_INV + CMD_SYNC. Deviation from Linux:
 * CR2.REC_CFG_ATS is set, so configuration errors of ATS translation requests are recorded as the
 * SPI asks; Linux answers every PRI request with a denial, this driver reports them to the core.
 *
 * <p>SVA domains share a process's AArch64 tables through a CD's TTB0. Deviation from Linux: the
 * CD uses an SMMU-private ASID (ASET=1) allocated by this driver, not the CPU's ASID with ASET=0,
 * because broadcast TLB maintenance (IDR0.BTM) is not modelled; the process's changes reach the
 * SMMU only through {@code SvaDomain.invalidate} (TLBI_NH_VA / TLBI_NH_ASID + CMD_SYNC).
 *
 * <p>Guest PASID-table bind ({@link dev.iommukit.backend.smmuv3.driver.NestedCdTableDomain}): the
 * STE becomes Config=111 with S1ContextPtr, S1Fmt, S1CDMax and S1DSS from the guest and every
 * other field from the host, as Linux's iommufd nesting builds it (stage 2 STE of the parent,
 * MEV=1). Replacing stage 2 by nested and back changes one critical dword (hitless, MEV treated as
 * update-safe); entering, leaving or changing a nested STE also issues TLBI_NH_ALL of the VMID.
 * The guest's typed invalidations become CFGI_CD / CFGI_CD_ALL / CMD_ATC_INV with the host's
 * StreamIDs and TLBI_NH_* with the parent's VMID; an IOTLB invalidation by PASID without ASID has
 * no SMMUv3 form (the TLB is ASID-tagged) and stops the batch.
 */
package dev.iommukit.backend.smmuv3.driver;
