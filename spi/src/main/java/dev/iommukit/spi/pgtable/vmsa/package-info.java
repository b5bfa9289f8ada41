/**
 * Arm VMSAv8-64 translation-table formats (stage 1 and stage 2; 4K, 16K and 64K granules;
 * 48-bit output) for {@link dev.iommukit.spi.pgtable.PageTable}, with the descriptor decode
 * helpers a hardware walker shares with them.
 */
package dev.iommukit.spi.pgtable.vmsa;
