package dev.iommukit.spi.dma;

/** Whether a DMA request reads or writes memory. */
public enum AccessType {
    READ,
    WRITE
}
