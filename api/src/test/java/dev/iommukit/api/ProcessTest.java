package dev.iommukit.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class ProcessTest {
    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void anonymousMemoryIsMappedInTheCpuFormatAndResolves(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Process p = m.newProcess("qemu");
            long va = p.mmap(0x3000, Permissions.READ_WRITE);
            long pa = p.resolve(va + 0x1234);
            assertThat(pa).isPositive();
            assertThat(m.memory().isRam(pa, 1)).isTrue();
            assertThat(p.resolve(va + 0x4000)).isEqualTo(-1);
            // the root table's entry for the VA's top index points at the next table, as the CPU format says
            long topIndex = (va >>> 39) & 0x1FF;
            long descriptor = m.memory().read64(p.pageTableRoot() + topIndex * 8);
            assertThat(descriptor & 1).as("valid/present bit").isEqualTo(1);
            if (m.cpu() == CpuArchitecture.AARCH64) {
                assertThat(descriptor & 3).as("VMSAv8-64 table descriptor").isEqualTo(3);
            } else {
                assertThat(descriptor & 4).as("x86-64 U/S").isEqualTo(4);
            }
            p.munmap(va + 0x1000, 0x1000);
            assertThat(p.resolve(va + 0x1000)).isEqualTo(-1);
            assertThat(p.resolve(va)).isPositive();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void pinsHonourTheLockedLimitAndOutliveExit(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Process p = m.newProcess("vmm");
            long va = p.mmap(0x4000, Permissions.READ_WRITE);
            p.setLockedMemoryLimit(0x2000);
            long[] pinned = p.pin(va, 0x2000, Permissions.READ_WRITE);
            assertThat(pinned).hasSize(2).containsExactly(p.resolve(va), p.resolve(va + 0x1000));
            assertThatThrownBy(() -> p.pin(va + 0x2000, 0x1000, Permissions.READ))
                    .isInstanceOf(ResourceExhaustedException.class).hasMessageContaining("locked-memory limit");
            assertThat(p.lockedBytes()).isEqualTo(0x2000);
            p.exit();
            assertThat(m.processPagesInUse()).isEqualTo(2);
            m.memory().write64(pinned[0], 0x55);
            p.unpin(pinned);
            assertThat(m.processPagesInUse()).isZero();
            assertThatThrownBy(() -> p.mmap(0x1000, Permissions.READ)).isInstanceOf(ClosedException.class);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void cpuLoadsAndStoresGoThroughThePageTablesAcrossPages(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Process p = m.newProcess("cpu");
            long va = p.mmap(0x2000, Permissions.READ_WRITE);
            byte[] data = new byte[0x20];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) (i + 1);
            }
            p.write(va + 0xFF0, data);
            assertThat(p.read(va + 0xFF0, data.length)).containsExactly(data);
            byte[] second = new byte[0x10];
            m.memory().read(p.resolve(va + 0x1000), second, 0, second.length);
            assertThat(second[0]).as("the part past the page boundary landed on the second page").isEqualTo((byte) 0x11);
            assertThatThrownBy(() -> p.write(va + 0x1FF8, new byte[16])).isInstanceOf(InvalidArgumentException.class)
                    .hasMessageStartingWith("va:").hasMessageContaining("not mapped");
            assertThat(p.read(va + 0x1FF8, 8)).as("a refused store wrote nothing").containsOnly(0);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void badRangesAreRefusedWithTheRule(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Process p = m.newProcess("p");
            long va = p.mmap(0x1000, Permissions.READ);
            assertThatThrownBy(() -> p.map(va, 0x1000, Permissions.READ)).isInstanceOf(ConflictException.class);
            assertThatThrownBy(() -> p.map(0x1001, 0x1000, Permissions.READ)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("va:");
            assertThatThrownBy(() -> p.map(1L << 48, 0x1000, Permissions.READ)).hasMessageContaining("48-bit");
            assertThatThrownBy(() -> p.pin(va, 0x1000, Permissions.WRITE)).hasMessageStartingWith("vaddr:").hasMessageContaining("r--");
            assertThatThrownBy(() -> p.pin(va + 0x1000, 0x1000, Permissions.READ)).hasMessageContaining("not mapped");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void lazyMemoryHasNoEntryUntilTouchedThenAppearsZeroed(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Process p = m.newProcess("lazy");
            long before = m.processPagesInUse();
            long va = p.mmapLazy(0x4000, Permissions.READ_WRITE);
            assertThat(p.resolve(va)).as("no page-table entry before the first touch").isEqualTo(-1);
            assertThat(m.processPagesInUse()).isEqualTo(before);
            assertThat(p.faultIn(va + 0x1008, AccessType.WRITE, false)).isTrue();
            assertThat(p.resolve(va + 0x1000)).isPositive();
            assertThat(p.resolve(va)).as("only the touched page appeared").isEqualTo(-1);
            long afterFirst = m.processPagesInUse();
            assertThat(afterFirst).isGreaterThan(before);
            assertThat(p.read(va + 0x2000, 8)).as("a CPU load populates too, with zeroes").containsOnly(0);
            assertThat(p.resolve(va + 0x2000)).isPositive();
            assertThat(m.processPagesInUse()).as("one more page, same tables").isEqualTo(afterFirst + 1);
            assertThat(p.faultIn(va + 0x4000, AccessType.READ, false)).as("past the mapping").isFalse();
            assertThat(p.faultIn(va, AccessType.READ, true)).as("execute on a non-executable mapping").isFalse();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void lazyMemoryHonoursPermissionsAndMunmapCutsTheRegion(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Process p = m.newProcess("lazy");
            long va = p.mmapLazy(0x3000, Permissions.READ);
            assertThat(p.faultIn(va, AccessType.WRITE, false)).as("write to a read-only mapping").isFalse();
            assertThat(p.faultIn(va, AccessType.READ, false)).isTrue();
            p.munmap(va + 0x1000, 0x1000);
            assertThat(p.faultIn(va + 0x1000, AccessType.READ, false)).as("the unmapped hole stays a hole").isFalse();
            assertThat(p.faultIn(va + 0x2000, AccessType.READ, false)).as("the part after the hole is still mapped").isTrue();
            assertThatThrownBy(() -> p.map(va + 0x2000, 0x1000, Permissions.READ)).isInstanceOf(ConflictException.class)
                    .hasMessageStartingWith("va:");
            p.map(va + 0x1000, 0x1000, Permissions.READ_WRITE);
            assertThat(p.permissionsAt(va + 0x1000)).isEqualTo(Permissions.READ_WRITE);
            long[] pinned = p.pin(va, 0x3000, Permissions.READ);
            assertThat(pinned).hasSize(3).doesNotContain(-1L);
            p.unpin(pinned);
            p.exit();
            assertThat(p.faultIn(va, AccessType.READ, false)).as("after exit").isFalse();
            assertThat(m.processPagesInUse()).isZero();
        }
    }
}
