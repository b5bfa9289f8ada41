package dev.iommukit.spi.pgtable.vmsa;

/**
 * Bit layout of VMSAv8-64 translation-table descriptors (48-bit output address, no LPA2), as
 * static helpers that software encoders and hardware walkers share. Levels here are architectural
 * (0..3). Address fields are taken as bits [51:G]: a value above 2^48 is then an output beyond any
 * supported size, which a walker reports as an address-size fault.
 */
public final class VmsaDescriptors {
    /** bits[1:0] of a descriptor. */
    public static final long TYPE_MASK = 0b11;
    /** bits[1:0] = 0b01: block at levels 0..2. */
    public static final long TYPE_BLOCK = 0b01;
    /** bits[1:0] = 0b11: table at levels 0..2, page at level 3. */
    public static final long TYPE_TABLE_OR_PAGE = 0b11;

    /** Stage 1 AttrIndx, bits [4:2]. */
    public static final int S1_ATTRINDX_SHIFT = 2;
    /** Stage 1 AP[1] (bit 6): EL0 (unprivileged) access allowed. */
    public static final long S1_AP1_USER = 1L << 6;
    /** Stage 1 AP[2] (bit 7): read-only. */
    public static final long S1_AP2_RDONLY = 1L << 7;
    /** SH, bits [9:8] (both stages). */
    public static final int SH_SHIFT = 8;
    /** SH = 0b11 inner shareable. */
    public static final long SH_INNER = 3L << SH_SHIFT;
    /** AF, bit 10 (both stages). */
    public static final long AF = 1L << 10;
    /** Stage 1 nG, bit 11. */
    public static final long S1_NG = 1L << 11;
    /** DBM, bit 51. */
    public static final long DBM = 1L << 51;
    /** Contiguous hint, bit 52. */
    public static final long CONTIGUOUS = 1L << 52;
    /** Stage 1 PXN, bit 53. */
    public static final long S1_PXN = 1L << 53;
    /** Stage 1 UXN (XN), bit 54. */
    public static final long S1_UXN = 1L << 54;
    /** Stage 1 table descriptor PXNTable, bit 59. */
    public static final long S1_PXN_TABLE = 1L << 59;
    /** Stage 1 table descriptor UXNTable, bit 60. */
    public static final long S1_UXN_TABLE = 1L << 60;
    /** Stage 1 table descriptor APTable, bits [62:61]. */
    public static final int S1_AP_TABLE_SHIFT = 61;
    /** Stage 1 table descriptor NSTable, bit 63. */
    public static final long S1_NS_TABLE = 1L << 63;

    /** Stage 2 MemAttr, bits [5:2]. */
    public static final int S2_MEMATTR_SHIFT = 2;
    /** Stage 2 MemAttr for Normal, outer and inner write-back. */
    public static final int S2_MEMATTR_NORMAL_WB = 0xF;
    /** Stage 2 S2AP[0] (bit 6): read allowed. */
    public static final long S2_AP_READ = 1L << 6;
    /** Stage 2 S2AP[1] (bit 7): write allowed. */
    public static final long S2_AP_WRITE = 1L << 7;
    /** Stage 2 XN[0] (bit 53), meaningful only with IDR3.XNX. */
    public static final long S2_XN0 = 1L << 53;
    /** Stage 2 XN[1] (bit 54): execute never. */
    public static final long S2_XN1 = 1L << 54;

    private static final long ADDRESS_TOP_MASK = (1L << 52) - 1;

    private VmsaDescriptors() {}

    /** What a descriptor is at an architectural level. */
    public enum Type {
        /** bits[0] = 0: invalid, a translation fault. */
        INVALID,
        /** bits[1:0] = 01 where the granule allows a block. */
        BLOCK,
        /** bits[1:0] = 11 at levels 0..2. */
        TABLE,
        /** bits[1:0] = 11 at level 3. */
        PAGE,
        /** bits[1:0] = 01 at level 3 or where no block is allowed: treated as invalid (translation fault). */
        RESERVED
    }

    /** The type of {@code descriptor} at architectural {@code level} for {@code granule}. */
    public static Type type(long descriptor, int level, VmsaGranule granule) {
        if ((descriptor & 1) == 0) {
            return Type.INVALID;
        }
        if ((descriptor & TYPE_MASK) == TYPE_TABLE_OR_PAGE) {
            return level == 3 ? Type.PAGE : Type.TABLE;
        }
        return granule.blockAllowed(level) ? Type.BLOCK : Type.RESERVED;
    }

    /** The next-level table address of a table descriptor: bits [51:G]. */
    public static long tableAddress(long descriptor, VmsaGranule granule) {
        return descriptor & ADDRESS_TOP_MASK & -(1L << granule.shift());
    }

    /** The output address of a block or page at architectural {@code level}: bits [51:levelShift]. */
    public static long outputAddress(long descriptor, int level, VmsaGranule granule) {
        return descriptor & ADDRESS_TOP_MASK & -(1L << granule.levelShift(level));
    }

    /** The stage 1 AttrIndx field (MAIR byte index). */
    public static int attrIndx(long descriptor) {
        return (int) (descriptor >>> S1_ATTRINDX_SHIFT) & 7;
    }

    /** The AP[2:1] field of a stage 1 leaf as a two-bit value. */
    public static int ap(long descriptor) {
        return (int) (descriptor >>> 6) & 3;
    }

    /** The APTable field of a stage 1 table descriptor. */
    public static int apTable(long descriptor) {
        return (int) (descriptor >>> S1_AP_TABLE_SHIFT) & 3;
    }

    /** The SH field. */
    public static int sh(long descriptor) {
        return (int) (descriptor >>> SH_SHIFT) & 3;
    }

    /** The stage 2 MemAttr field. */
    public static int s2MemAttr(long descriptor) {
        return (int) (descriptor >>> S2_MEMATTR_SHIFT) & 0xF;
    }

    /** The stage 2 S2AP field (bit 0 read, bit 1 write). */
    public static int s2ap(long descriptor) {
        return (int) (descriptor >>> 6) & 3;
    }

    /** Whether the access flag is set. */
    public static boolean accessFlag(long descriptor) {
        return (descriptor & AF) != 0;
    }
}
