package dev.iommukit.spi.pgtable.vtd;

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

/** Pins the VT-d second-level entry bits to digest §8 and the AW codes to §1.2/§5. */
class SecondLevelFormatTest {
    @Test
    void entryBitPositionsMatchDigestSection8() {
        assertThat(SecondLevelEntry.R).isEqualTo(1L);
        assertThat(SecondLevelEntry.W).isEqualTo(2L);
        assertThat(SecondLevelEntry.X).isEqualTo(4L);
        assertThat(SecondLevelEntry.EMT_MASK).isEqualTo(0x38L);
        assertThat(SecondLevelEntry.IPAT).isEqualTo(0x40L);
        assertThat(SecondLevelEntry.PS).isEqualTo(0x80L);
        assertThat(SecondLevelEntry.A).isEqualTo(0x100L);
        assertThat(SecondLevelEntry.D).isEqualTo(0x200L);
        assertThat(SecondLevelEntry.SNP).isEqualTo(0x800L);
        assertThat(SecondLevelEntry.TM).isEqualTo(1L << 62);
    }

    @Test
    void levelsFollowAddressWidth() {
        // AW 1 -> 39-bit 3 levels, 2 -> 48-bit 4 levels, 3 -> 57-bit 5 levels (levels = AW + 2).
        for (int[] c : new int[][] {{39, 1, 3, 30}, {48, 2, 4, 39}, {57, 3, 5, 48}}) {
            SecondLevelFormat f = new SecondLevelFormat(c[0], true, true);
            assertThat(f.awCode()).isEqualTo(c[1]);
            assertThat(f.levels()).isEqualTo(c[2]);
            assertThat(f.levels()).isEqualTo(c[1] + 2);
            assertThat(f.indexShift(0)).isEqualTo(c[3]);
            assertThat(f.inputBits()).isEqualTo(c[0]);
            assertThat(SecondLevelFormat.addressWidthOf(c[1])).isEqualTo(c[0]);
        }
        assertThatThrownBy(() -> new SecondLevelFormat(40, true, true)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("addressWidth");
    }

    @Test
    void largePagesFollowSllps() {
        assertThat(new SecondLevelFormat(48, true, true).pageSizes()).isEqualTo((1L << 12) | (1L << 21) | (1L << 30));
        assertThat(new SecondLevelFormat(48, true, false).pageSizes()).isEqualTo((1L << 12) | (1L << 21));
        assertThat(new SecondLevelFormat(48, false, false).pageSizes()).isEqualTo(1L << 12);
        // 39-bit: the top level is the PDPE level, which may hold 1 GiB pages.
        assertThat(new SecondLevelFormat(39, true, true).leafAllowed(0)).isTrue();
    }

    @Test
    void encodings() {
        SecondLevelFormat f = new SecondLevelFormat(48, true, true);
        assertThat(f.encodeTable(0x5000, 0)).isEqualTo(0x5003L);
        assertThat(f.encodeLeaf(0x7000, 3, Permissions.READ)).isEqualTo(0x7001L);
        assertThat(f.encodeLeaf(0x7000, 3, Permissions.WRITE)).isEqualTo(0x7002L);
        assertThat(f.encodeLeaf(0x7000, 3, Permissions.READ | Permissions.WRITE | Permissions.EXECUTE)).isEqualTo(0x7007L);
        assertThat(f.encodeLeaf(0x20_0000, 2, Permissions.READ_WRITE)).isEqualTo(0x20_0083L);
        assertThat(f.encodeLeaf(0x4000_0000L, 1, Permissions.READ_WRITE)).isEqualTo(0x4000_0083L);
        assertThat(f.isLeaf(0x20_0083L, 2)).isTrue();
        assertThat(f.isTable(0x20_0003L, 2)).isTrue();
        assertThat(f.isLeaf(0, 3)).isFalse();
        assertThat(f.isTable(0x5004L, 0)).as("X alone is not present").isFalse();
    }

    @Test
    void reservedMask() {
        // leaf 4K, SC=0, DT=0: SNP + TM + 51:48
        assertThat(SecondLevelEntry.reservedMask(48, false, 12, false, false)).isEqualTo(0x800L | (1L << 62) | 0x000F_0000_0000_0000L);
        // 2 MiB leaf adds 20:12
        assertThat(SecondLevelEntry.reservedMask(48, false, 21, true, true)).isEqualTo(0x1F_F000L | 0x000F_0000_0000_0000L);
        // PML4E: PS reserved, SNP reserved in non-leaf
        assertThat(SecondLevelEntry.reservedMask(52, true, 0, true, true)).isEqualTo(0x880L);
        // 1 GiB leaf 29:12
        assertThat(SecondLevelEntry.reservedMask(52, false, 30, true, true)).isEqualTo(0x3FFF_F000L);
    }

    @Test
    void pageTableMapsAllSizes() {
        PhysicalMemory mem = PhysicalMemory.of(0, 64L << 20);
        PageAllocator alloc = new PageAllocator(mem, 32L << 20, 32L << 20);
        PageTable t = new PageTable(new SecondLevelFormat(39, true, true), alloc, "t");
        t.map(0x4000_0000L, 0x8000_0000L, 1L << 30, 1, Permissions.READ);
        t.map(0x20_0000L, 0x40_0000L, 1L << 21, 1, Permissions.READ_WRITE);
        t.map(0x1000L, 0x9000L, 4096, 2, Permissions.WRITE);
        assertThat(t.iovaToPhys(0x4123_4567L)).isEqualTo(0x8123_4567L);
        assertThat(t.iovaToPhys(0x20_0010L)).isEqualTo(0x40_0010L);
        assertThat(t.iovaToPhys(0x2004L)).isEqualTo(0xA004L);
        assertThat(mem.read64(t.root() + 8)).isEqualTo(0x8000_0081L);
        t.free();
        assertThat(alloc.allocatedPages()).isZero();
    }

    @Property(tries = 200)
    void leafRoundTrip(@ForAll @LongRange(min = 0, max = (1L << 40) - 1) long frame, @ForAll @IntRange(min = 1, max = 3) int level,
                       @ForAll @IntRange(min = 1, max = 7) int perms) {
        SecondLevelFormat f = new SecondLevelFormat(48, true, true);
        long pa = (frame << 12) & -(f.leafSize(level));
        long e = f.encodeLeaf(pa, level, perms);
        assertThat(f.isLeaf(e, level)).isEqualTo((perms & 3) != 0);
        assertThat(f.address(e, level)).isEqualTo(pa);
        assertThat(f.permissions(e, level)).isEqualTo(perms);
    }
}
