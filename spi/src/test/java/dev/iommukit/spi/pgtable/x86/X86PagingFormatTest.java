package dev.iommukit.spi.pgtable.x86;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.pgtable.PageTable;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/** Pins the IA-32e entry bits to VT-d digest §7 (first-level paging). */
class X86PagingFormatTest {
    private final X86PagingFormat four = X86PagingFormat.fourLevelForDma();

    @Test
    void entryBitPositionsMatchDigestSection7() {
        assertThat(X86PagingEntry.P).isEqualTo(1L << 0);
        assertThat(X86PagingEntry.RW).isEqualTo(1L << 1);
        assertThat(X86PagingEntry.US).isEqualTo(1L << 2);
        assertThat(X86PagingEntry.PWT).isEqualTo(1L << 3);
        assertThat(X86PagingEntry.PCD).isEqualTo(1L << 4);
        assertThat(X86PagingEntry.A).isEqualTo(1L << 5);
        assertThat(X86PagingEntry.D).isEqualTo(1L << 6);
        assertThat(X86PagingEntry.PS).isEqualTo(1L << 7);
        assertThat(X86PagingEntry.G).isEqualTo(1L << 8);
        assertThat(X86PagingEntry.EA).isEqualTo(1L << 10);
        assertThat(X86PagingEntry.LARGE_PAT).isEqualTo(1L << 12);
        assertThat(X86PagingEntry.XD).isEqualTo(1L << 63);
        assertThat(X86PagingEntry.ADDRESS_MASK).isEqualTo(((1L << 52) - 1) & ~0xFFFL);
    }

    @Test
    void levelsIndexTheDigestBitRanges() {
        // §7: PML4 47:39, PDPT 38:30, PD 29:21, PT 20:12; PML5 56:48.
        assertThat(four.levels()).isEqualTo(4);
        assertThat(four.inputBits()).isEqualTo(48);
        assertThat(new int[] {four.indexShift(0), four.indexShift(1), four.indexShift(2), four.indexShift(3)}).containsExactly(39, 30, 21, 12);
        X86PagingFormat five = X86PagingFormat.fiveLevelForDma();
        assertThat(five.levels()).isEqualTo(5);
        assertThat(five.inputBits()).isEqualTo(57);
        assertThat(five.indexShift(0)).isEqualTo(48);
        assertThat(four.pageSizes()).isEqualTo((1L << 12) | (1L << 21) | (1L << 30));
        assertThat(new X86PagingFormat(4, false, true, true, false).pageSizes()).isEqualTo((1L << 12) | (1L << 21));
        assertThat(five.leafAllowed(0)).isFalse();
        assertThat(five.leafAllowed(1)).isFalse();
    }

    @Test
    void tableEntryIsPresentWritableUserAccessed() {
        assertThat(four.encodeTable(0x1234_5000L, 0)).isEqualTo(0x1234_5000L | 0x1 | 0x2 | 0x4 | 0x20);
    }

    @Test
    void leafOf4KiBWritableSetsADAndNoPs() {
        assertThat(four.encodeLeaf(0xABC_D000L, 3, Permissions.READ_WRITE)).isEqualTo(0xABC_D000L | 0x1 | 0x2 | 0x4 | 0x20 | 0x40);
        assertThat(four.encodeLeaf(0xABC_D000L, 3, Permissions.READ)).isEqualTo(0xABC_D000L | 0x1 | 0x4 | 0x20);
    }

    @Test
    void largeLeavesSetPsAndMaskTheirAddress() {
        long pde = four.encodeLeaf(0x4020_0000L, 2, Permissions.READ);
        assertThat(pde & X86PagingEntry.PS).isNotZero();
        assertThat(four.isLeaf(pde, 2)).isTrue();
        assertThat(four.isTable(pde, 2)).isFalse();
        long pdpe = four.encodeLeaf(0x4000_0000L, 1, Permissions.READ_WRITE);
        assertThat(pdpe).isEqualTo(0x4000_0000L | 0x80 | 0x40 | 0x20 | 0x4 | 0x2 | 0x1);
        // PAT (bit 12) of a large leaf is not an address bit.
        assertThat(four.address(pdpe | X86PagingEntry.LARGE_PAT, 1)).isEqualTo(0x4000_0000L);
    }

    @Test
    void psInPml4eDoesNotMakeALeaf() {
        long e = 0x5000L | X86PagingEntry.P | X86PagingEntry.PS;
        assertThat(four.isLeaf(e, 0)).isFalse();
        assertThat(four.isTable(e, 0)).isTrue();
    }

