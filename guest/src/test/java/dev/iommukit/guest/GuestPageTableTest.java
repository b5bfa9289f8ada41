package dev.iommukit.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.guest.GuestPageTable.Format;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The guest's own page tables, read back entry by entry from guest memory at the GPAs the
 * architecture's index bits give (x86-64 IA-32e paging: 9 bits per level from bit 12; VMSAv8-64
 * 4K granule, 48-bit: levels 0..3 indexed by VA[47:39], [38:30], [29:21], [20:12]).
 */
class GuestPageTableTest {
    // x86-64 entry bits (Intel SDM vol. 3 4.5; VT-d first level)
    private static final long P = 1;
    private static final long RW = 1L << 1;
    private static final long US = 1L << 2;
    private static final long A = 1L << 5;
    private static final long D = 1L << 6;
    private static final long PS = 1L << 7;
    // VMSAv8-64 descriptor bits (spec/smmuv3.md section 7)
    private static final long TABLE_OR_PAGE = 0b11;
    private static final long ATTRINDX_1 = 1L << 2;
    private static final long AP1 = 1L << 6;
    private static final long AP2 = 1L << 7;
    private static final long SH_INNER = 3L << 8;
    private static final long AF = 1L << 10;
    private static final long NG = 1L << 11;
    private static final long PXN = 1L << 53;
    private static final long UXN = 1L << 54;

    private final GuestRig rig = new GuestRig();
    private final Guest guest = rig.guest(0x10_0000);

    @AfterEach
    void tearDown() {
        rig.close();
    }

    private long entry(long table, long va, int shift) {
        return guest.memory().read64(table + ((va >>> shift) & 0x1FF) * 8);
    }

    private static long next(long entry) {
        return entry & 0x000F_FFFF_FFFF_F000L;
    }

    @Test
    void x86FourLevelEntriesSitWhereTheWalkLooksAndCarryLinuxFirstLevelBits() {
        GuestPageTable pt = guest.newPageTable(Format.X86_64_4LEVEL);
        long va = 0x0000_7F12_3456_7000L;
        pt.map(va, 0x4_2000, 0x1000, Permissions.READ_WRITE);
        pt.map(va + 0x1000, 0x4_5000, 0x1000, Permissions.READ);

        long pml4e = entry(pt.root(), va, 39);
        assertThat(pml4e & 0xFFF).isEqualTo(P | RW | US | A);
        long pdpte = entry(next(pml4e), va, 30);
        assertThat(pdpte & 0xFFF).isEqualTo(P | RW | US | A);
        long pde = entry(next(pdpte), va, 21);
        assertThat(pde & 0xFFF).isEqualTo(P | RW | US | A);
        long pt1 = next(pde);
        assertThat(entry(pt1, va, 12)).isEqualTo(0x4_2000L | P | RW | US | A | D);
        assertThat(entry(pt1, va + 0x1000, 12)).as("read-only: no R/W, no D").isEqualTo(0x4_5000L | P | US | A);
        for (long table : new long[] {pt.root(), next(pml4e), next(pdpte), pt1}) {
            assertThat(guest.memory().contains(table, 0x1000)).as("tables are guest pages").isTrue();
            assertThat(table & 0xFFF).isZero();
        }
        assertThat(pt.tablePages()).isEqualTo(4);
        assertThat(pt.translate(va + 0x123)).isEqualTo(0x4_2123L);
        assertThat(pt.translate(va + 0x1FFF)).isEqualTo(0x4_5FFFL);
        assertThat(pt.translate(va + 0x2000)).isEqualTo(-1);
        assertThat(pt.permissionsAt(va + 0x1000)).isEqualTo(Permissions.READ);
    }

    @Test
    void x86UpperHalfAndFiveLevelAddressesIndexTheirOwnBits() {
        GuestPageTable four = guest.newPageTable(Format.X86_64_4LEVEL);
        long kernel = 0xFFFF_8000_0020_0000L;
        four.map(kernel, 0x8000, 0x1000, Permissions.READ);
        assertThat(guest.memory().read64(four.root() + 256 * 8) & P).as("PML4 index 256 for VA[47]=1").isEqualTo(P);
        assertThat(four.mappings()).containsExactly(new GuestMapping(kernel, 0x8000, 0x1000, Permissions.READ));

        GuestPageTable five = guest.newPageTable(Format.X86_64_5LEVEL);
        long va = 0x00AB_CDEF_1234_5000L;
        five.map(va, 0x9000, 0x1000, Permissions.READ_WRITE);
        long pml5e = entry(five.root(), va, 48);
        assertThat(pml5e & 0xFFF).isEqualTo(P | RW | US | A);
        long pml4e = entry(next(pml5e), va, 39);
        long pdpte = entry(next(pml4e), va, 30);
        long pde = entry(next(pdpte), va, 21);
        assertThat(entry(next(pde), va, 12)).isEqualTo(0x9000L | P | RW | US | A | D);
        assertThat(five.translate(va + 8)).isEqualTo(0x9008L);
    }

