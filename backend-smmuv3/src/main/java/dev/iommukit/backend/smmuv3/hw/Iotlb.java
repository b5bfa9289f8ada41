package dev.iommukit.backend.smmuv3.hw;

import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;
import dev.iommukit.spi.tlb.TlbEntry;
import dev.iommukit.spi.tlb.TranslationCache;

/**
 * The SMMU's TLB over the SPI {@link TranslationCache}, tagged as spec §12 says for NS-EL1 streams:
 * stage 1 entries by VMID, ASID (unless global) and ASET; stage 2 entries by VMID. Not tagged by
 * StreamID: streams sharing ASID and VMID share entries.
 */
final class Iotlb {
    private static final long KIND_S1 = 1L << 40;
    private static final long KIND_S2 = 2L << 40;
    private static final long KIND_MASK = 3L << 40;
    private static final long GLOBAL = 1L << 38;
    private static final long ASET = 1L << 39;

    /** Every page size an entry may have: the leaf sizes of the three granules, and nested combinations. */
    static final int[] ALL_SHIFTS = {12, 14, 16, 21, 25, 29, 30};
    private static final int[] SHIFTS_4K = {12, 21, 30};
    private static final int[] SHIFTS_16K = {14, 25};
    private static final int[] SHIFTS_64K = {16, 29};

    final TranslationCache cache = new TranslationCache(4096, ALL_SHIFTS);

    /**
     * The page sizes a stage-1-only walk with {@code granule} can fill: a lookup need not probe
     * others (nested entries take the smaller of two stages' sizes, so they use {@link #ALL_SHIFTS}).
     */
    static int[] shifts(VmsaGranule granule) {
        return switch (granule) {
            case G4K -> SHIFTS_4K;
            case G16K -> SHIFTS_16K;
            case G64K -> SHIFTS_64K;
        };
    }

    static long s1Tag(int vmid, int asid, boolean aset) {
        return KIND_S1 | (aset ? ASET : 0) | (long) (vmid & 0xFFFF) << 16 | (asid & 0xFFFF);
    }

    static long s1GlobalTag(int vmid, boolean aset) {
        return KIND_S1 | GLOBAL | (aset ? ASET : 0) | (long) (vmid & 0xFFFF) << 16;
    }

    static long s2Tag(int vmid) {
        return KIND_S2 | (long) (vmid & 0xFFFF) << 16;
    }

    static boolean isStage1(long tag) {
        return (tag & KIND_MASK) == KIND_S1;
    }

    static boolean isStage2(long tag) {
        return (tag & KIND_MASK) == KIND_S2;
    }

    static boolean isGlobal(long tag) {
        return (tag & GLOBAL) != 0;
    }

    static int vmid(long tag) {
        return (int) (tag >>> 16) & 0xFFFF;
    }

    static int asid(long tag) {
        return (int) tag & 0xFFFF;
    }

    /** Stage 1 lookup among entries of page sizes {@code shifts}: the ASID-tagged entry, else a global one. */
    TlbEntry lookupS1(int vmid, int asid, boolean aset, long va, int[] shifts) {
        TlbEntry e = cache.lookup(s1Tag(vmid, asid, aset), va, shifts);
        return e != null ? e : cache.lookup(s1GlobalTag(vmid, aset), va, shifts);
    }

    TlbEntry lookupS2(int vmid, long ipa) {
        return cache.lookup(s2Tag(vmid), ipa);
    }

    /**
     * Whether a TLBI by VA of {@code [start, start + length)} reaches stage 1 (or combined) entry
     * {@code e}. A combined entry may be smaller than the stage 1 leaf it caches (a stage 1 block
     * over smaller stage 2 pages); an invalidation of any address of that leaf removes it too.
     */
    static boolean overlapsStage1(TlbEntry e, long start, long length) {
        if ((e.attributes() & TableWalker.ATTR_NESTED) == 0) {
            return overlaps(e, start, length);
        }
        int s1Shift = (int) (e.attributes() >>> TableWalker.ATTR_S1_SHIFT_LSB) & 0x3F;
        long base = e.inputBase() & -(1L << s1Shift);
        return base < start + length && start < base + (1L << s1Shift);
    }

    static boolean overlaps(TlbEntry e, long start, long length) {
        long end = e.inputBase() + (1L << e.pageShift());
        return e.inputBase() < start + length && start < end;
    }
}
