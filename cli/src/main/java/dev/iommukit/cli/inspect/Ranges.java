package dev.iommukit.cli.inspect;

import java.util.ArrayList;
import java.util.List;

/** Range helpers: coalescing and hexadecimal formatting. */
final class Ranges {
    private Ranges() {}

    /** Sorted by input address (unsigned), contiguous ranges with equal permissions merged. */
    static List<Mapping> coalesce(List<Mapping> ranges) {
        List<Mapping> sorted = new ArrayList<>(ranges);
        sorted.sort((a, b) -> Long.compareUnsigned(a.iova(), b.iova()));
        List<Mapping> out = new ArrayList<>();
        for (Mapping m : sorted) {
            if (!out.isEmpty() && out.get(out.size() - 1).continuedBy(m)) {
                out.set(out.size() - 1, out.get(out.size() - 1).merge(m));
            } else {
                out.add(m);
            }
        }
        return out;
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }

    /** A size such as 4K, 2M, 1G, 512M, 64K, or hexadecimal when not a round binary size. */
    static String size(long bytes) {
        String[] units = {"", "K", "M", "G", "T", "P"};
        long v = bytes;
        int u = 0;
        while (u < units.length - 1 && v >= 1024 && (v & 1023) == 0) {
            v >>>= 10;
            u++;
        }
        return u == 0 ? hex(bytes) : v + units[u];
    }
}