    @Test
    void aarch64EntriesAreVmsaStageOneDescriptors() {
        GuestPageTable pt = guest.newPageTable(Format.AARCH64_4K_48BIT);
        long va = 0x0000_7F00_0040_3000L;
        pt.map(va, 0x6_1000, 0x1000, Permissions.READ_WRITE);
        pt.map(va + 0x1000, 0x6_7000, 0x1000, Permissions.READ);
        pt.map(va + 0x2000, 0x6_8000, 0x1000, Permissions.READ | Permissions.EXECUTE);

        long l0 = entry(pt.root(), va, 39);
        assertThat(l0 & ~0x000F_FFFF_FFFF_F000L).isEqualTo(TABLE_OR_PAGE);
        long l1 = entry(next(l0), va, 30);
        assertThat(l1 & ~0x000F_FFFF_FFFF_F000L).isEqualTo(TABLE_OR_PAGE);
        long l2 = entry(next(l1), va, 21);
        assertThat(l2 & ~0x000F_FFFF_FFFF_F000L).isEqualTo(TABLE_OR_PAGE);
        long l3 = next(l2);
        long common = TABLE_OR_PAGE | ATTRINDX_1 | AP1 | SH_INNER | AF | NG;
        assertThat(entry(l3, va, 12)).isEqualTo(0x6_1000L | common | PXN | UXN);
        assertThat(entry(l3, va + 0x1000, 12)).isEqualTo(0x6_7000L | common | AP2 | PXN | UXN);
        assertThat(entry(l3, va + 0x2000, 12)).isEqualTo(0x6_8000L | common | AP2);
        assertThat(pt.translate(va + 0x2ABC)).isEqualTo(0x6_8ABCL);
        assertThat(pt.permissionsAt(va + 0x2000)).isEqualTo(Permissions.READ | Permissions.EXECUTE);
    }

    @Test
    void mappingsAreReadBackFromMemoryAndMergedIntoRuns() {
        GuestPageTable pt = guest.newPageTable(Format.AARCH64_4K_48BIT);
        pt.map(0x40_0000, 0x1_0000, 0x3000, Permissions.READ_WRITE);
        pt.map(0x40_3000, 0x1_3000, 0x1000, Permissions.READ);
        pt.map(0x1_0000_0000L, 0x2_0000, 0x2000, Permissions.READ_WRITE);
        assertThat(pt.mappings()).containsExactly(
                new GuestMapping(0x40_0000, 0x1_0000, 0x3000, Permissions.READ_WRITE),
                new GuestMapping(0x40_3000, 0x1_3000, 0x1000, Permissions.READ),
                new GuestMapping(0x1_0000_0000L, 0x2_0000, 0x2000, Permissions.READ_WRITE));

        // a 2 MiB block the guest wrote by hand at level 2 is read back too
        long l1 = next(entry(pt.root(), 0x40_0000, 39));
        long l2 = next(entry(l1, 0x40_0000, 30));
        guest.memory().write64(l2 + 8 * 8, 0x20_0000L | 0b01 | AF | AP1 | SH_INNER | ATTRINDX_1);
        assertThat(pt.translate(0x100_0000L + 0x1234)).isEqualTo(0x20_1234L);
        assertThat(pt.mappings()).contains(new GuestMapping(0x100_0000L, 0x20_0000, 0x20_0000, Permissions.READ_WRITE | Permissions.EXECUTE));
        assertThatThrownBy(() -> pt.unmap(0x100_0000L, 0x1000)).as("cuts the block").isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("size:");
        assertThat(pt.translate(0x100_0000L)).isEqualTo(0x20_0000L);
        assertThat(pt.unmap(0x100_0000L, 0x20_0000)).isEqualTo(0x20_0000);
        assertThat(pt.translate(0x100_0000L)).isEqualTo(-1);

        // x86: a 2 MiB page (PS in the PDE)
        GuestPageTable x86 = guest.newPageTable(Format.X86_64_4LEVEL);
        x86.map(0x40_0000, 0x1_0000, 0x1000, Permissions.READ);
        long pdpt = next(entry(x86.root(), 0x40_0000, 39));
        long pd = next(entry(pdpt, 0x40_0000, 30));
        guest.memory().write64(pd + 3 * 8, 0x40_0000L | P | RW | US | PS);
        assertThat(x86.translate(0x60_1234L)).isEqualTo(0x40_1234L);
        assertThat(x86.mappings()).containsExactly(new GuestMapping(0x40_0000, 0x1_0000, 0x1000, Permissions.READ),
                new GuestMapping(0x60_0000, 0x40_0000, 0x20_0000, Permissions.READ_WRITE));
    }

