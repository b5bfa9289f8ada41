package dev.iommukit.backend.smmuv3.arch;

/** STRTAB_BASE and STRTAB_BASE_CFG fields (spec §1.7). */
public final class StreamTableRegisters {
    public static final Field BASE_RA = Field.bit("RA", 62);
    /** ADDR[51:6]: the field holds the address bits in place. */
    public static final Field BASE_ADDR = Field.of("ADDR", 51, 6);
    public static final Field CFG_LOG2SIZE = Field.of("LOG2SIZE", 5, 0);
    public static final Field CFG_SPLIT = Field.of("SPLIT", 10, 6);
    public static final Field CFG_FMT = Field.of("FMT", 17, 16);

    public static final int FMT_LINEAR = 0;
    public static final int FMT_2LEVEL = 1;

    private StreamTableRegisters() {}

    /** The table address held in a STRTAB_BASE value. */
    public static long address(long base) {
        return base & BASE_ADDR.mask();
    }
}
