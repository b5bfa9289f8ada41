package dev.iommukit.backend.vtd.arch;

/**
 * Invalidation-queue descriptors (digest §11), 256 bits each in a DW=1 queue (128-bit types
 * zero-padded). Encoders return the four qwords; the decode helpers read fields; {@link
 * #reservedBits} gives the bits that must be zero for each type.
 */
public final class InvalidationDescriptor {
    public static final int SIZE = 32;
    public static final int CC_INV = 1;
    public static final int IOTLB_INV = 2;
    public static final int DEV_TLB_INV = 3;
    public static final int IEC_INV = 4;
    public static final int INV_WAIT = 5;
    public static final int P_IOTLB_INV = 6;
    public static final int PC_INV = 7;
    public static final int P_DEV_TLB_INV = 8;
    public static final int PAGE_GRP_RESP = 9;

    /** cc_inv granularities (G, qw0 5:4). */
    public static final int CC_GLOBAL = 1;
    public static final int CC_DOMAIN = 2;
    public static final int CC_DEVICE = 3;
    /** iotlb_inv granularities. */
    public static final int IOTLB_GLOBAL = 1;
    public static final int IOTLB_DOMAIN = 2;
    public static final int IOTLB_PAGE = 3;
    /** p_iotlb_inv granularities. */
    public static final int P_IOTLB_PASID = 2;
    public static final int P_IOTLB_PAGE = 3;
    /** pc_inv granularities. */
    public static final int PC_DOMAIN = 0;
    public static final int PC_PASID = 1;
    public static final int PC_GLOBAL = 3;

    private InvalidationDescriptor() {}

    /** Descriptor type: qw0 bits 11:9 (type[6:4]) and 3:0 (type[3:0]). */
    public static int type(long qw0) {
        return (int) (Bits.get(qw0, 9, 3) << 4 | Bits.get(qw0, 0, 4));
    }

    public static int granularity(long qw0) {
        return (int) Bits.get(qw0, 4, 2);
    }

    public static int did(long qw0) {
        return (int) Bits.get(qw0, 16, 16);
    }

    /** cc_inv SID (qw0 47:32). */
    public static int sid(long qw0) {
        return (int) Bits.get(qw0, 32, 16);
    }

    /** cc_inv FM (qw0 49:48). */
    public static int functionMask(long qw0) {
        return (int) Bits.get(qw0, 48, 2);
    }

    /** p_iotlb_inv / pc_inv PASID (qw0 51:32). */
    public static int pasid(long qw0) {
        return (int) Bits.get(qw0, 32, 20);
    }

    /** iotlb / p_iotlb AM (qw1 5:0). */
    public static int addressMask(long qw1) {
        return (int) Bits.get(qw1, 0, 6);
    }

    /** iotlb / p_iotlb IH (qw1 6). */
    public static boolean invalidationHint(long qw1) {
        return Bits.bit(qw1, 6);
    }

    /** iotlb / p_iotlb ADDR (qw1 63:12). */
    public static long address(long qw1) {
        return qw1 & Bits.mask(63, 12);
    }

    /** inv_wait IF (qw0 4). */
    public static boolean waitInterruptFlag(long qw0) {
        return Bits.bit(qw0, 4);
    }

    /** inv_wait SW (qw0 5). */
    public static boolean waitStatusWrite(long qw0) {
        return Bits.bit(qw0, 5);
    }

    /** inv_wait FN (qw0 6). */
    public static boolean waitFence(long qw0) {
        return Bits.bit(qw0, 6);
    }

    /** inv_wait STDATA (qw0 63:32). */
    public static int statusData(long qw0) {
        return (int) (qw0 >>> 32);
    }

    /** inv_wait STADDR (qw1 63:2). */
    public static long statusAddress(long qw1) {
        return qw1 & Bits.mask(63, 2);
    }

    public static long[] contextCache(int granularity, int did, int sid, int fm) {
        return new long[] {CC_INV | Bits.put(granularity, 4, 2) | Bits.put(did, 16, 16) | Bits.put(sid, 32, 16) | Bits.put(fm, 48, 2), 0, 0, 0};
    }

    public static long[] iotlb(int granularity, int did, long address, int am, boolean ih) {
        return new long[] {IOTLB_INV | Bits.put(granularity, 4, 2) | Bits.put(did, 16, 16),
            (address & Bits.mask(63, 12)) | Bits.put(am, 0, 6) | Bits.flag(ih, 6), 0, 0};
    }

    public static long[] pasidIotlb(int granularity, int did, int pasid, long address, int am, boolean ih) {
        return new long[] {P_IOTLB_INV | Bits.put(granularity, 4, 2) | Bits.put(did, 16, 16) | Bits.put(pasid, 32, 20),
            (address & Bits.mask(63, 12)) | Bits.put(am, 0, 6) | Bits.flag(ih, 6), 0, 0};
    }

    public static long[] pasidCache(int granularity, int did, int pasid) {
        return new long[] {PC_INV | Bits.put(granularity, 4, 2) | Bits.put(did, 16, 16) | Bits.put(pasid, 32, 20), 0, 0, 0};
    }

    public static long[] invWait(boolean interruptFlag, boolean statusWrite, boolean fence, int statusData, long statusAddress) {
        return new long[] {INV_WAIT | Bits.flag(interruptFlag, 4) | Bits.flag(statusWrite, 5) | Bits.flag(fence, 6)
                | ((statusData & 0xFFFF_FFFFL) << 32), statusAddress & Bits.mask(63, 2), 0, 0};
    }

    /**
     * Reserved bits of a descriptor of {@code type} in the given qword (0..3), as a mask; type bits
     * 11:9 are left to the type check and inv_wait PD (bit 7) to the ECAP.PDS check. Types 3, 4
     * and 8 are checked only for their unused upper qwords; type 9 is not checked.
     */
    public static long reservedBits(int type, int qword) {
        return switch (type) {
            case CC_INV -> qword == 0 ? Bits.mask(8, 6) | Bits.mask(15, 12) | Bits.mask(63, 50) : -1L;
            case IOTLB_INV -> switch (qword) {
                case 0 -> Bits.mask(8, 8) | Bits.mask(15, 12) | Bits.mask(63, 32);
                case 1 -> Bits.mask(11, 7);
                default -> -1L;
            };
            case INV_WAIT -> switch (qword) {
                case 0 -> Bits.mask(8, 8) | Bits.mask(31, 12);
                case 1 -> Bits.mask(1, 0);
                default -> -1L;
            };
            case P_IOTLB_INV -> switch (qword) {
                case 0 -> Bits.mask(8, 6) | Bits.mask(15, 12) | Bits.mask(63, 52);
                case 1 -> Bits.mask(11, 7);
                default -> -1L;
            };
            case PC_INV -> qword == 0 ? Bits.mask(8, 6) | Bits.mask(15, 12) | Bits.mask(63, 52) : -1L;
            case DEV_TLB_INV, IEC_INV, P_DEV_TLB_INV -> qword <= 1 ? 0 : -1L;
            default -> 0;
        };
    }
}
