package dev.iommukit.spi.dma;

/**
 * Where devices send DMA requests: the input of an IOMMU's hardware half. Safe to call from many
 * threads at once while the driver half changes structures, as on silicon.
 */
@FunctionalInterface
public interface DmaPort {
    /**
     * Translates one request and fills {@code out}. Never throws for anything a structure in
     * memory holds: hostile or broken structures give architectural faults.
     */
    void translate(DmaRequest request, TranslationOutcome out);
}
