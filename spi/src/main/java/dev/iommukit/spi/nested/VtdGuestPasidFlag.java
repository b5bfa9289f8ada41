package dev.iommukit.spi.nested;

/**
 * Flags of a VT-d guest PASID bind, as the guest asks for them (Linux uAPI
 * {@code IOMMU_SVA_VTD_GPASID_*}); each lands in the nested PASID entry field it names.
 */
public enum VtdGuestPasidFlag {
    /** Supervisor requests enable (PASID entry SRE, bit 128). */
    SRE,
    /** Extended-accessed flag enable (EAFE, bit 135). */
    EAFE,
    /** Page-level cache disable for first-level table accesses (PCD, bit 95). */
    PCD,
    /** Page-level write-through for first-level table accesses (PWT, bit 94). */
    PWT,
    /** Write-protect enable for supervisor requests (WPE, bit 132). */
    WPE
}
