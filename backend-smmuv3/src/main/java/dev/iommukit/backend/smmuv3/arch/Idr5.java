package dev.iommukit.backend.smmuv3.arch;

/** IDR5 fields (spec §1.4) and the OAS/IPS/S2PS address-size encoding. */
public final class Idr5 {
    public static final Field OAS = Field.of("OAS", 2, 0);
    public static final Field GRAN4K = Field.bit("GRAN4K", 4);
    public static final Field GRAN16K = Field.bit("GRAN16K", 5);
    public static final Field GRAN64K = Field.bit("GRAN64K", 6);
    public static final Field DS = Field.bit("DS", 7);
    public static final Field D128 = Field.bit("D128", 8);
    public static final Field VAX = Field.of("VAX", 11, 10);
    public static final Field STALL_MAX = Field.of("STALL_MAX", 31, 16);

    /** OAS encoding 5 = 48 bits. */
    public static final int OAS_48 = 5;
    private static final int[] BITS = {32, 36, 40, 42, 44, 48, 52, 56};

    private Idr5() {}

    /** Address bits of an OAS/IPS/S2PS encoding (0..7). */
    public static int addressBits(int encoding) {
        return BITS[encoding & 7];
    }
}
