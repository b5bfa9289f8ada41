package dev.iommukit.backend.smmuv3;

import static dev.iommukit.backend.smmuv3.arch.ContextDescriptor.*;

import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.nested.NestedDomain;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;

/**
 * A guest on a {@link TestMachine}: 16 MiB of guest RAM at IPA 0 backed by host PA
 * {@link #GUEST_PA}, mapped by a stage 2 (nesting parent) domain with 2 MiB blocks. The guest
 * writes its own CD tables and VMSAv8-64 stage 1 tables (4 KiB granule, 48-bit VA) by hand,
 * at IPAs, exactly as a guest kernel would.
 */
final class NestedGuest {
    static final long GUEST_PA = TestMachine.RAM + 0x1000_0000L;
    static final long GUEST_RAM = 16L << 20;
    /** Stage 1 leaf attributes: page, AP[1] (EL0 access), inner shareable, AF, nG. */
    static final long LEAF = 3 | 1 << 6 | 3 << 8 | 1 << 10 | 1 << 11;

    final TestMachine m;
    final BackendDomain s2;
    private long next = 0x10_0000;

    NestedGuest(TestMachine m) {
        this.m = m;
        this.s2 = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
        s2.map(0, GUEST_PA, 2L << 20, GUEST_RAM >>> 21, Permissions.READ | Permissions.WRITE);
    }

    static long pa(long ipa) {
        return GUEST_PA + ipa;
    }

    void write(long ipa, long value) {
        m.memory.write64(pa(ipa), value);
    }

    long read(long ipa) {
        return m.memory.read64(pa(ipa));
    }

    /** A zeroed 4 KiB page of guest RAM (the guest kernel's allocator), by IPA. */
    long page() {
        long p = next;
        next += 0x1000;
        m.memory.zero(pa(p), 0x1000);
        return p;
    }

    /** Maps guest VA page {@code va} to {@code ipa} in the 4-level tables at {@code root} with leaf {@code attrs}. */
    void map(long root, long va, long ipa, long attrs) {
        long table = root;
        for (int level = 0; level < 3; level++) {
            long slot = table + 8 * ((va >>> (39 - 9 * level)) & 511);
            long d = read(slot);
            if ((d & 3) != 3 || (d & 0x0000_FFFF_FFFF_F000L) >= GUEST_RAM) {
                d = page() | 3;
                write(slot, d);
            }
            table = d & 0x0000_FFFF_FFFF_F000L;
        }
        write(table + 8 * ((va >>> 12) & 511), (ipa & 0x0000_FFFF_FFFF_F000L) | attrs);
    }

    /** The slot of the level 3 descriptor of {@code va} (the tables must exist). */
    long leafSlot(long root, long va) {
        long table = root;
        for (int level = 0; level < 3; level++) {
            table = read(table + 8 * ((va >>> (39 - 9 * level)) & 511)) & 0x0000_FFFF_FFFF_F000L;
        }
        return table + 8 * ((va >>> 12) & 511);
    }

    /** A valid guest CD: 48-bit TTB0 range, 4 KiB granule, IPS 48, EPD1, AA64, R, A, WB walks, {@code asid}. */
    static long[] cd(int asid, long ttb0) {
        long[] cd = new long[8];
        cd[0] = T0SZ.of(16) | TG0.of(0) | IR0.of(CACHE_WBWA) | OR0.of(CACHE_WBWA) | SH0.of(3) | EPD1.of(1) | V.of(1) | IPS.of(5)
                | AA64.of(1) | R.of(1) | A.of(1) | ASID.of(asid);
        cd[1] = ttb0 & TTB0.mask();
        cd[3] = VmsaFormat.MAIR;
        return cd;
    }

    /** Writes {@code words} at {@code at}, dword 0 (with V) last. */
    void writeCd(long at, long[] words) {
        for (int i = 7; i >= 0; i--) {
            write(at + 8L * i, words[i]);
        }
    }

    NestedDomain nest(SmmuContextTableConfig config) {
        return m.unit.allocateNestedDomain(s2, config);
    }
}
