package dev.iommukit.backend.vtd.arch;

/** Bit-field helpers for the codecs: fields are given by their lowest bit and width. */
public final class Bits {
    private Bits() {}

    /** The field of {@code width} bits at {@code lsb} of {@code word}. */
    public static long get(long word, int lsb, int width) {
        return width == 64 ? word : (word >>> lsb) & ((1L << width) - 1);
    }

    /** {@code value} placed at {@code lsb}; throws when it does not fit {@code width} bits. */
    public static long put(long value, int lsb, int width) {
        if (width < 64 && (value & ~((1L << width) - 1)) != 0) {
            throw new IllegalArgumentException("value 0x" + Long.toHexString(value) + " does not fit " + width + " bits at " + lsb);
        }
        return value << lsb;
    }

    public static boolean bit(long word, int bit) {
        return (word >>> bit & 1) != 0;
    }

    public static long flag(boolean set, int bit) {
        return set ? 1L << bit : 0;
    }

    /** Mask of bits {@code hi:lo} inclusive. */
    public static long mask(int hi, int lo) {
        long upper = hi == 63 ? -1L : (1L << (hi + 1)) - 1;
        return upper & -(1L << lo);
    }

    /** Mask of address bits 63:haw (the bits above a host address width). */
    public static long aboveWidth(int haw) {
        return haw >= 64 ? 0 : -(1L << haw);
    }
}