    @Test
    void unmapClearsLeavesAndKeepsTheTables() {
        GuestPageTable pt = guest.newPageTable(Format.X86_64_4LEVEL);
        pt.map(0x1000_0000L, 0x3000, 0x4000, Permissions.READ_WRITE);
        int tables = pt.tablePages();
        assertThat(pt.unmap(0x1000_1000L, 0x2000)).isEqualTo(0x2000);
        assertThat(pt.unmap(0x1000_1000L, 0x2000)).isZero();
        assertThat(pt.mappings()).containsExactly(new GuestMapping(0x1000_0000L, 0x3000, 0x1000, Permissions.READ_WRITE),
                new GuestMapping(0x1000_3000L, 0x6000, 0x1000, Permissions.READ_WRITE));
        long pde = entry(next(entry(next(entry(pt.root(), 0x1000_0000L, 39)), 0x1000_0000L, 30)), 0x1000_0000L, 21);
        assertThat(entry(next(pde), 0x1000_1000L, 12)).as("a cleared entry is 0").isZero();
        assertThat(pt.tablePages()).isEqualTo(tables);
    }

    @Test
    void badArgumentsAreRefusedNamingThemAndAnOverlapChangesNothing() {
        GuestPageTable x86 = guest.newPageTable(Format.X86_64_4LEVEL);
        GuestPageTable arm = guest.newPageTable(Format.AARCH64_4K_48BIT);
        assertThatThrownBy(() -> x86.map(0x1001, 0, 0x1000, Permissions.READ)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("va:");
        assertThatThrownBy(() -> x86.map(0x0000_8000_0000_0000L, 0, 0x1000, Permissions.READ)).as("non-canonical")
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("canonical");
        assertThatThrownBy(() -> x86.map(0x0000_7FFF_FFFF_F000L, 0, 0x2000, Permissions.READ)).as("runs off the lower half")
                .isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("va:");
        assertThatThrownBy(() -> arm.map(0xFFFF_0000_0000_0000L, 0, 0x1000, Permissions.READ)).as("TTB1 range")
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("TTB0");
        assertThatThrownBy(() -> arm.map(0x1000, 0x800, 0x1000, Permissions.READ)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("gpa:");
        assertThatThrownBy(() -> arm.map(0x1000, 1L << 48, 0x1000, Permissions.READ)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("gpa:");
        assertThatThrownBy(() -> arm.map(0x1000, 0, 0, Permissions.READ)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("size:");
        assertThatThrownBy(() -> arm.map(0x1000, 0, 0x1000, Permissions.WRITE)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("permissions:");

        arm.map(0x5000, 0x9000, 0x1000, Permissions.READ);
        var before = arm.mappings();
        assertThatThrownBy(() -> arm.map(0x3000, 0x1_0000, 0x4000, Permissions.READ_WRITE)).isInstanceOf(ConflictException.class)
                .hasMessageStartingWith("va: 0x5000");
        assertThat(arm.mappings()).isEqualTo(before);
    }

    @Test
    void runningOutOfGuestRamForTablesUndoesTheLeavesOfThatCall() {
        GuestRig small = new GuestRig();
        try {
            Guest g = small.guest(0x6000);
            GuestPageTable pt = g.newPageTable(Format.X86_64_4LEVEL);
            // root + PDPT + PD + one PT: 4 of the 6 pages; one more is taken, so one is left for one more PT
            pt.map(0x1F_E000, 0x0000, 0x2000, Permissions.READ);
            assertThat(g.allocatedPages()).isEqualTo(4);
            g.allocatePage();
            // 0x3F_F000 needs the PT of PD slot 1 (the last page), 0x40_0000 that of slot 2: none left
            assertThatThrownBy(() -> pt.map(0x3F_F000, 0x1000, 0x2000, Permissions.READ))
                    .isInstanceOf(ResourceExhaustedException.class);
            assertThat(pt.translate(0x3F_F000)).as("the leaf written before the failure is cleared").isEqualTo(-1);
            assertThat(pt.mappings()).containsExactly(new GuestMapping(0x1F_E000, 0, 0x2000, Permissions.READ));
        } finally {
            small.close();
        }
    }

    @Test
    void freeGivesTheTablesBackToTheGuestAllocator() {
        int before = guest.allocatedPages();
        GuestPageTable pt = guest.newPageTable(Format.AARCH64_4K_48BIT);
        pt.map(0x10_0000, 0, 0x1000, Permissions.READ);
        pt.map(0x80_0000_0000L, 0, 0x1000, Permissions.READ);
        assertThat(guest.allocatedPages()).isEqualTo(before + pt.tablePages()).isEqualTo(before + 7);
        pt.free();
        assertThat(guest.allocatedPages()).isEqualTo(before);
        assertThatThrownBy(() -> pt.translate(0)).isInstanceOf(ClosedException.class);
        pt.free();
    }
}
