package dev.iommukit.backend.vtd.driver;

import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.pgtable.x86.X86PagingEntry;
import java.util.function.LongUnaryOperator;

/**
 * The driver's read-only software lookup in first-level (IA-32e) tables for {@code iovaToPhys}:
 * never sets A/D. {@code toHost} turns every table-entry address and the output into a host
 * physical address: the identity for tables in host memory (SVA), the parent's translation for a
 * guest's tables in guest-physical memory (nesting); it answers -1 for an address it cannot reach.
 */
final class FirstLevelLookup {
    private FirstLevelLookup() {}

    static long lookup(PhysicalMemory memory, long root, int levels, int addressWidth, long iova, LongUnaryOperator toHost) {
        if (!X86PagingEntry.canonical(iova, addressWidth)) {
            return -1;
        }
        long table = root;
        try {
            for (int level = 0; level < levels; level++) {
                int shift = 12 + 9 * (levels - 1 - level);
                long slot = toHost.applyAsLong(table + ((iova >>> shift) & 0x1FF) * 8);
                if (slot < 0) {
                    return -1;
                }
                long e = memory.read64(slot);
                if (!X86PagingEntry.present(e)) {
                    return -1;
                }
                if (shift == 12 || (X86PagingEntry.pageSize(e) && (shift == 21 || shift == 30))) {
                    return toHost.applyAsLong(X86PagingEntry.address(e, shift) | (iova & ((1L << shift) - 1)));
                }
                table = X86PagingEntry.address(e, 12);
            }
        } catch (ExternalAbortException | IllegalArgumentException e) {
            return -1;
        }
        return -1;
    }
}
