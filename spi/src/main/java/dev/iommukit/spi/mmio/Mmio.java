package dev.iommukit.spi.mmio;

/**
 * A register file reached by offset, as a CPU reaches MMIO. The only control channel from a
 * driver half to its hardware half; the other is physical memory.
 */
public interface Mmio {
    int read32(long offset);

    void write32(long offset, int value);

    /** A 64-bit access; the default splits it into two 32-bit accesses, low half first. */
    default long read64(long offset) {
        return (read32(offset) & 0xFFFF_FFFFL) | ((long) read32(offset + 4) << 32);
    }

    default void write64(long offset, long value) {
        write32(offset, (int) value);
        write32(offset + 4, (int) (value >>> 32));
    }
}
