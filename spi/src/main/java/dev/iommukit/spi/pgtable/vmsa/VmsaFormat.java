package dev.iommukit.spi.pgtable.vmsa;

import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.pgtable.PageTableFormat;

/**
 * A VMSAv8-64 translation-table format (64-bit descriptors, 48-bit output) for one stage, granule
 * and input size. The walk geometry follows the architecture: the start level is the one where
 * the remaining input bits fit, the stage 1 root may be a partial table, and a stage 2 root of at
 * most 16 entries is instead folded into up to 16 concatenated tables one level lower.
 *
 * <p>Leaf attributes written: stage 1 AF=1, AP[1]=1 (unprivileged DMA may access), AP[2]=1 when
 * not writable, nG=1, SH inner, AttrIndx {@link #MAIR_INDEX_WB}, PXN and UXN when not executable;
 * stage 2 AF=1, S2AP read/write, MemAttr 0xF (Normal WB), SH inner, XN[1] when not executable.
 * Format levels count from the root (0); {@link #architecturalLevel(int)} converts.
 */
public final class VmsaFormat implements PageTableFormat {
    /** The MAIR byte index stage 1 leaves use: Normal, inner and outer write-back RW-allocate. */
    public static final int MAIR_INDEX_WB = 1;
    /**
     * A MAIR value for stage 1 (CD MAIR1:MAIR0): index 0 Normal NC (0x44), index 1 Normal WB
     * RWA (0xFF), index 2 Device-nGnRE (0x04), index 3 Normal inner-WB outer-NC (0xF4).
     */
    public static final long MAIR = 0x44L | 0xFFL << 8 | 0x04L << 16 | 0xF4L << 24;
    private static final int MAX_CONCATENATED = 16;

    private final VmsaStage stage;
    private final VmsaGranule granule;
    private final int inputBits;
    private final int startLevel;
    private final int rootBits;

    private VmsaFormat(VmsaStage stage, VmsaGranule granule, int inputBits) {
        if (inputBits < 25 || inputBits > 48) {
            throw IommuException.invalid("inputBits", "must be in 25..48 (TxSZ 16..39), was " + inputBits);
        }
        this.stage = stage;
        this.granule = granule;
        this.inputBits = inputBits;
        int s = granule.stride();
        int levels = (inputBits - granule.shift() + s - 1) / s;
        int start = 4 - levels;
        int bits = inputBits - granule.levelShift(start);
        if (stage == VmsaStage.STAGE2 && start < 3 && !(granule == VmsaGranule.G4K && start == 2)
                && (1 << bits) <= MAX_CONCATENATED) {
            start++;
            bits += s;
        }
        this.startLevel = start;
        this.rootBits = bits;
    }

    /** A stage 1 format translating {@code inputBits} (= 64 - T0SZ) of input. */
    public static VmsaFormat stage1(VmsaGranule granule, int inputBits) {
        return new VmsaFormat(VmsaStage.STAGE1, granule, inputBits);
    }

    /** A stage 2 format translating {@code inputBits} (= 64 - S2T0SZ) of IPA. */
    public static VmsaFormat stage2(VmsaGranule granule, int inputBits) {
        return new VmsaFormat(VmsaStage.STAGE2, granule, inputBits);
    }

    public VmsaStage stage() {
        return stage;
    }

    public VmsaGranule granule() {
        return granule;
    }

    /** TxSZ: 64 - input bits. */
    public int txsz() {
        return 64 - inputBits;
    }

    /** The architectural level of the root table (0..3). */
    public int startLevel() {
        return startLevel;
    }

    /** The architectural level of format level {@code level}. */
    public int architecturalLevel(int level) {
        return startLevel + level;
    }

    /** Number of granule-sized tables concatenated at the root (1 when not concatenated; stage 2 only). */
    public int concatenatedTables() {
        return rootBits <= granule.stride() ? 1 : 1 << (rootBits - granule.stride());
    }

    /** STE.S2SL0 for this geometry: 2 - start for 4K, 3 - start for 16K and 64K. */
    public int s2sl0() {
        return (granule == VmsaGranule.G4K ? 2 : 3) - startLevel;
    }

    @Override
    public String name() {
        return "VMSAv8-64 " + (stage == VmsaStage.STAGE1 ? "stage 1" : "stage 2") + ", " + granule.label()
                + " granule, " + inputBits + "-bit";
    }

