/**
 * Nested translation: guest-owned stage-1 configurations typed by architecture (a VT-d guest first
 * level, an SMMUv3 guest CD table), the nested domain that puts one on a stage-2 parent, and the
 * typed, batched invalidations a guest asks for.
 */
package dev.iommukit.spi.nested;
