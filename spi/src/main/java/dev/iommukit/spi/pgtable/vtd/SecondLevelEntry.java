package dev.iommukit.spi.pgtable.vtd;

/**
 * Bit layout of one VT-d second-level paging entry (digest §8): static decode helpers shared by
 * the software format and hardware walkers. An entry with R=W=0 is not present.
 */
public final class SecondLevelEntry {
    /** Bit 0: read. */
    public static final long R = 1L;
    /** Bit 1: write. */
    public static final long W = 1L << 1;
    /** Bit 2: execute (used only with PASID-entry SLEE). */
    public static final long X = 1L << 2;
    /** Bits 5:3: extended memory type of a leaf. */
    public static final long EMT_MASK = 7L << 3;
    /** Bit 6: ignore PAT. */
    public static final long IPAT = 1L << 6;
    /** Bit 7: page size in a PDE (2 MiB) or PDPE (1 GiB). */
    public static final long PS = 1L << 7;
    /** Bit 8: accessed (SLADE only). */
    public static final long A = 1L << 8;
    /** Bit 9: dirty (SLADE only). */
    public static final long D = 1L << 9;
    /** Bit 11: snoop (leaf; reserved unless ECAP.SC). */
    public static final long SNP = 1L << 11;
    /** Bit 62: transient mapping (reserved unless ECAP.DT). */
    public static final long TM = 1L << 62;
    /** Bits 51:12: address. */
    public static final long ADDRESS_MASK = 0x000F_FFFF_FFFF_F000L;

    private SecondLevelEntry() {}

    /** Present: R or W set. */
    public static boolean present(long e) {
        return (e & (R | W)) != 0;
    }

    public static boolean readable(long e) {
        return (e & R) != 0;
    }

    public static boolean writable(long e) {
        return (e & W) != 0;
    }

    public static boolean pageSize(long e) {
        return (e & PS) != 0;
    }

    /** Output or next-table address for a leaf of {@code 1 << pageShift} bytes (or table, shift 12). */
    public static long address(long e, int pageShift) {
        return e & ADDRESS_MASK & -(1L << pageShift);
    }

    /**
     * Reserved bits of a present entry for host address width {@code haw} (digest §8): bits
     * 51:haw; SNP when {@code snoopControl} is false (or in a non-leaf); TM when
     * {@code deviceTlb} is false; PS in a table whose level cannot hold large pages
     * ({@code psReserved}); and for a large leaf the address bits below its size (20:12, 29:12).
     * {@code leafShift} is 0 for a non-leaf entry.
     */
    public static long reservedMask(int haw, boolean psReserved, int leafShift, boolean snoopControl, boolean deviceTlb) {
        long mask = ADDRESS_MASK & ~((1L << haw) - 1);
        if (!snoopControl || leafShift == 0) {
            mask |= SNP;
        }
        if (!deviceTlb) {
            mask |= TM;
        }
        if (psReserved) {
            mask |= PS;
        }
        if (leafShift > 12) {
            mask |= ((1L << leafShift) - 1) & ~((1L << 12) - 1);
        }
        return mask;
    }
}
