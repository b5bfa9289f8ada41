package dev.iommukit.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.mdev.DmaMapping;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Guest RAM: where it lives, how it is reached by GPA, its bounds, and the guest kernel's page allocator. */
class GuestMemoryTest {
    private final GuestRig rig = new GuestRig();

    @AfterEach
    void tearDown() {
        rig.close();
    }

    @Test
    void theRamIsTheVmmsMemoryMappedIntoTheContainerAtGpaZero() {
        Guest g = rig.guest(0x10_0000);
        long pagesWithRam = rig.machine.processPagesInUse();
        assertThat(g.container()).isSameAs(rig.container);
        assertThat(g.vmm()).isSameAs(rig.vmm);
        assertThat(g.ramSize()).isEqualTo(0x10_0000);
        assertThat(g.memory().size()).isEqualTo(0x10_0000);
        assertThat(rig.container.mappings()).containsExactly(new DmaMapping(0, 0x10_0000, g.vmmAddress(),
                Permissions.READ | Permissions.WRITE | Permissions.EXECUTE));
        assertThat(rig.vmm.lockedBytes()).isEqualTo(0x10_0000);
        for (long gpa : new long[] {0, 0x1234, 0xF_F000, 0xF_FFFF}) {
            assertThat(g.hostPhysical(gpa)).isEqualTo(rig.vmm.resolve(g.vmmAddress() + gpa));
        }
        assertThat(g.hostPhysical(0x10_0000)).isEqualTo(-1);
        assertThat(g.hostPhysical(-1)).isEqualTo(-1);

        g.close();
        assertThat(rig.container.mappings()).isEmpty();
        assertThat(rig.vmm.lockedBytes()).isZero();
        assertThat(rig.machine.processPagesInUse()).as("the 256 data pages are gone").isEqualTo(pagesWithRam - 256);
        assertThat(rig.vmm.resolve(g.vmmAddress())).isEqualTo(-1);
        g.close();
    }

    @Test
    void bytesAndWordsWrittenByGpaAreTheVmmsBytes() {
        Guest g = rig.guest(0x4000);
        byte[] data = new byte[0x1800];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 7 + 3);
        }
        g.memory().write(0x0C00, data);
        assertThat(rig.vmm.read(g.vmmAddress() + 0x0C00, data.length)).isEqualTo(data);
        assertThat(g.memory().read(0x0C00, data.length)).isEqualTo(data);

        g.memory().write64(0x1FF8, 0x0102_0304_0506_0708L);
        assertThat(g.memory().read(0x1FF8, 8)).as("little-endian").containsExactly(8, 7, 6, 5, 4, 3, 2, 1);
        assertThat(rig.machine.memory().read64(g.hostPhysical(0x1FF8))).isEqualTo(0x0102_0304_0506_0708L);
        rig.vmm.write(g.vmmAddress() + 0x3000, new byte[] {(byte) 0xAA, 0, 0, 0, 0, 0, 0, (byte) 0x80});
        assertThat(g.memory().read64(0x3000)).isEqualTo(0x8000_0000_0000_00AAL);
    }

    @Test
    void accessesOutsideTheRamAreRefusedNamingTheGpaAndChangeNothing() {
        Guest g = rig.guest(0x2000);
        assertThatThrownBy(() -> g.memory().read64(0x2000)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("gpa:");
        assertThatThrownBy(() -> g.memory().write64(-8, 1)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("gpa:");
        assertThatThrownBy(() -> g.memory().read(0x1FFC, 8)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("outside the guest's RAM");
        assertThatThrownBy(() -> g.memory().write(0x1FFC, new byte[] {1, 2, 3, 4, 5})).isInstanceOf(InvalidArgumentException.class);
        assertThat(g.memory().read(0x1FFC, 4)).containsExactly(0, 0, 0, 0);
        assertThatThrownBy(() -> g.memory().read(Long.MAX_VALUE, 8)).isInstanceOf(InvalidArgumentException.class);
        assertThatThrownBy(() -> g.memory().read64(0x1004)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("8-byte aligned");
        assertThatThrownBy(() -> g.memory().read(0, -1)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("length:");
        assertThat(g.memory().contains(0x1000, 0x1000)).isTrue();
        assertThat(g.memory().contains(0x1001, 0x1000)).isFalse();

        g.close();
        assertThatThrownBy(() -> g.memory().read64(0)).isInstanceOf(ClosedException.class);
        assertThatThrownBy(g::allocatePage).isInstanceOf(ClosedException.class);
    }

    @Test
    void aRefusedCreateLeavesTheVmmAndTheContainerAsTheyWere() {
        assertThatThrownBy(() -> rig.guest(0x1800)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("ramSize:");
        assertThatThrownBy(() -> rig.guest(0)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("ramSize:");
        long pages = rig.machine.processPagesInUse();
        rig.vmm.setLockedMemoryLimit(0x1000);
        assertThatThrownBy(() -> rig.guest(0x40_0000)).isInstanceOf(ResourceExhaustedException.class);
        assertThat(rig.machine.processPagesInUse() - pages).as("at most the VMM's page tables stay, none of the 1024 data pages")
                .isLessThan(8);
        assertThat(rig.container.mappings()).isEmpty();
        assertThat(rig.vmm.lockedBytes()).isZero();
    }

    @Test
    void theGuestAllocatorHandsOutZeroedPagesFromTheTopAndAlignedBlocks() {
        Guest g = rig.guest(0x8000);
        long a = g.allocatePage();
        long b = g.allocatePage();
        assertThat(a).isEqualTo(0x7000);
        assertThat(b).isEqualTo(0x6000);
        g.memory().write64(a + 0x100, -1L);
        g.freePages(a, 1);
        assertThat(g.allocatePage()).isEqualTo(a);
        assertThat(g.memory().read64(a + 0x100)).as("zeroed again").isZero();
        long block = g.allocatePages(4);
        assertThat(block).as("aligned to 4 pages, below the used ones").isEqualTo(0x0000);
        assertThat(g.allocatedPages()).isEqualTo(6);
        assertThat(g.allocatePage()).isEqualTo(0x5000);
        assertThatThrownBy(() -> g.allocatePages(2)).as("page 4 alone is free").isInstanceOf(ResourceExhaustedException.class)
                .hasMessageStartingWith("count:");
        assertThat(g.allocatePage()).isEqualTo(0x4000);
        assertThatThrownBy(g::allocatePage).isInstanceOf(ResourceExhaustedException.class);
        assertThatThrownBy(() -> g.allocatePages(3)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("count:");
        g.freePages(0x4000, 1);
        assertThatThrownBy(() -> g.freePages(0x4000, 1)).as("freed twice").isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("gpa:");
        assertThatThrownBy(() -> g.freePages(0x123, 1)).isInstanceOf(InvalidArgumentException.class);
    }
}
