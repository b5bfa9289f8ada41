package dev.iommukit.backend.vtd.driver;

import dev.iommukit.backend.vtd.arch.PasidTableEntry;
import dev.iommukit.spi.domain.BackendDomain;

/** A domain as the VT-d driver attaches it: the PASID-table entry that selects it. */
interface DriverDomain extends BackendDomain {
    /** The PASID-table entry to write, or {@link PasidTableEntry#NOT_PRESENT} for the blocked domain. */
    PasidTableEntry pasidEntry();

    /**
     * The entry whose DID and PGTT tag what hardware may cache for this domain (the invalidations
     * of a detach use them); the written entry unless the domain writes a not-present one.
     */
    default PasidTableEntry invalidationTags() {
        return pasidEntry();
    }

    /** Records that the domain now serves {@code rid} at hardware PASID {@code pasid}. */
    default void attached(int rid, int pasid) { }

    /** Records that it no longer does. */
    default void detached(int rid, int pasid) { }
}
