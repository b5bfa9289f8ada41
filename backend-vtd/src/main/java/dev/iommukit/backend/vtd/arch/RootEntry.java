package dev.iommukit.backend.vtd.arch;

/**
 * A scalable-mode root entry (128 bits, digest §2): LP, LCTP (devfn 0x00-0x7F), UP, UCTP (devfn
 * 0x80-0xFF). The root table holds 256 of them, indexed by bus.
 */
public record RootEntry(boolean lp, long lctp, boolean up, long uctp) {
    public static final int SIZE = 16;
    /** Reserved bits of either half's qword: 11:1. */
    public static final long RESERVED = Bits.mask(11, 1);
    public static final long POINTER_MASK = Bits.mask(63, 12);

    public long lower() {
        return Bits.flag(lp, 0) | (lctp & POINTER_MASK);
    }

    public long upper() {
        return Bits.flag(up, 0) | (uctp & POINTER_MASK);
    }

    public static RootEntry decode(long qw0, long qw1) {
        return new RootEntry(Bits.bit(qw0, 0), qw0 & POINTER_MASK, Bits.bit(qw1, 0), qw1 & POINTER_MASK);
    }

    /** Address of the root entry of {@code bus}. */
    public static long address(long rootTable, int bus) {
        return rootTable + (long) bus * SIZE;
    }

    /** Offset within the root entry of the qword for {@code devfn}: 0 (lower) or 8 (upper). */
    public static int halfOffset(int devfn) {
        return devfn < 0x80 ? 0 : 8;
    }

    /** Reserved bits set in a half's qword, for host address width {@code haw}. */
    public static long reservedBits(long half, int haw) {
        return half & (RESERVED | Bits.aboveWidth(haw));
    }
}
