package dev.iommukit.backend.smmuv3.arch;

/** Context Descriptor layout: 8 dwords, 64 bytes (spec §4.2, §4.3). Addresses are held in place. */
public final class ContextDescriptor {
    public static final int BYTES = 64;
    public static final int DWORDS = 8;

    // dword 0
    public static final Field T0SZ = Field.of("T0SZ", 0, 5, 0);
    public static final Field TG0 = Field.of("TG0", 0, 7, 6);
    public static final Field IR0 = Field.of("IR0", 0, 9, 8);
    public static final Field OR0 = Field.of("OR0", 0, 11, 10);
    public static final Field SH0 = Field.of("SH0", 0, 13, 12);
    public static final Field EPD0 = Field.of("EPD0", 0, 14, 14);
    public static final Field ENDI = Field.of("ENDI", 0, 15, 15);
    public static final Field T1SZ = Field.of("T1SZ", 0, 21, 16);
    public static final Field TG1 = Field.of("TG1", 0, 23, 22);
    public static final Field IR1 = Field.of("IR1", 0, 25, 24);
    public static final Field OR1 = Field.of("OR1", 0, 27, 26);
    public static final Field SH1 = Field.of("SH1", 0, 29, 28);
    public static final Field EPD1 = Field.of("EPD1", 0, 30, 30);
    public static final Field V = Field.of("V", 0, 31, 31);
    public static final Field IPS = Field.of("IPS", 0, 34, 32);
    public static final Field AFFD = Field.of("AFFD", 0, 35, 35);
    public static final Field WXN = Field.of("WXN", 0, 36, 36);
    public static final Field UWXN = Field.of("UWXN", 0, 37, 37);
    public static final Field TBI0 = Field.of("TBI0", 0, 38, 38);
    public static final Field TBI1 = Field.of("TBI1", 0, 39, 39);
    public static final Field PAN = Field.of("PAN", 0, 40, 40);
    public static final Field AA64 = Field.of("AA64", 0, 41, 41);
    public static final Field HD = Field.of("HD", 0, 42, 42);
    public static final Field HA = Field.of("HA", 0, 43, 43);
    public static final Field S = Field.of("S", 0, 44, 44);
    public static final Field R = Field.of("R", 0, 45, 45);
    public static final Field A = Field.of("A", 0, 46, 46);
    public static final Field ASET = Field.of("ASET", 0, 47, 47);
    public static final Field ASID = Field.of("ASID", 0, 63, 48);
    // dword 1
    public static final Field HAD0 = Field.of("HAD0", 1, 1, 1);
    public static final Field TTB0 = Field.of("TTB0", 1, 51, 4);
    // dword 2
    public static final Field HAD1 = Field.of("HAD1", 2, 1, 1);
    public static final Field TTB1 = Field.of("TTB1", 2, 51, 4);
    public static final Field DS = Field.of("DS", 2, 58, 58);
    // dword 3
    public static final Field MAIR0 = Field.of("MAIR0", 3, 31, 0);
    public static final Field MAIR1 = Field.of("MAIR1", 3, 63, 32);

    /** IRx/ORx encoding: write-back write-allocate. */
    public static final int CACHE_WBWA = 1;

    private ContextDescriptor() {}

    /** The TTB0/TTB1 address held in dword 1/2 (bits [51:4] in place). */
    public static long ttb(long dword) {
        return dword & TTB0.mask();
    }
}
