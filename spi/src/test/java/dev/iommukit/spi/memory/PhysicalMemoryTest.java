package dev.iommukit.spi.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.error.InvalidArgumentException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class PhysicalMemoryTest {
    private final PhysicalMemory memory = PhysicalMemory.builder().ram(0x8000_0000L, 0x10_0000).ram(0x1000, 0x2000).build();

    @Test
    void unwrittenMemoryReadsZeroAndStoresAreLittleEndian() {
        assertThat(memory.read64(0x8000_0000L)).isZero();
        memory.write64(0x8000_0008L, 0x1122_3344_5566_7788L);
        byte[] bytes = new byte[8];
        memory.read(0x8000_0008L, bytes, 0, 8);
        assertThat(bytes).containsExactly(0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11);
        assertThat(memory.read32(0x8000_000CL)).isEqualTo(0x1122_3344);
        assertThat(memory.read32(0x8000_0008L)).isEqualTo(0x5566_7788);
    }

    @Test
    void write32ChangesOnlyItsHalf() {
        memory.write64(0x2000, -1L);
        memory.write32(0x2004, 0);
        assertThat(memory.read64(0x2000)).isEqualTo(0xFFFF_FFFFL);
    }

    @Test
    void accessOutsideRamIsAnExternalAbort() {
        assertThatThrownBy(() -> memory.read64(0x4000)).isInstanceOf(ExternalAbortException.class)
                .satisfies(e -> assertThat(((ExternalAbortException) e).address()).isEqualTo(0x4000));
        assertThatThrownBy(() -> memory.write64(0x8010_0000L, 1)).isInstanceOf(ExternalAbortException.class);
        assertThatThrownBy(() -> memory.read(0x8000_0000L + 0x10_0000 - 4, new byte[8], 0, 8)).isInstanceOf(ExternalAbortException.class);
        assertThat(memory.isRam(0x1000, 0x2000)).isTrue();
        assertThat(memory.isRam(0x1000, 0x2001)).isFalse();
    }

    @Test
    void misalignedWordAccessIsRefusedWithTheRule() {
        assertThatThrownBy(() -> memory.read64(0x8000_0004L)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("pa").hasMessageContaining("8-byte aligned");
    }

    @Test
    void overlappingRegionsAreRefused() {
        assertThatThrownBy(() -> PhysicalMemory.builder().ram(0x1000, 0x2000).ram(0x2000, 0x1000).build())
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("overlap");
    }

    @Test
    void compareAndSwapSucceedsOnlyOnTheExpectedValue() {
        memory.write64(0x8000_0100L, 5);
        assertThat(memory.compareAndSwap64(0x8000_0100L, 4, 9)).isFalse();
        assertThat(memory.compareAndSwap64(0x8000_0100L, 5, 9)).isTrue();
        assertThat(memory.read64(0x8000_0100L)).isEqualTo(9);
    }

    @Test
    void nonZeroPagesAreListedOnceEach() {
        memory.write64(0x8000_1ff8L, 7);
        memory.write64(0x8000_3000L, 1);
        memory.write64(0x8000_3000L, 0);
        List<Long> pages = new ArrayList<>();
        memory.forEachNonZeroPage((pa, words) -> pages.add(pa));
        assertThat(pages).containsExactly(0x8000_1000L);
    }

    @Test
    void concurrentByteWritesToOneWordAreNotLost() throws Exception {
        AtomicBoolean failed = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int lane = t;
            threads.add(new Thread(() -> {
                for (int i = 0; i < 2000; i++) {
                    memory.write(0x8000_0200L + lane, new byte[] {(byte) (i + 1)}, 0, 1);
                }
            }));
        }
        threads.forEach(Thread::start);
        for (Thread t : threads) {
            t.join();
        }
        byte[] lanes = new byte[8];
        memory.read(0x8000_0200L, lanes, 0, 8);
        for (byte b : lanes) {
            failed.compareAndSet(false, b != (byte) 2000);
        }
        assertThat(failed).isFalse();
    }
}
