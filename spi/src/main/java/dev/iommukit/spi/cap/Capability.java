package dev.iommukit.spi.cap;

/**
 * What a backend or device can do. Every advertised capability must work; every unadvertised
 * one is refused by the core with {@link dev.iommukit.spi.error.NotSupportedException} before
 * any state changes.
 */
public enum Capability {
    /** Blocked domains. */
    BLOCKED_DOMAIN,
    /** Identity (pass-through) domains. Parameters: {@code mechanism}, {@code atPasid}. */
    IDENTITY_DOMAIN,
    /** Paging domains. Parameters: {@code pageSizes}, {@code inputBits}, {@code outputBits}, {@code level}. */
    PAGING_DOMAIN,
    /** Paging domains usable as the stage 2 of nested translation. Parameters as {@link #PAGING_DOMAIN}. */
    NESTING_PARENT_DOMAIN,
    /** Attaching a domain at a PASID. Parameters: {@code pasidBits}. */
    PASID_ATTACH,
    /**
     * Aux domains: PASID-granular paging domains attached to a parent device, the core choosing
     * the PASID. Parameters: {@code level} ({@code first} or {@code second}), {@code pasidBits}.
     */
    AUX_DOMAIN,
    /**
     * Shared virtual addressing: a PASID translated by a process's own CPU page tables.
     * Parameters: {@code cpuFormat} ({@code aarch64} or {@code x86-64}), {@code addressBits},
     * {@code pasidBits}.
     */
    SVA,
    /**
     * I/O page faults: a device with ATS and PRI enabled asks for a missing page with a page
     * request, which the unit queues in its architectural format (SMMUv3 PRI queue, VT-d page
     * request queue) and answers with a page response. Parameters: {@code queue} ({@code priq}
     * or {@code prq}), {@code queueEntries}.
     */
    PAGE_REQUEST,
    /**
     * Nested domains: a stage-1 configuration owned by a guest on top of a nesting-parent paging
     * domain as stage 2. Parameters: {@code stage1} ({@code vtd-first-level} or
     * {@code smmuv3-cd-table}), {@code stage1Formats}.
     */
    NESTING,
    /**
     * Guest PASID bind: a nested domain whose stage 1 is a guest first-level table (guest CR3),
     * attached at a PASID. Parameters: {@code addressWidths} (such as {@code 48}),
     * {@code flags} (the guest PASID flags honoured), {@code pasidBits}.
     */
    GUEST_PASID_BIND,
    /**
     * Guest PASID-table bind: a nested domain whose stage 1 is a guest context-descriptor table,
     * attached to a whole device without PASID. Parameters: {@code formats}, {@code cdMaxBits}.
     */
    PASID_TABLE_BIND
}
