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
    SVA
}
