package dev.iommukit.spi.pgtable.vtd;

import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.pgtable.PageTableFormat;

/**
 * The VT-d second-level paging format (digest §8): 3, 4 or 5 levels for a 39-, 48- or 57-bit
 * address width (AW codes 1, 2, 3), 9 index bits per level, 4 KiB pages and, per CAP.SLLPS, 2 MiB
 * (PS in a PDE) and 1 GiB (PS in a PDPE) pages.
 *
 * <p>Encoding: table entries carry R and W (permissions are ANDed over levels, so tables never
 * restrict); leaves carry R, W and X as the mapping's permissions and PS above 4 KiB.
 */
public final class SecondLevelFormat implements PageTableFormat {
    private final int addressWidth;
    private final int levels;
    private final boolean twoMegPages;
    private final boolean oneGigPages;

    /**
     * @param addressWidth 39, 48 or 57
     * @param twoMegPages SLLPS bit 0
     * @param oneGigPages SLLPS bit 1
     */
    public SecondLevelFormat(int addressWidth, boolean twoMegPages, boolean oneGigPages) {
        if (addressWidth != 39 && addressWidth != 48 && addressWidth != 57) {
            throw IommuException.invalid("addressWidth", "VT-d second level supports 39, 48 or 57 bits, was " + addressWidth);
        }
        this.addressWidth = addressWidth;
        this.levels = (addressWidth - 12) / 9;
        this.twoMegPages = twoMegPages;
        this.oneGigPages = oneGigPages;
    }

    /** The AW field value for {@code addressWidth} (39 to 1, 48 to 2, 57 to 3): levels = AW + 2. */
    public static int awCode(int addressWidth) {
        return (addressWidth - 30) / 9;
    }

    /** The address width of AW code {@code aw}: 30 + 9 * AW. */
    public static int addressWidthOf(int aw) {
        return 30 + 9 * aw;
    }

    public int addressWidth() {
        return addressWidth;
    }

    /** This format's AW code. */
    public int awCode() {
        return awCode(addressWidth);
    }

    @Override
    public String name() {
        return "VT-d second level, " + levels + "-level, " + addressWidth + "-bit";
    }

    @Override
    public int levels() {
        return levels;
    }

    @Override
    public int indexShift(int level) {
        return 12 + 9 * (levels - 1 - level);
    }

    @Override
    public int indexBits(int level) {
        return 9;
    }

    @Override
    public boolean leafAllowed(int level) {
        int shift = indexShift(level);
        return shift == 12 || (shift == 21 && twoMegPages) || (shift == 30 && oneGigPages);
    }

    @Override
    public long encodeTable(long tablePa, int level) {
        return (tablePa & SecondLevelEntry.ADDRESS_MASK) | SecondLevelEntry.R | SecondLevelEntry.W;
    }

    @Override
    public long encodeLeaf(long pa, int level, int permissions) {
        long e = pa & SecondLevelEntry.ADDRESS_MASK;
        if ((permissions & Permissions.READ) != 0) {
            e |= SecondLevelEntry.R;
        }
        if ((permissions & Permissions.WRITE) != 0) {
            e |= SecondLevelEntry.W;
        }
        if ((permissions & Permissions.EXECUTE) != 0) {
            e |= SecondLevelEntry.X;
        }
        if (indexShift(level) > 12) {
            e |= SecondLevelEntry.PS;
        }
        return e;
    }

    @Override
    public boolean isTable(long descriptor, int level) {
        if (!SecondLevelEntry.present(descriptor) || level == levels - 1) {
            return false;
        }
        return !(SecondLevelEntry.pageSize(descriptor) && leafAllowed(level));
    }

    @Override
    public boolean isLeaf(long descriptor, int level) {
        if (!SecondLevelEntry.present(descriptor) || !leafAllowed(level)) {
            return false;
        }
        return level == levels - 1 || SecondLevelEntry.pageSize(descriptor);
    }

    @Override
    public long address(long descriptor, int level) {
        return isLeaf(descriptor, level) ? SecondLevelEntry.address(descriptor, indexShift(level)) : SecondLevelEntry.address(descriptor, 12);
    }

    @Override
    public int permissions(long descriptor, int level) {
        int p = 0;
        if (SecondLevelEntry.readable(descriptor)) {
            p |= Permissions.READ;
        }
        if (SecondLevelEntry.writable(descriptor)) {
            p |= Permissions.WRITE;
        }
        if ((descriptor & SecondLevelEntry.X) != 0) {
            p |= Permissions.EXECUTE;
        }
        return p;
    }
}
