package dev.iommukit.conformance.reference;

/** A deliberate bug the reference backend can carry, so the kit can prove it catches it. */
public enum Flaw {
    /** unmap changes the tables but never invalidates the TLB: stale translations. */
    STALE_TLB_ON_UNMAP,
    /** Advertises IDENTITY_DOMAIN and PASID_ATTACH but refuses to build or attach them. */
    OVER_ADVERTISES,
    /** A freed domain keeps its table page: a leak. */
    LEAKS_TABLE_PAGES,
    /** Read-only mappings are installed writable. */
    IGNORES_READ_ONLY,
    /** A tagged request whose PASID has nothing attached is translated by the untagged domain: an isolation hole. */
    PASID_FALLS_BACK_TO_UNTAGGED,
    /** A map that runs out of table memory keeps the pages it mapped before: not all-or-nothing. */
    PARTIAL_MAP_ON_EXHAUSTION,
    /**
     * A tagged request whose PASID has a domain attached is translated by the domain attached
     * without PASID whenever the device has one, as if the PASID table were never consulted: an
     * aux domain answers on its parent's RID domain.
     */
    PASID_IGNORED_WITH_RID_DOMAIN,
    /** Detaching at a PASID leaves the old entry live: the PASID keeps translating through the old domain. */
    DETACHED_PASID_STAYS_LIVE,
    /** An SVA domain's invalidate() does nothing: DMA keeps reaching pages the process unmapped. */
    SVA_STALE_AFTER_MUNMAP,
    /** After quiesce() an SVA domain still faults, but reports every fault: an exited process is not quiet. */
    SVA_EXIT_FAULTS_REPORTED,
    /** Devices without PASID support advertise SVA too: an over-advertised capability no bind can use. */
    SVA_WITHOUT_PASIDS,
    /** An ATS translation request that finds no access is recorded as a fault too: the device's fault handler hears of every page request. */
    ATS_NO_ACCESS_REPORTED,
    /** Advertises NESTING of a VT-d guest first level and GUEST_PASID_BIND, but allocates no nested domain: an over-advertised bind. */
    NESTING_OVER_ADVERTISED
}
