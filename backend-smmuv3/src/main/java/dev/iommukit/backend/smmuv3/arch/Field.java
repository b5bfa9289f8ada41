package dev.iommukit.backend.smmuv3.arch;

/**
 * One architectural bit field {@code [hi:lo]} of dword {@code dword} of a structure (dword 0 for a
 * register). Pure arithmetic: {@link #get} extracts, {@link #set} replaces, {@link #of} places.
 */
public record Field(String name, int dword, int hi, int lo) {
    public Field {
        if (lo < 0 || hi < lo || hi > 63 || dword < 0) {
            throw new IllegalArgumentException(name + ": bad bit range [" + hi + ":" + lo + "]");
        }
    }

    /** A field of a register or of dword 0. */
    public static Field of(String name, int hi, int lo) {
        return new Field(name, 0, hi, lo);
    }

    /** A one-bit field. */
    public static Field bit(String name, int bit) {
        return new Field(name, 0, bit, bit);
    }

    /** A field of dword {@code dword}. */
    public static Field of(String name, int dword, int hi, int lo) {
        return new Field(name, dword, hi, lo);
    }

    public int width() {
        return hi - lo + 1;
    }

    /** The field's bits in place, as a mask of its dword. */
    public long mask() {
        return (width() == 64 ? -1L : (1L << width()) - 1) << lo;
    }

    /** The field's value in {@code word}. */
    public long get(long word) {
        return (word & mask()) >>> lo;
    }

    /** The field's value in the dword it lives in. */
    public long get(long[] words) {
        return get(words[dword]);
    }

    /** Whether a one-bit field is set. */
    public boolean isSet(long word) {
        return get(word) != 0;
    }

    /** {@code value} placed in the field; bits beyond the field's width are rejected. */
    public long of(long value) {
        long max = width() == 64 ? -1L : (1L << width()) - 1;
        if ((value & ~max) != 0) {
            throw new IllegalArgumentException(name + ": 0x" + Long.toHexString(value) + " does not fit " + width() + " bits");
        }
        return value << lo;
    }

    /** {@code word} with the field replaced by {@code value}. */
    public long set(long word, long value) {
        return (word & ~mask()) | of(value);
    }

    /** Replaces the field in the dword it lives in. */
    public void set(long[] words, long value) {
        words[dword] = set(words[dword], value);
    }
}
