package dev.iommukit.spi.pgtable.x86;

import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.pgtable.PageTableFormat;

/**
 * The x86-64 IA-32e paging format with 4 levels (48-bit, PML4 root) or 5 levels (57-bit, PML5
 * root), 4 KiB pages, 2 MiB pages (PS in a PDE) and optionally 1 GiB pages (PS in a PDPE): the
 * VT-d first level (digest §7) and the CPU format of x86 machines.
 *
 * <p>Encoding choices: every entry has P; R/W is set in table entries and in leaves that allow
 * WRITE (x86 has no write-only pages, so a WRITE-only mapping is also readable); U/S is set
 * everywhere when {@link #user()} (a DMA without PASID is a user request, digest §7 table
 * "Access rights"); with {@link #presetAccessedDirty()} software sets A in every entry and D in
 * writable leaves so hardware never writes the tables (Linux practice), otherwise hardware sets
 * them; XD is set on leaves without EXECUTE only with {@link #executeDisable()}, and whoever
 * uses such tables must then enable NXE (digest §7 note on XD).
 */
public final class X86PagingFormat implements PageTableFormat {
    private final int levels;
    private final boolean oneGigPages;
    private final boolean user;
    private final boolean presetAccessedDirty;
    private final boolean executeDisable;

    /**
     * @param levels 4 (48-bit) or 5 (57-bit)
     * @param oneGigPages whether 1 GiB leaves are allowed (VT-d CAP.FL1GP)
     * @param user whether to set U/S in every entry
     * @param presetAccessedDirty whether software presets A (and D in writable leaves)
     * @param executeDisable whether leaves without EXECUTE get XD (needs NXE)
     */
    public X86PagingFormat(int levels, boolean oneGigPages, boolean user, boolean presetAccessedDirty, boolean executeDisable) {
        if (levels != 4 && levels != 5) {
            throw IommuException.invalid("levels", "x86-64 paging has 4 or 5 levels, was " + levels);
        }
        this.levels = levels;
        this.oneGigPages = oneGigPages;
        this.user = user;
        this.presetAccessedDirty = presetAccessedDirty;
        this.executeDisable = executeDisable;
    }

    /** 4-level, 1 GiB pages, user, A/D preset, no XD: what VT-d first-level DMA domains use. */
    public static X86PagingFormat fourLevelForDma() {
        return new X86PagingFormat(4, true, true, true, false);
    }

    /** 5-level, otherwise as {@link #fourLevelForDma()}. */
    public static X86PagingFormat fiveLevelForDma() {
        return new X86PagingFormat(5, true, true, true, false);
    }

    public boolean user() {
        return user;
    }

    public boolean presetAccessedDirty() {
        return presetAccessedDirty;
    }

    public boolean executeDisable() {
        return executeDisable;
    }

    public boolean oneGigPages() {
        return oneGigPages;
    }

    @Override
    public String name() {
        return "x86-64 " + levels + "-level paging, " + inputBits() + "-bit";
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
        return shift == 12 || shift == 21 || (shift == 30 && oneGigPages);
    }

    @Override
    public long encodeTable(long tablePa, int level) {
        long e = (tablePa & X86PagingEntry.ADDRESS_MASK) | X86PagingEntry.P | X86PagingEntry.RW;
        if (user) {
            e |= X86PagingEntry.US;
        }
        if (presetAccessedDirty) {
            e |= X86PagingEntry.A;
        }
        return e;
    }

    @Override
    public long encodeLeaf(long pa, int level, int permissions) {
        long e = (pa & X86PagingEntry.ADDRESS_MASK) | X86PagingEntry.P;
        boolean write = (permissions & Permissions.WRITE) != 0;
        if (write) {
            e |= X86PagingEntry.RW;
        }
        if (user) {
            e |= X86PagingEntry.US;
        }
        if (presetAccessedDirty) {
            e |= X86PagingEntry.A;
            if (write) {
                e |= X86PagingEntry.D;
            }
        }
        if (indexShift(level) > 12) {
            e |= X86PagingEntry.PS;
        }
        if (executeDisable && (permissions & Permissions.EXECUTE) == 0) {
            e |= X86PagingEntry.XD;
        }
        return e;
    }

    @Override
    public boolean isTable(long descriptor, int level) {
        if (!X86PagingEntry.present(descriptor) || level == levels - 1) {
            return false;
        }
        return indexShift(level) >= 39 || !X86PagingEntry.pageSize(descriptor);
    }

    @Override
    public boolean isLeaf(long descriptor, int level) {
        if (!X86PagingEntry.present(descriptor) || !leafAllowed(level)) {
            return false;
        }
        return level == levels - 1 || X86PagingEntry.pageSize(descriptor);
    }

    @Override
    public long address(long descriptor, int level) {
        return isLeaf(descriptor, level) ? X86PagingEntry.address(descriptor, indexShift(level)) : X86PagingEntry.address(descriptor, 12);
    }

    @Override
    public int permissions(long descriptor, int level) {
        int p = Permissions.READ;
        if (X86PagingEntry.writable(descriptor)) {
            p |= Permissions.WRITE;
        }
        if (executeDisable && !X86PagingEntry.executeDisable(descriptor)) {
            p |= Permissions.EXECUTE;
        }
        return p;
    }
}
