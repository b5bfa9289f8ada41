package dev.iommukit.api;

import dev.iommukit.spi.pgtable.PageTableFormat;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;
import dev.iommukit.spi.pgtable.x86.X86PagingFormat;

/**
 * The CPU of a machine, which fixes the format of its processes' page tables: AArch64 (VMSAv8-64
 * stage 1, 4 KiB granule, 48-bit VA) on SMMUv3 machines, x86-64 (4-level IA-32e paging, user
 * pages, accessed and dirty bits left to hardware) on VT-d machines.
 */
public enum CpuArchitecture {
    AARCH64("aarch64") {
        @Override
        PageTableFormat pageTableFormat() {
            return VmsaFormat.stage1(VmsaGranule.G4K, 48);
        }
    },
    X86_64("x86-64") {
        @Override
        PageTableFormat pageTableFormat() {
            return new X86PagingFormat(4, true, true, false, false);
        }
    };

    private final String formatName;

    CpuArchitecture(String formatName) {
        this.formatName = formatName;
    }

    /** The page-table format's name as backends advertise it in the SVA capability's {@code cpuFormat}. */
    public String formatName() {
        return formatName;
    }

    abstract PageTableFormat pageTableFormat();
}
