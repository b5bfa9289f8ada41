package dev.iommukit.backend.vtd.arch;

/**
 * A scalable-mode PASID table entry (512 bits = 8 qwords, digest §5). Bit numbers in the comments
 * are absolute. A PASID table holds 64 entries, indexed by PASID[5:0].
 *
 * @param p present (bit 0)
 * @param fpd fault processing disable (1)
 * @param aw SL address width code (4:2)
 * @param slee SL execute enable (5)
 * @param pgtt translation type (8:6): 1 FL, 2 SL, 3 nested, 4 pass-through
 * @param slade SL accessed/dirty enable (9)
 * @param slptptr SL root (63:12)
 * @param did domain id (79:64)
 * @param pwsnp page-walk snoop (87)
 * @param pgsnp page snoop (88)
 * @param sre supervisor requests enable (128)
 * @param ere execute requests enable (129)
 * @param flpm FL paging mode (131:130): 0 4-level, 1 5-level
 * @param wpe write-protect enable (132)
 * @param nxe no-execute enable (133)
 * @param smep supervisor-mode execute prevention (134)
 * @param eafe extended-accessed flag enable (135)
 * @param flptptr FL root (191:140)
 */
public record PasidTableEntry(boolean p, boolean fpd, int aw, boolean slee, int pgtt, boolean slade, long slptptr, int did,
                              boolean pwsnp, boolean pgsnp, boolean sre, boolean ere, int flpm, boolean wpe, boolean nxe,
                              boolean smep, boolean eafe, long flptptr) {
    public static final int SIZE = 64;
    public static final int PGTT_FIRST_LEVEL = 1;
    public static final int PGTT_SECOND_LEVEL = 2;
    public static final int PGTT_NESTED = 3;
    public static final int PGTT_PASS_THROUGH = 4;

    /** qword 0 reserved bits 11:10. */
    public static final long QW0_RESERVED = Bits.mask(11, 10);
    /** qword 1 reserved bits 86:80 (22:16 in qword 1). */
    public static final long QW1_RESERVED = Bits.mask(22, 16);
    /** qword 1 memory-type fields CD, EMTE, EMT, PWT, PCD (89:95): reserved without ECAP.MTS. */
    public static final long QW1_MTS_FIELDS = Bits.mask(31, 25);
    /** qword 2 reserved bits 139:136 (11:8 in qword 2). */
    public static final long QW2_RESERVED = Bits.mask(11, 8);

    /** A not-present entry. */
    public static final PasidTableEntry NOT_PRESENT = new PasidTableEntry(false, false, 0, false, 0, false, 0, 0, false, false,
            false, false, 0, false, false, false, false, 0);

    /**
     * A not-present entry with FPD=1: requests through it abort with SPT.2, which FPD keeps out of
     * the fault recording registers (digest §6 FPD rule).
     */
    public static final PasidTableEntry NOT_PRESENT_UNRECORDED = new PasidTableEntry(false, true, 0, false, 0, false, 0, 0, false,
            false, false, false, 0, false, false, false, false, 0);

    /** A second-level-only entry. */
    public static PasidTableEntry secondLevel(int aw, long slptptr, int did, boolean pwsnp, boolean sre) {
        return new PasidTableEntry(true, false, aw, false, PGTT_SECOND_LEVEL, false, slptptr, did, pwsnp, false, sre, false, 0,
                false, false, false, false, 0);
    }

    /** A first-level-only entry. */
    public static PasidTableEntry firstLevel(int flpm, long flptptr, int did, boolean pwsnp, boolean sre, boolean wpe) {
        return new PasidTableEntry(true, false, 0, false, PGTT_FIRST_LEVEL, false, 0, did, pwsnp, false, sre, false, flpm, wpe,
                false, false, false, flptptr);
    }

    /** A pass-through entry. */
    public static PasidTableEntry passThrough(int aw, int did, boolean pwsnp, boolean sre) {
        return new PasidTableEntry(true, false, aw, false, PGTT_PASS_THROUGH, false, 0, did, pwsnp, false, sre, false, 0, false,
                false, false, false, 0);
    }

    public long[] encode() {
        long qw0 = Bits.flag(p, 0) | Bits.flag(fpd, 1) | Bits.put(aw, 2, 3) | Bits.flag(slee, 5) | Bits.put(pgtt, 6, 3)
                | Bits.flag(slade, 9) | (slptptr & Bits.mask(63, 12));
        long qw1 = Bits.put(did, 0, 16) | Bits.flag(pwsnp, 23) | Bits.flag(pgsnp, 24);
        long qw2 = Bits.flag(sre, 0) | Bits.flag(ere, 1) | Bits.put(flpm, 2, 2) | Bits.flag(wpe, 4) | Bits.flag(nxe, 5)
                | Bits.flag(smep, 6) | Bits.flag(eafe, 7) | (flptptr & Bits.mask(63, 12));
        return new long[] {qw0, qw1, qw2, 0, 0, 0, 0, 0};
    }

    public static PasidTableEntry decode(long qw0, long qw1, long qw2) {
        return new PasidTableEntry(Bits.bit(qw0, 0), Bits.bit(qw0, 1), (int) Bits.get(qw0, 2, 3), Bits.bit(qw0, 5),
                (int) Bits.get(qw0, 6, 3), Bits.bit(qw0, 9), qw0 & Bits.mask(63, 12), (int) Bits.get(qw1, 0, 16), Bits.bit(qw1, 23),
                Bits.bit(qw1, 24), Bits.bit(qw2, 0), Bits.bit(qw2, 1), (int) Bits.get(qw2, 2, 2), Bits.bit(qw2, 4), Bits.bit(qw2, 5),
                Bits.bit(qw2, 6), Bits.bit(qw2, 7), qw2 & Bits.mask(63, 12));
    }

    /** Table index of {@code pasid}: bits 5:0. */
    public static int index(int pasid) {
        return pasid & 0x3F;
    }

    public static long address(long table, int pasid) {
        return table + (long) index(pasid) * SIZE;
    }
}
