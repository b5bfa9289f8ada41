package dev.iommukit.spi.pgtable;

/**
 * A three-level 39-bit test format: 1 GiB leaves at level 0, 2 MiB at level 1, 4 KiB at level 2.
 * Bit 0 valid, bit 1 table (non-leaf levels) or page, bits 4..6 permissions, address bits 47:12.
 */
final class ToyFormat implements PageTableFormat {
    @Override
    public String name() {
        return "toy 39-bit";
    }

    @Override
    public int levels() {
        return 3;
    }

    @Override
    public int indexShift(int level) {
        return 30 - 9 * level;
    }

    @Override
    public int indexBits(int level) {
        return 9;
    }

    @Override
    public boolean leafAllowed(int level) {
        return true;
    }

    @Override
    public long encodeTable(long tablePa, int level) {
        return tablePa | 3;
    }

    @Override
    public long encodeLeaf(long pa, int level, int permissions) {
        return pa | (level == 2 ? 3 : 1) | ((long) permissions << 4);
    }

    @Override
    public boolean isTable(long d, int level) {
        return level < 2 && (d & 3) == 3;
    }

    @Override
    public boolean isLeaf(long d, int level) {
        return level < 2 ? (d & 3) == 1 : (d & 3) == 3;
    }

    @Override
    public long address(long d, int level) {
        return d & 0x0000_FFFF_FFFF_F000L;
    }

    @Override
    public int permissions(long d, int level) {
        return (int) (d >>> 4) & 7;
    }
}
