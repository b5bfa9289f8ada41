package dev.iommukit.backend.smmuv3.arch;

/** Level-1 stream table descriptor: one dword (spec §2). */
public final class L1StreamTableDescriptor {
    public static final int BYTES = 8;
    public static final Field SPAN = Field.of("Span", 4, 0);
    public static final Field L2PTR = Field.of("L2Ptr", 51, 6);

    private L1StreamTableDescriptor() {}

    /** A descriptor pointing to an L2 table of 2^(span-1) STEs. */
    public static long encode(long l2Pa, int span) {
        return (l2Pa & L2PTR.mask()) | SPAN.of(span);
    }

    /** The L2 table address, in place. */
    public static long l2Pointer(long descriptor) {
        return descriptor & L2PTR.mask();
    }
}
