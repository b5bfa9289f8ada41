package dev.iommukit.spi.pgtable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.TreeMap;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class PageTableTest {
    private static final long GIB = 1L << 30;
    private static final long MIB2 = 2L << 20;
    private final PhysicalMemory memory = PhysicalMemory.builder().ram(0x100_0000, 0x100_0000).build();
    private final PageAllocator allocator = new PageAllocator(memory, 0x100_0000, 0x100_0000);

    @Test
    void mapsPagesAndBlocksAtTheRightLevels() {
        PageTable t = new PageTable(new ToyFormat(), allocator, "t");
        t.map(0x4000_0000L, 0x8000_0000L, GIB, 1, Permissions.READ);
        t.map(0x20_0000, 0x1_0000_0000L, MIB2, 2, Permissions.READ_WRITE);
        t.map(0x1000, 0x9000, 4096, 3, Permissions.READ_WRITE);
        assertThat(t.iovaToPhys(0x4123_4567L)).isEqualTo(0x8123_4567L);
        assertThat(t.iovaToPhys(0x5f_ffffL)).isEqualTo(0x1_003f_ffffL);
        assertThat(t.iovaToPhys(0x3fffL)).isEqualTo(0xbfffL);
        assertThat(t.iovaToPhys(0x4000L)).isEqualTo(-1);
        // level-0 slot 1 is a 1 GiB leaf, written in memory exactly as the format encodes it
        assertThat(memory.read64(t.root() + 8)).isEqualTo(0x8000_0000L | 1 | (Permissions.READ << 4));
        assertThat(t.tablePages()).isEqualTo(3);
    }

    @Test
    void overlappingMapIsRefusedAndLeavesNothingOfItself() {
        PageTable t = new PageTable(new ToyFormat(), allocator, "t");
        t.map(0x3000, 0x3000, 4096, 1, Permissions.READ);
        assertThatThrownBy(() -> t.map(0x1000, 0x11000, 4096, 4, Permissions.READ)).isInstanceOf(ConflictException.class);
        assertThat(t.iovaToPhys(0x1000)).isEqualTo(-1);
        assertThat(t.iovaToPhys(0x2000)).isEqualTo(-1);
        assertThat(t.iovaToPhys(0x3000)).isEqualTo(0x3000);
    }

    @Test
    void runningOutOfTableMemoryUndoesThePartialMap() {
        PhysicalMemory small = PhysicalMemory.of(0x10_0000, 0x3000);
        PageAllocator tiny = new PageAllocator(small, 0x10_0000, 0x3000);
        PageTable t = new PageTable(new ToyFormat(), tiny, "t");
        assertThatThrownBy(() -> t.map(0x1F_F000, 0x1000, 4096, 2, Permissions.READ)).isInstanceOf(ResourceExhaustedException.class);
        assertThat(t.iovaToPhys(0x1F_F000)).isEqualTo(-1);
    }

    @Test
    void unmappingPartOfABlockSplitsItAndKeepsTheRest() {
        PageTable t = new PageTable(new ToyFormat(), allocator, "t");
        t.map(0, 0x8000_0000L, GIB, 1, Permissions.READ_WRITE);
        assertThat(t.unmap(0x20_1000, 0x1000)).isEqualTo(0x1000);
        assertThat(t.iovaToPhys(0x20_1000)).isEqualTo(-1);
        assertThat(t.iovaToPhys(0x20_0fff)).isEqualTo(0x8020_0fffL);
        assertThat(t.iovaToPhys(0x20_2000)).isEqualTo(0x8020_2000L);
        assertThat(t.iovaToPhys(0x3FFF_FFFFL)).isEqualTo(0xBFFF_FFFFL);
        assertThat(t.permissionsAt(0x20_2000)).isEqualTo(Permissions.READ_WRITE);
    }

    @Test
    void freeReturnsEveryTablePage() {
        long before = allocator.allocatedPages();
        PageTable t = new PageTable(new ToyFormat(), allocator, "t");
        t.map(0x1000, 0x1000, 4096, 600, Permissions.READ);
        t.unmap(0x1000, 4096 * 600);
        t.free();
        assertThat(allocator.allocatedPages()).isEqualTo(before);
    }

    @Property(tries = 60)
    void agreesWithASimpleModelUnderRandomMapsAndUnmaps(@ForAll @IntRange(min = 1, max = 1_000_000) int seed) {
        java.util.Random r = new java.util.Random(seed);
        PhysicalMemory m = PhysicalMemory.of(0x100_0000, 0x100_0000);
        PageTable t = new PageTable(new ToyFormat(), new PageAllocator(m, 0x100_0000, 0x100_0000), "p");
        TreeMap<Long, Long> model = new TreeMap<>();
        for (int step = 0; step < 40; step++) {
            long page = r.nextInt(2) == 0 ? 4096 : MIB2;
            long iova = (r.nextInt(64) * MIB2) + (page == 4096 ? r.nextInt(512) * 4096L : 0);
            if (r.nextBoolean()) {
                boolean free = true;
                for (long a = iova; a < iova + page; a += 4096) {
                    free &= !model.containsKey(a);
                }
                if (free) {
                    long pa = 0x4000_0000L + r.nextInt(1 << 10) * MIB2;
                    t.map(iova, pa, page, 1, Permissions.READ);
                    for (long a = 0; a < page; a += 4096) {
                        model.put(iova + a, pa + a);
                    }
                }
            } else {
                long size = 4096L * (1 + r.nextInt(600));
                t.unmap(iova, size);
                model.subMap(iova, iova + size).clear();
            }
        }
        for (long a = 0; a < 64 * MIB2; a += 4096 * 7) {
            assertThat(t.iovaToPhys(a)).isEqualTo(model.getOrDefault(a, -1L));
        }
    }
}
