package dev.iommukit.backend.vtd.arch;

/** A scalable-mode PASID directory entry (64 bits, digest §4): P, FPD, SMPTBLPTR. Index PASID[19:6]. */
public record PasidDirectoryEntry(boolean p, boolean fpd, long pasidTablePtr) {
    public static final int SIZE = 8;
    /** Reserved bits 11:2. */
    public static final long RESERVED = Bits.mask(11, 2);

    public long encode() {
        return Bits.flag(p, 0) | Bits.flag(fpd, 1) | (pasidTablePtr & Bits.mask(63, 12));
    }

    public static PasidDirectoryEntry decode(long v) {
        return new PasidDirectoryEntry(Bits.bit(v, 0), Bits.bit(v, 1), v & Bits.mask(63, 12));
    }

    /** Directory index of {@code pasid}: bits 19:6. */
    public static int index(int pasid) {
        return pasid >>> 6;
    }

    public static long address(long directory, int pasid) {
        return directory + (long) index(pasid) * SIZE;
    }
}
