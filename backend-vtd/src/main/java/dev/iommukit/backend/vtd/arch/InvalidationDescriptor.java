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
    /** page_grp_resp response codes (RC, qw0 15:12). */
    public static final int RC_SUCCESS = 0x0;
    public static final int RC_INVALID_REQUEST = 0x1;
    public static final int RC_RESPONSE_FAILURE = 0xF;
    /**
     * A dev_tlb / p_dev_tlb ADDR with S=1 that covers the whole address space: ADDR[63:12] all ones
     * but bit 63 (the lowest clear bit gives the size, digest §11 field semantics).
     */
    public static final long DEVICE_TLB_WHOLE_RANGE = Bits.mask(62, 12);

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

    /** inv_wait PD (qw0 7): page request drain. */
    public static boolean waitPageRequestDrain(long qw0) {
        return Bits.bit(qw0, 7);
    }

    /** inv_wait STDATA (qw0 63:32). */
    public static int statusData(long qw0) {
        return (int) (qw0 >>> 32);
    }

    /** inv_wait STADDR (qw1 63:2). */
    public static long statusAddress(long qw1) {
        return qw1 & Bits.mask(63, 2);
    }

    /** dev_tlb_inv / p_dev_tlb_inv MIP (qw0 20:16 for type 3, 8:4 for type 8). */
    public static int maxInvalidationsPending(long qw0) {
        return (int) (type(qw0) == DEV_TLB_INV ? Bits.get(qw0, 16, 5) : Bits.get(qw0, 4, 5));
    }

    /** dev_tlb_inv / p_dev_tlb_inv PFSID: bits 3:0 at qw0 15:12, bits 15:4 at qw0 63:52. */
    public static int physicalFunctionSid(long qw0) {
        return (int) (Bits.get(qw0, 12, 4) | Bits.get(qw0, 52, 12) << 4);
    }

    /** dev_tlb_inv SID (qw0 47:32) or p_dev_tlb_inv SID (qw0 31:16). */
    public static int deviceTlbSid(long qw0) {
        return (int) (type(qw0) == DEV_TLB_INV ? Bits.get(qw0, 32, 16) : Bits.get(qw0, 16, 16));
    }

    /** dev_tlb_inv S (qw1 0) or p_dev_tlb_inv S (qw1 11): ADDR encodes the size. */
    public static boolean deviceTlbSize(long qw0, long qw1) {
        return type(qw0) == DEV_TLB_INV ? Bits.bit(qw1, 0) : Bits.bit(qw1, 11);
    }

    /** p_dev_tlb_inv G (qw1 0): all PASIDs of the device. */
    public static boolean deviceTlbGlobal(long qw1) {
        return Bits.bit(qw1, 0);
    }

    /**
     * The dev_tlb / p_dev_tlb ADDR for 2^{@code am} pages at {@code address} (aligned to that
     * size): with S=1 (am &gt; 0) the bits below the size's top bit are ones, as the ATS range
     * encoding asks; S=0 (am = 0) names the one page.
     */
    public static long deviceTlbAddress(long address, int am) {
        long a = address & Bits.mask(63, 12);
        return am == 0 ? a : (a | ((1L << (12 + am - 1)) - 1)) & Bits.mask(63, 12);
    }

    /** page_grp_resp PP (qw0 4). */
    public static boolean responsePasidPresent(long qw0) {
        return Bits.bit(qw0, 4);
    }

    /** page_grp_resp PDP (qw0 5). */
    public static boolean responsePrivateDataPresent(long qw0) {
        return Bits.bit(qw0, 5);
    }

    /** page_grp_resp RC (qw0 15:12). */
    public static int responseCode(long qw0) {
        return (int) Bits.get(qw0, 12, 4);
    }

    /** page_grp_resp RID (qw0 31:16). */
    public static int responseRid(long qw0) {
        return (int) Bits.get(qw0, 16, 16);
    }

    /** page_grp_resp LPIG (qw1 2). */
    public static boolean responseLastPage(long qw1) {
        return Bits.bit(qw1, 2);
    }

    /** page_grp_resp PRGI (qw1 11:3). */
    public static int responseGroupIndex(long qw1) {
        return (int) Bits.get(qw1, 3, 9);
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
        return invWait(interruptFlag, statusWrite, fence, false, statusData, statusAddress);
    }

    /** inv_wait with PD (page request drain, needs ECAP.PDS) as well. */
    public static long[] invWait(boolean interruptFlag, boolean statusWrite, boolean fence, boolean pageRequestDrain, int statusData,
                                 long statusAddress) {
        return new long[] {INV_WAIT | Bits.flag(interruptFlag, 4) | Bits.flag(statusWrite, 5) | Bits.flag(fence, 6)
                | Bits.flag(pageRequestDrain, 7) | ((statusData & 0xFFFF_FFFFL) << 32), statusAddress & Bits.mask(63, 2), 0, 0};
    }

    /**
     * dev_tlb_inv (type 3, requests without PASID): PFSID, MIP (0 means 32), SID; S with ADDR
     * giving the range (S=0: the one page at {@code address}).
     */
    public static long[] deviceTlb(int sid, int pfsid, int mip, long address, boolean size) {
        return new long[] {DEV_TLB_INV | Bits.put(pfsid & 0xF, 12, 4) | Bits.put(mip, 16, 5) | Bits.put(sid, 32, 16)
                | Bits.put(pfsid >>> 4 & 0xFFF, 52, 12), (address & Bits.mask(63, 12)) | Bits.flag(size, 0), 0, 0};
    }

    /** p_dev_tlb_inv (type 8): MIP, PFSID, SID, PASID; G (all PASIDs), S and ADDR. */
    public static long[] pasidDeviceTlb(int sid, int pfsid, int pasid, int mip, boolean global, long address, boolean size) {
        return new long[] {P_DEV_TLB_INV | Bits.put(mip, 4, 5) | Bits.put(pfsid & 0xF, 12, 4) | Bits.put(sid, 16, 16)
                | Bits.put(pasid, 32, 20) | Bits.put(pfsid >>> 4 & 0xFFF, 52, 12),
            (address & Bits.mask(63, 12)) | Bits.flag(size, 11) | Bits.flag(global, 0), 0, 0};
    }

    /**
     * page_grp_resp (type 9): PP, RC, RID, PASID (when PP), LPIG, PRGI; qwords 2-3 carry the
     * request's private data when PDP=1 (never, for requests this model queues).
     */
    public static long[] pageGroupResponse(int rid, boolean pasidPresent, int pasid, int responseCode, boolean last, int groupIndex) {
        return new long[] {PAGE_GRP_RESP | Bits.flag(pasidPresent, 4) | Bits.put(responseCode, 12, 4) | Bits.put(rid, 16, 16)
                | (pasidPresent ? Bits.put(pasid, 32, 20) : 0), Bits.flag(last, 2) | Bits.put(groupIndex, 3, 9), 0, 0};
    }

    /**
     * Reserved bits of a descriptor of {@code type} in the given qword (0..3), as a mask; type bits
     * 11:9 are left to the type check and inv_wait PD (bit 7) to the ECAP.PDS check. Type 4 is
     * checked only for its unused upper qwords; PFSID of types 3 and 8 is not reserved (software
     * fills it even when ECAP.DIT=0, as Linux does). Type 9 qwords 2-3 hold private data.
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
            case DEV_TLB_INV -> switch (qword) {
                case 0 -> Bits.mask(8, 4) | Bits.mask(31, 21) | Bits.mask(51, 48);
                case 1 -> Bits.mask(11, 1);
                default -> -1L;
            };
            case P_DEV_TLB_INV -> switch (qword) {
                case 0 -> 0;
                case 1 -> Bits.mask(10, 1);
                default -> -1L;
            };
            case PAGE_GRP_RESP -> switch (qword) {
                case 0 -> Bits.mask(8, 6) | Bits.mask(63, 52);
                case 1 -> Bits.mask(1, 0) | Bits.mask(63, 12);
                default -> 0;
            };
            case IEC_INV -> qword <= 1 ? 0 : -1L;
            default -> 0;
        };
    }
}
