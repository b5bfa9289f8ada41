package dev.iommukit.spi.domain;

/** The kinds of domain a device or PASID can be attached to. */
public enum DomainType {
    /** Every request faults. */
    BLOCKED,
    /** Requests pass through untranslated. */
    IDENTITY,
    /** Requests are translated through tables the domain's map and unmap program. */
    PAGING,
    /** Requests are translated through a process's CPU page tables, which the process owns. */
    SVA,
    /** A guest's stage-1 structures on top of a nesting-parent paging domain as stage 2. */
    NESTED
}
