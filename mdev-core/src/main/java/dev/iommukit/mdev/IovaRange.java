package dev.iommukit.mdev;

/**
 * A range of IOVAs {@code [start, end]} a container can map; {@code end} is inclusive and both
 * bounds compare as unsigned 64-bit numbers (an end of {@code -1} is {@code 2^64 - 1}).
 */
public record IovaRange(long start, long end) {
    /** Whether {@code [iova, iova + size)} lies inside this range (unsigned comparison). */
    public boolean contains(long iova, long size) {
        long last = iova + size - 1;
        return size > 0 && Long.compareUnsigned(last, iova) >= 0 && Long.compareUnsigned(iova, start) >= 0
                && Long.compareUnsigned(last, end) <= 0;
    }

    @Override
    public String toString() {
        return String.format("0x%x..0x%x", start, end);
    }
}
