package dev.iommukit.spi.domain;

import dev.iommukit.spi.error.IommuException;

/**
 * Access permissions of a mapping as a small bit set: {@link #READ}, {@link #WRITE},
 * {@link #EXECUTE}. Plain {@code int}s so that table code and walkers allocate nothing.
 */
public final class Permissions {
    public static final int NONE = 0;
    public static final int READ = 1;
    public static final int WRITE = 2;
    public static final int EXECUTE = 4;
    public static final int READ_WRITE = READ | WRITE;
    private static final int ALL = READ | WRITE | EXECUTE;

    private Permissions() {}

    /** Checks a permission set for a mapping: known bits only, and READ always (as the formats of every architecture can express). */
    public static int check(int permissions) {
        if ((permissions & ~ALL) != 0) {
            throw IommuException.invalid("permissions", "only READ, WRITE and EXECUTE bits are defined, was 0x" + Integer.toHexString(permissions));
        }
        if ((permissions & READ) == 0) {
            throw IommuException.invalid("permissions", "a mapping must allow READ (write-only and execute-only mappings are not"
                    + " expressible in every translation format), was " + toString(permissions));
        }
        return permissions;
    }

    /** Parses {@code "r"}, {@code "rw"}, {@code "rwx"}, {@code "w"} and the like. */
    public static int parse(String text) {
        int p = 0;
        for (char c : text.toLowerCase(java.util.Locale.ROOT).toCharArray()) {
            switch (c) {
                case 'r' -> p |= READ;
                case 'w' -> p |= WRITE;
                case 'x' -> p |= EXECUTE;
                case '-' -> { }
                default -> throw IommuException.invalid("permissions", "letters r, w, x only, was '" + text + "'");
            }
        }
        return p;
    }

    /** {@code "rw-"} style. */
    public static String toString(int permissions) {
        return ((permissions & READ) != 0 ? "r" : "-") + ((permissions & WRITE) != 0 ? "w" : "-") + ((permissions & EXECUTE) != 0 ? "x" : "-");
    }
}
