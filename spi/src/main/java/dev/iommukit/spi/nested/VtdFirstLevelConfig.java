package dev.iommukit.spi.nested;

import dev.iommukit.spi.error.IommuException;
import java.util.EnumSet;
import java.util.Set;

/**
 * A VT-d guest first level: the guest-physical address of the guest's root page table (its CR3,
 * PML4 or PML5), the guest address width (48 for 4-level, 57 for 5-level paging) and the flags
 * the guest asked for. The nested PASID entry (PGTT=011) takes FLPTPTR, FLPM and the flags from
 * here; everything else from the host.
 */
public record VtdFirstLevelConfig(long firstLevelPointer, int addressWidth, Set<VtdGuestPasidFlag> flags)
        implements NestedConfig {
    public static final String STAGE1 = "vtd-first-level";

    public VtdFirstLevelConfig {
        if ((firstLevelPointer & 0xFFF) != 0 || firstLevelPointer < 0) {
            throw IommuException.invalid("firstLevelPointer", "0x" + Long.toHexString(firstLevelPointer)
                    + " must be a 4 KiB aligned guest-physical address");
        }
        if (addressWidth != 48 && addressWidth != 57) {
            throw IommuException.invalid("addressWidth", addressWidth + " must be 48 (4-level) or 57 (5-level)");
        }
        flags = flags.isEmpty() ? Set.of() : Set.copyOf(EnumSet.copyOf(flags));
    }

    /** Paging levels of the guest's tables. */
    public int levels() {
        return addressWidth == 57 ? 5 : 4;
    }

    public boolean has(VtdGuestPasidFlag flag) {
        return flags.contains(flag);
    }

    @Override
    public String stage1() {
        return STAGE1;
    }
}
