package dev.iommukit.spi.cap;

import dev.iommukit.spi.error.IommuException;
import java.util.ArrayList;
import java.util.List;

/** Page-size bitmaps (bit n set: 2^n bytes) and their text form {@code 4K,2M,1G}. */
public final class PageSizes {
    private PageSizes() {}

    /** {@code 4K,2M,1G}. */
    public static String format(long bitmap) {
        List<String> parts = new ArrayList<>();
        for (long b = bitmap; b != 0; b &= b - 1) {
            parts.add(formatSize(Long.lowestOneBit(b)));
        }
        return String.join(",", parts);
    }

    /** {@code 4K}, {@code 2M}, {@code 1G}, {@code 512M}, or plain bytes. */
    public static String formatSize(long size) {
        String[] units = {"", "K", "M", "G", "T", "P"};
        int u = 0;
        long v = size;
        while (u < units.length - 1 && v >= 1024 && v % 1024 == 0) {
            v /= 1024;
            u++;
        }
        return v + units[u];
    }

    /** Parses {@code 4K,2M,1G} into a bitmap. */
    public static long parse(String text) {
        long bitmap = 0;
        for (String part : text.split(",")) {
            bitmap |= parseSize(part.trim());
        }
        return bitmap;
    }

    /** Parses {@code 4K}, {@code 2M}, {@code 0x1000} or a decimal byte count. */
    public static long parseSize(String text) {
        String t = text.trim().toUpperCase(java.util.Locale.ROOT);
        try {
            if (t.startsWith("0X")) {
                return Long.parseUnsignedLong(t.substring(2), 16);
            }
            long mult = 1;
            char last = t.isEmpty() ? ' ' : t.charAt(t.length() - 1);
            int shift = "KMGTP".indexOf(last);
            if (shift >= 0) {
                mult = 1L << (10 * (shift + 1));
                t = t.substring(0, t.length() - 1);
            }
            return Math.multiplyExact(Long.parseLong(t), mult);
        } catch (NumberFormatException | ArithmeticException e) {
            throw IommuException.invalid("size", "must look like 4K, 2M, 1G, 0x1000 or 4096, was '" + text + "'");
        }
    }
}