    @Override
    public int levels() {
        return 4 - startLevel;
    }

    @Override
    public int indexShift(int level) {
        return granule.levelShift(startLevel + level);
    }

    @Override
    public int indexBits(int level) {
        return level == 0 ? rootBits : granule.stride();
    }

    @Override
    public int inputBits() {
        return inputBits;
    }

    @Override
    public boolean leafAllowed(int level) {
        int arch = startLevel + level;
        return arch == 3 || granule.blockAllowed(arch);
    }

    @Override
    public long encodeTable(long tablePa, int level) {
        checkAddress(tablePa, granule.shift());
        return tablePa | VmsaDescriptors.TYPE_TABLE_OR_PAGE;
    }

    @Override
    public long encodeLeaf(long pa, int level, int permissions) {
        int arch = startLevel + level;
        checkAddress(pa, granule.levelShift(arch));
        long d = pa | (arch == 3 ? VmsaDescriptors.TYPE_TABLE_OR_PAGE : VmsaDescriptors.TYPE_BLOCK)
                | VmsaDescriptors.AF | VmsaDescriptors.SH_INNER;
        boolean exec = (permissions & Permissions.EXECUTE) != 0;
        if (stage == VmsaStage.STAGE1) {
            d |= (long) MAIR_INDEX_WB << VmsaDescriptors.S1_ATTRINDX_SHIFT | VmsaDescriptors.S1_AP1_USER | VmsaDescriptors.S1_NG;
            if ((permissions & Permissions.WRITE) == 0) {
                d |= VmsaDescriptors.S1_AP2_RDONLY;
            }
            if (!exec) {
                d |= VmsaDescriptors.S1_PXN | VmsaDescriptors.S1_UXN;
            }
        } else {
            d |= (long) VmsaDescriptors.S2_MEMATTR_NORMAL_WB << VmsaDescriptors.S2_MEMATTR_SHIFT;
            if ((permissions & Permissions.READ) != 0) {
                d |= VmsaDescriptors.S2_AP_READ;
            }
            if ((permissions & Permissions.WRITE) != 0) {
                d |= VmsaDescriptors.S2_AP_WRITE;
            }
            if (!exec) {
                d |= VmsaDescriptors.S2_XN1;
            }
        }
        return d;
    }

    private static void checkAddress(long pa, int alignShift) {
        if (pa < 0 || pa >= 1L << 48 || (pa & ((1L << alignShift) - 1)) != 0) {
            throw IommuException.invalid("pa", "must be below 2^48 and aligned to 2^" + alignShift + ", was 0x" + Long.toHexString(pa));
        }
    }

    @Override
    public boolean isTable(long descriptor, int level) {
        return VmsaDescriptors.type(descriptor, startLevel + level, granule) == VmsaDescriptors.Type.TABLE;
    }

    @Override
    public boolean isLeaf(long descriptor, int level) {
        VmsaDescriptors.Type t = VmsaDescriptors.type(descriptor, startLevel + level, granule);
        return t == VmsaDescriptors.Type.BLOCK || t == VmsaDescriptors.Type.PAGE;
    }

    @Override
    public long address(long descriptor, int level) {
        int arch = startLevel + level;
        return isTable(descriptor, level) ? VmsaDescriptors.tableAddress(descriptor, granule)
                : VmsaDescriptors.outputAddress(descriptor, arch, granule);
    }

    @Override
    public int permissions(long descriptor, int level) {
        int p;
        if (stage == VmsaStage.STAGE1) {
            p = Permissions.READ;
            if ((descriptor & VmsaDescriptors.S1_AP2_RDONLY) == 0) {
                p |= Permissions.WRITE;
            }
            if ((descriptor & VmsaDescriptors.S1_UXN) == 0) {
                p |= Permissions.EXECUTE;
            }
        } else {
            p = 0;
            if ((descriptor & VmsaDescriptors.S2_AP_READ) != 0) {
                p |= Permissions.READ;
            }
            if ((descriptor & VmsaDescriptors.S2_AP_WRITE) != 0) {
                p |= Permissions.WRITE;
            }
            if ((descriptor & VmsaDescriptors.S2_XN1) == 0) {
                p |= Permissions.EXECUTE;
            }
        }
        return p;
    }

    @Override
    public String toString() {
        return name();
    }
}
