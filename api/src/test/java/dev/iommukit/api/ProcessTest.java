package dev.iommukit.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
}
