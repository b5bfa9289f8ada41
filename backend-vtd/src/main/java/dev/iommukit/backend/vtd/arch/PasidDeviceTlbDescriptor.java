package dev.iommukit.backend.vtd.arch;

/**
 * The PASID-based device-TLB invalidation descriptor (p_dev_tlb_inv, type 8, digest §11):
 * qw0 type 3:0, MIP 8:4, PFSID[3:0] 15:12, SID 31:16, PASID 51:32, PFSID[15:4] 63:52; qw1 G 0,
 * S 11, ADDR 63:12. The range uses the PCIe ATS size encoding: S=0 is one 4 KiB page; with S=1
 * the lowest clear bit of ADDR[63:12], k bits above bit 12, makes the range 2^(k+1) pages.
 */
public final class PasidDeviceTlbDescriptor {
    /** S=1 with ADDR 63:12 all ones but bit 63: every address of the PASID. */
    public static final long WHOLE_RANGE = 0x7FFF_FFFF_FFFF_F000L;

    private PasidDeviceTlbDescriptor() {}

    /**
     * Invalidates {@code pages} (a power of two) 4 KiB pages from {@code address}, aligned to
     * that size, cached by device {@code sid} for {@code pasid}; MIP 0 and PFSID 0 (ECAP.DIT=0).
     */
    public static long[] range(int sid, int pasid, long address, long pages) {
        if (pages < 1 || Long.bitCount(pages) != 1 || (address & ((pages << 12) - 1)) != 0) {
            throw new IllegalArgumentException("p_dev_tlb range must be a naturally aligned power of two of 4 KiB pages");
        }
        int n = Long.numberOfTrailingZeros(pages);
        long qw1 = n == 0 ? address : address | ((1L << (n - 1)) - 1) << 12 | 1L << 11;
        return new long[] {qw0(sid, pasid), qw1, 0, 0};
    }

    /** Invalidates everything device {@code sid} caches for {@code pasid}. */
    public static long[] whole(int sid, int pasid) {
        return new long[] {qw0(sid, pasid), WHOLE_RANGE | 1L << 11, 0, 0};
    }

    private static long qw0(int sid, int pasid) {
        return InvalidationDescriptor.P_DEV_TLB_INV | Bits.put(sid, 16, 16) | Bits.put(pasid, 32, 20);
    }

    /** The SID field. */
    public static int sid(long qw0) {
        return (int) Bits.get(qw0, 16, 16);
    }

    /** Whether S (bit 11 of qw1) is set. */
    public static boolean sizeBit(long qw1) {
        return Bits.bit(qw1, 11);
    }
}
