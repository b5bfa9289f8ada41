package dev.iommukit.backend.vtd.arch;

/**
 * The interrupt address range 0xFEE0_0000-0xFEEF_FFFF: a DMA write whose output lands there is an
 * interrupt request, not memory, and remapping hardware reports a translated output there as
 * SGN.8 (digest §6 step 8, §10).
 */
public final class InterruptAddressRange {
    public static final long BASE = 0xFEE0_0000L;
    public static final long SIZE = 0x10_0000L;

    private InterruptAddressRange() {}

    /** Whether {@code pa} is in the range. */
    public static boolean contains(long pa) {
        return (pa & ~(SIZE - 1)) == BASE;
    }

    /** Whether {@code [pa, pa + size)} meets the range. */
    public static boolean overlaps(long pa, long size) {
        return pa < BASE + SIZE && pa + size > BASE;
    }
}
