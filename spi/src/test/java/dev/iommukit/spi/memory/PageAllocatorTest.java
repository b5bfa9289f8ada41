package dev.iommukit.spi.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class PageAllocatorTest {
    private final PhysicalMemory memory = PhysicalMemory.of(0x40_0000, 0x10_0000);
    private final PageAllocator allocator = new PageAllocator(memory, 0x40_0000, 0x10_0000);

    @Test
    void blocksAreNaturallyAlignedZeroedAndAccounted() {
        long page = allocator.allocatePage("t");
        memory.write64(page, 42);
        allocator.free(page);
        long again = allocator.allocate(16 * 1024, "t");
        assertThat(again % (16 * 1024)).isZero();
        assertThat(memory.read64(again)).isZero();
        assertThat(allocator.allocatedPages()).isEqualTo(4);
        assertThat(allocator.liveAllocations()).singleElement().satisfies(a -> assertThat(a.owner()).isEqualTo("t"));
        allocator.free(again);
        assertThat(allocator.allocatedPages()).isZero();
    }

    @Test
    void exhaustionAndDoubleFreeAreTypedErrors() {
        allocator.allocate(0x10_0000, "all");
        assertThatThrownBy(() -> allocator.allocatePage("more")).isInstanceOf(ResourceExhaustedException.class)
                .hasMessageContaining("no free block");
        assertThatThrownBy(() -> allocator.free(0x40_1000)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("not the start of a live allocation");
    }

    @Test
    void randomAllocationsNeverOverlapAndAllMemoryReturns() {
        Random random = new Random(7);
        List<Long> live = new ArrayList<>();
        List<Long> sizes = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            if (!live.isEmpty() && random.nextBoolean()) {
                int k = random.nextInt(live.size());
                allocator.free(live.remove(k));
                sizes.remove(k);
            } else {
                long size = 4096L << random.nextInt(4);
                try {
                    live.add(allocator.allocate(size, "r"));
                    sizes.add(size);
                } catch (ResourceExhaustedException full) {
                    // a full pool is a legal outcome
                }
            }
            Set<Long> pages = new HashSet<>();
            for (int j = 0; j < live.size(); j++) {
                assertThat(live.get(j) % sizes.get(j)).isZero();
                for (long p = live.get(j); p < live.get(j) + sizes.get(j); p += 4096) {
                    assertThat(pages.add(p)).as("page 0x%x handed out twice", p).isTrue();
                }
            }
        }
        live.forEach(allocator::free);
        assertThat(allocator.allocatedPages()).isZero();
        assertThat(allocator.allocate(0x10_0000, "whole")).isEqualTo(0x40_0000);
    }
}
