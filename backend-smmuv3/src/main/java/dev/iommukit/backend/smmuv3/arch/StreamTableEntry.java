package dev.iommukit.backend.smmuv3.arch;

/** Stream Table Entry layout: 8 dwords, 64 bytes (spec §3). Addresses are held in place. */
public final class StreamTableEntry {
    public static final int BYTES = 64;
    public static final int DWORDS = 8;

    // dword 0
    public static final Field V = Field.of("V", 0, 0, 0);
    public static final Field CONFIG = Field.of("Config", 0, 3, 1);
    public static final Field S1FMT = Field.of("S1Fmt", 0, 5, 4);
    public static final Field S1_CONTEXT_PTR = Field.of("S1ContextPtr", 0, 51, 6);
    public static final Field S1_CD_MAX = Field.of("S1CDMax", 0, 63, 59);
    // dword 1
    public static final Field S1DSS = Field.of("S1DSS", 1, 1, 0);
    public static final Field S1CIR = Field.of("S1CIR", 1, 3, 2);
    public static final Field S1COR = Field.of("S1COR", 1, 5, 4);
    public static final Field S1CSH = Field.of("S1CSH", 1, 7, 6);
    public static final Field DRE = Field.of("DRE", 1, 12, 12);
    public static final Field CONT = Field.of("CONT", 1, 16, 13);
    public static final Field DCP = Field.of("DCP", 1, 17, 17);
    public static final Field PPAR = Field.of("PPAR", 1, 18, 18);
    public static final Field MEV = Field.of("MEV", 1, 19, 19);
    public static final Field SW_RESERVED = Field.of("SW_RESERVED", 1, 23, 20);
    public static final Field S2FWB = Field.of("S2FWB", 1, 25, 25);
    public static final Field S1STALLD = Field.of("S1STALLD", 1, 27, 27);
    public static final Field EATS = Field.of("EATS", 1, 29, 28);
    public static final Field STRW = Field.of("STRW", 1, 31, 30);
    public static final Field MEMATTR = Field.of("MemAttr", 1, 35, 32);
    public static final Field MTCFG = Field.of("MTCFG", 1, 36, 36);
    public static final Field ALLOCCFG = Field.of("ALLOCCFG", 1, 40, 37);
    public static final Field SHCFG = Field.of("SHCFG", 1, 45, 44);
    public static final Field NSCFG = Field.of("NSCFG", 1, 47, 46);
    public static final Field PRIVCFG = Field.of("PRIVCFG", 1, 49, 48);
    public static final Field INSTCFG = Field.of("INSTCFG", 1, 51, 50);
    // dword 2
    public static final Field S2VMID = Field.of("S2VMID", 2, 15, 0);
    public static final Field S2T0SZ = Field.of("S2T0SZ", 2, 37, 32);
    public static final Field S2SL0 = Field.of("S2SL0", 2, 39, 38);
    public static final Field S2IR0 = Field.of("S2IR0", 2, 41, 40);
    public static final Field S2OR0 = Field.of("S2OR0", 2, 43, 42);
    public static final Field S2SH0 = Field.of("S2SH0", 2, 45, 44);
    public static final Field S2TG = Field.of("S2TG", 2, 47, 46);
    public static final Field S2PS = Field.of("S2PS", 2, 50, 48);
    public static final Field S2AA64 = Field.of("S2AA64", 2, 51, 51);
    public static final Field S2ENDI = Field.of("S2ENDI", 2, 52, 52);
    public static final Field S2AFFD = Field.of("S2AFFD", 2, 53, 53);
    public static final Field S2PTW = Field.of("S2PTW", 2, 54, 54);
    public static final Field S2HD = Field.of("S2HD", 2, 55, 55);
    public static final Field S2HA = Field.of("S2HA", 2, 56, 56);
    public static final Field S2S = Field.of("S2S", 2, 57, 57);
    public static final Field S2R = Field.of("S2R", 2, 58, 58);
    // dword 3
    public static final Field S2TTB = Field.of("S2TTB", 3, 51, 4);

    public static final int CONFIG_ABORT = 0b000;
    public static final int CONFIG_BYPASS = 0b100;
    public static final int CONFIG_S1 = 0b101;
    public static final int CONFIG_S2 = 0b110;
    public static final int CONFIG_NESTED = 0b111;

    public static final int S1DSS_TERMINATE = 0b00;
    public static final int S1DSS_BYPASS = 0b01;
    public static final int S1DSS_SSID0 = 0b10;

    /** EATS = full ATS: translation requests answered through every enabled stage. */
    public static final int EATS_FULL = 0b01;
    /** EATS = split-stage ATS (stage 1 output returned; needs IDR0.NS1ATS=0). */
    public static final int EATS_SPLIT = 0b10;

    public static final int S1FMT_LINEAR = 0;
    public static final int S1FMT_64K_L2 = 2;

    /** Allocation hint encoding of S1CIR/S1COR: write-back read-allocate. */
    public static final int CIR_WBRA = 1;

    private StreamTableEntry() {}

    /** The CD table address held in dword 0 (bits [51:6] in place). */
    public static long contextPointer(long dword0) {
        return dword0 & S1_CONTEXT_PTR.mask();
    }

    /** The stage 2 table address held in dword 3 (bits [51:4] in place). */
    public static long s2ttb(long dword3) {
        return dword3 & S2TTB.mask();
    }
}
