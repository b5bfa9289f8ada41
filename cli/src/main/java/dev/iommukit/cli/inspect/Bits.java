package dev.iommukit.cli.inspect;

/** Bit-field extraction as the spec sheets write fields: {@code [hi:lo]}, inclusive. */
final class Bits {
    private Bits() {}

    /** Bits {@code hi..lo} of {@code value}, shifted down. */
    static long field(long value, int hi, int lo) {
        int width = hi - lo + 1;
        long v = value >>> lo;
        return width >= 64 ? v : v & ((1L << width) - 1);
    }

    /** Bit {@code n} of {@code value}. */
    static boolean bit(long value, int n) {
        return (value >>> n & 1) != 0;
    }

    /** {@code value} with only bits {@code hi..lo} kept, in place (an address field). */
    static long address(long value, int hi, int lo) {
        return field(value, hi, lo) << lo;
    }

    /** Bit {@code n} as 0 or 1, for printing. */
    static int b(long value, int n) {
        return (int) (value >>> n & 1);
    }

    /** {@code 0b101} with {@code width} digits. */
    static String binary(long v, int width) {
        StringBuilder s = new StringBuilder(Long.toBinaryString(v));
        while (s.length() < width) {
            s.insert(0, '0');
        }
        return "0b" + s;
    }
}
