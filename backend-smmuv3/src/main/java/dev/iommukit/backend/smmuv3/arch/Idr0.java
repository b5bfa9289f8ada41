package dev.iommukit.backend.smmuv3.arch;

/** IDR0 fields (spec §1.2). */
public final class Idr0 {
    public static final Field S2P = Field.bit("S2P", 0);
    public static final Field S1P = Field.bit("S1P", 1);
    public static final Field TTF = Field.of("TTF", 3, 2);
    public static final Field COHACC = Field.bit("COHACC", 4);
    public static final Field BTM = Field.bit("BTM", 5);
    public static final Field HTTU = Field.of("HTTU", 7, 6);
    public static final Field DORMHINT = Field.bit("DORMHINT", 8);
    public static final Field HYP = Field.bit("HYP", 9);
    public static final Field ATS = Field.bit("ATS", 10);
    public static final Field NS1ATS = Field.bit("NS1ATS", 11);
    public static final Field ASID16 = Field.bit("ASID16", 12);
    public static final Field MSI = Field.bit("MSI", 13);
    public static final Field SEV = Field.bit("SEV", 14);
    public static final Field ATOS = Field.bit("ATOS", 15);
    public static final Field PRI = Field.bit("PRI", 16);
    public static final Field VMW = Field.bit("VMW", 17);
    public static final Field VMID16 = Field.bit("VMID16", 18);
    public static final Field CD2L = Field.bit("CD2L", 19);
    public static final Field VATOS = Field.bit("VATOS", 20);
    public static final Field TTENDIAN = Field.of("TTENDIAN", 22, 21);
    public static final Field ATSRECERR = Field.bit("ATSRECERR", 23);
    public static final Field STALL_MODEL = Field.of("STALL_MODEL", 25, 24);
    public static final Field TERM_MODEL = Field.bit("TERM_MODEL", 26);
    public static final Field ST_LEVEL = Field.of("ST_LEVEL", 28, 27);
    public static final Field RME_IMPL = Field.bit("RME_IMPL", 30);

    /** TTF = AArch64 tables only. */
    public static final int TTF_AARCH64 = 2;
    /** TTENDIAN = little-endian only. */
    public static final int TTENDIAN_LE = 2;
    /** STALL_MODEL = terminate only, no stall. */
    public static final int STALL_MODEL_NO_STALL = 1;
    /** ST_LEVEL = linear and 2-level stream tables. */
    public static final int ST_LEVEL_2LVL = 1;

    private Idr0() {}
}
