package dev.iommukit.cli.inspect;

import java.util.Set;
import java.util.TreeSet;

/**
 * A contiguous input range a requester reaches: {@code size} bytes from {@code iova} land at {@code pa}, with the
 * read and write permission of an unprivileged non-execute request. {@code leaves} names the leaf sizes the range
 * was built from ("4K pages", "2M blocks").
 */
public record Mapping(long iova, long size, long pa, boolean read, boolean write, Set<String> leaves) {

    public Mapping {
        leaves = Set.copyOf(leaves);
    }

    /** A mapping built from one leaf kind. */
    public static Mapping of(long iova, long size, long pa, boolean read, boolean write, String leaf) {
        return new Mapping(iova, size, pa, read, write, leaf == null ? Set.of() : LEAF_SETS.computeIfAbsent(leaf, Set::of));
    }

    private static final java.util.Map<String, Set<String>> LEAF_SETS = new java.util.concurrent.ConcurrentHashMap<>();

    /** Last input address, inclusive. */
    public long lastIova() {
        return iova + size - 1;
    }

    /** Whether {@code next} continues this range: adjacent input and output, same permissions. */
    public boolean continuedBy(Mapping next) {
        return read == next.read && write == next.write && iova + size == next.iova && pa + size == next.pa
                && iova + size != 0;
    }

    /** This range extended by {@code next}. */
    public Mapping merge(Mapping next) {
        if (leaves.containsAll(next.leaves)) {
            return new Mapping(iova, size + next.size, pa, read, write, leaves);
        }
        Set<String> all = new TreeSet<>(leaves);
        all.addAll(next.leaves);
        return new Mapping(iova, size + next.size, pa, read, write, all);
    }

    /** {@code rw}, {@code r-}, {@code -w}. */
    public String permissions() {
        return (read ? "r" : "-") + (write ? "w" : "-");
    }

    /** {@code 0x100000-0x2fffff -> 0x80000000 rw 2M blocks}. */
    @Override
    public String toString() {
        return String.format("0x%x-0x%x -> 0x%x %s%s", iova, lastIova(), pa, permissions(),
                leaves.isEmpty() ? "" : " " + String.join(" + ", new TreeSet<>(leaves)));
    }
}