    @Test
    void xdOnlyWhenAskedFor() {
        assertThat(four.encodeLeaf(0x1000, 3, Permissions.READ) & X86PagingEntry.XD).isZero();
        X86PagingFormat nx = new X86PagingFormat(4, true, true, true, true);
        assertThat(nx.encodeLeaf(0x1000, 3, Permissions.READ) & X86PagingEntry.XD).isNotZero();
        assertThat(nx.encodeLeaf(0x1000, 3, Permissions.READ | Permissions.EXECUTE) & X86PagingEntry.XD).isZero();
        assertThat(nx.permissions(nx.encodeLeaf(0x1000, 3, Permissions.READ | Permissions.EXECUTE), 3)).isEqualTo(Permissions.READ | Permissions.EXECUTE);
    }

    @Test
    void hardwareManagedAccessedDirtyLeavesThemClear() {
        X86PagingFormat hw = new X86PagingFormat(4, true, false, false, false);
        assertThat(hw.encodeLeaf(0x1000, 3, Permissions.READ_WRITE)).isEqualTo(0x1000L | 0x1 | 0x2);
        assertThat(hw.encodeTable(0x2000, 0)).isEqualTo(0x2000L | 0x1 | 0x2);
    }

    @Test
    void reservedMaskFollowsDigestSection7() {
        // non-leaf PML4E: 51:HAW plus bit 7
        assertThat(X86PagingEntry.reservedMask(48, 39, 0)).isEqualTo(0x000F_0000_0000_0000L | 0x80);
        // 2 MiB leaf: 51:HAW plus 20:13
        assertThat(X86PagingEntry.reservedMask(48, 21, 21)).isEqualTo(0x000F_0000_0000_0000L | 0x1F_E000L);
        // 1 GiB leaf: 29:13
        assertThat(X86PagingEntry.reservedMask(48, 30, 30)).isEqualTo(0x000F_0000_0000_0000L | 0x3FFF_E000L);
        assertThat(X86PagingEntry.reservedMask(52, 12, 12)).isZero();
    }

    @Test
    void canonicalCheck() {
        assertThat(X86PagingEntry.canonical(0x0000_7FFF_FFFF_F000L, 48)).isTrue();
        assertThat(X86PagingEntry.canonical(0xFFFF_8000_0000_0000L, 48)).isTrue();
        assertThat(X86PagingEntry.canonical(0x0000_8000_0000_0000L, 48)).isFalse();
        assertThat(X86PagingEntry.canonical(0x0000_8000_0000_0000L, 57)).isTrue();
        assertThat(X86PagingEntry.canonical(0x0100_0000_0000_0000L, 57)).isFalse();
    }

    @Test
    void refusesOtherLevelCounts() {
        assertThatThrownBy(() -> new X86PagingFormat(3, true, true, true, false)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("levels");
    }

    @Test
    void pageTableMapsThroughTheFormat() {
        PhysicalMemory mem = PhysicalMemory.of(0, 64L << 20);
        PageAllocator alloc = new PageAllocator(mem, 32L << 20, 32L << 20);
        PageTable t = new PageTable(four, alloc, "t");
        t.map(0x4000_0000L, 0x20_0000L, 1L << 21, 1, Permissions.READ_WRITE);
        t.map(0x1000L, 0x7000L, 4096, 1, Permissions.READ);
        assertThat(t.iovaToPhys(0x4000_1234L)).isEqualTo(0x20_1234L);
        assertThat(t.iovaToPhys(0x1010L)).isEqualTo(0x7010L);
        long pml4e = mem.read64(t.root());
        assertThat(pml4e & 0xFFF).isEqualTo(0x27);
        t.unmap(0x4000_0000L, 4096);
        assertThat(t.iovaToPhys(0x4000_0000L)).isEqualTo(-1);
        assertThat(t.iovaToPhys(0x4000_1000L)).isEqualTo(0x20_1000L);
        t.free();
        assertThat(alloc.allocatedPages()).isZero();
    }

    @Property(tries = 200)
    void leafRoundTrip(@ForAll @LongRange(min = 0, max = (1L << 40) - 1) long frame, @ForAll @IntRange(min = 1, max = 3) int level,
                       @ForAll @IntRange(min = 1, max = 3) int perms) {
        long pa = (frame << 12) & -(four.leafSize(level));
        long e = four.encodeLeaf(pa, level, perms);
        assertThat(four.isLeaf(e, level)).isTrue();
        assertThat(four.address(e, level)).isEqualTo(pa);
        int expected = Permissions.READ | (perms & Permissions.WRITE);
        assertThat(four.permissions(e, level)).isEqualTo(expected);
    }
}
