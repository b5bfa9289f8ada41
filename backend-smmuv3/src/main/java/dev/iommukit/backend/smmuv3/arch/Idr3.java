package dev.iommukit.backend.smmuv3.arch;

/** IDR3 fields (spec §1.4). */
public final class Idr3 {
    public static final Field HAD = Field.bit("HAD", 2);
    public static final Field PBHA = Field.bit("PBHA", 3);
    public static final Field XNX = Field.bit("XNX", 4);
    public static final Field PPS = Field.bit("PPS", 5);
    public static final Field MPAM = Field.bit("MPAM", 7);
    public static final Field FWB = Field.bit("FWB", 8);
    public static final Field STT = Field.bit("STT", 9);
    public static final Field RIL = Field.bit("RIL", 10);
    public static final Field BBML = Field.of("BBML", 12, 11);
    public static final Field E0PD = Field.bit("E0PD", 13);
    public static final Field PTWNNC = Field.bit("PTWNNC", 14);
    public static final Field DPT = Field.bit("DPT", 15);

    private Idr3() {}
}
