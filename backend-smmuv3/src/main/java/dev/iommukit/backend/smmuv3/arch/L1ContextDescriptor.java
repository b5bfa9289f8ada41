package dev.iommukit.backend.smmuv3.arch;

/** Level-1 context descriptor: one dword (spec §4.1). */
public final class L1ContextDescriptor {
    public static final int BYTES = 8;
    public static final Field V = Field.of("V", 0, 0);
    public static final Field L2PTR = Field.of("L2Ptr", 51, 12);
    /** SSID bits resolved by a 64 KiB leaf table (S1Fmt = 2): 1024 CDs. */
    public static final int SPLIT_64K = 10;
    /** SSID bits resolved by a 4 KiB leaf table (S1Fmt = 1): 64 CDs. */
    public static final int SPLIT_4K = 6;

    private L1ContextDescriptor() {}

    public static long encode(long l2Pa) {
        return (l2Pa & L2PTR.mask()) | V.of(1);
    }

    public static long l2Pointer(long descriptor) {
        return descriptor & L2PTR.mask();
    }
}
