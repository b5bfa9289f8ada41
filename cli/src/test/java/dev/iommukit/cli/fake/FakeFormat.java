package dev.iommukit.cli.fake;

import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.pgtable.PageTableFormat;

/**
 * A made-up 3-level, 39-bit radix format for tests: leaves of 1G, 2M and 4K. Descriptor bit 0
 * valid, bit 1 table, bits 2..4 read/write/execute, bits 12..51 the address.
 */
final class FakeFormat implements PageTableFormat {
    static final FakeFormat INSTANCE = new FakeFormat();
    private static final long VALID = 1;
    private static final long TABLE = 2;
    private static final long ADDRESS = 0x000F_FFFF_FFFF_F000L;

    @Override
    public String name() {
        return "fake 3-level, 39-bit";
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
        return tablePa | TABLE | VALID;
    }

    @Override
    public long encodeLeaf(long pa, int level, int permissions) {
        return pa | ((long) permissions << 2) | VALID;
    }

    @Override
    public boolean isTable(long descriptor, int level) {
        return (descriptor & (TABLE | VALID)) == (TABLE | VALID) && level < 2;
    }

    @Override
    public boolean isLeaf(long descriptor, int level) {
        return (descriptor & (TABLE | VALID)) == VALID;
    }

    @Override
    public long address(long descriptor, int level) {
        return descriptor & ADDRESS;
    }

    @Override
    public int permissions(long descriptor, int level) {
        return (int) (descriptor >>> 2) & (Permissions.READ | Permissions.WRITE | Permissions.EXECUTE);
    }
}
