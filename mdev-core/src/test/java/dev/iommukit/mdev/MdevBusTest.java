package dev.iommukit.mdev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.Device;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Parents, types and mdevs: registration, creation and removal, and the counts that follow them. */
class MdevBusTest {
    private static final UUID U1 = UUID.fromString("11111111-0000-0000-0000-000000000001");
    private static final UUID U2 = UUID.fromString("11111111-0000-0000-0000-000000000002");
    private static final UUID U3 = UUID.fromString("11111111-0000-0000-0000-000000000003");
    private Machine machine;
    private MdevCore core;
    private Device dev3;
    private Device dev4;

    @BeforeEach
    void setUp() {
        machine = Machine.vtd().build();
        core = new MdevCore(machine);
        dev3 = machine.device("00:03.0");
        dev4 = machine.device("00:04.0");
    }

    @AfterEach
    void tearDown() {
        machine.close();
    }

    private static List<MdevTypeSpec> gpuTypes() {
        return List.of(new MdevTypeSpec("gpu-small", "vfio-pci", 2), new MdevTypeSpec("gpu-large", "vfio-pci", 1));
    }

    @Test
    void aParentRegistersItsTypesWithAllInstancesAvailable() {
        MdevParent p = core.registerParent(dev3, gpuTypes());
        assertThat(p.device()).isSameAs(dev3);
        assertThat(p.types()).extracting(MdevType::name).containsExactly("gpu-small", "gpu-large");
        assertThat(p.type("gpu-small").deviceApi()).isEqualTo("vfio-pci");
        assertThat(p.type("gpu-small").availableInstances()).isEqualTo(2);
        assertThat(p.type("gpu-large").availableInstances()).isEqualTo(1);
        assertThat(p.type("gpu-large").parent()).isSameAs(p);
        assertThat(core.parents()).containsExactly(p);
        assertThat(core.parent(dev3)).isSameAs(p);
        assertThatThrownBy(() -> p.type("gpu-huge")).isInstanceOf(NotFoundException.class).hasMessageContaining("gpu-huge");
        assertThatThrownBy(() -> core.parent(dev4)).isInstanceOf(NotFoundException.class);
    }

    @Test
    void aDeviceRegistersAsParentOnceAtATime() {
        MdevParent p = core.registerParent(dev3, gpuTypes());
        assertThatThrownBy(() -> core.registerParent(dev3, gpuTypes()))
                .isInstanceOf(ConflictException.class).hasMessageContaining("already registered");
        assertThat(core.parents()).containsExactly(p);
        p.unregister();
        assertThat(core.parents()).isEmpty();
        assertThat(p.isRegistered()).isFalse();
        MdevParent again = core.registerParent(dev3, gpuTypes());
        assertThat(core.parents()).containsExactly(again);
    }

    @Test
    void badRegistrationsAreRefusedAndChangeNothing() {
        try (Machine other = Machine.vtd().build()) {
            assertThatThrownBy(() -> core.registerParent(other.device("00:03.0"), gpuTypes()))
                    .isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("device:");
        }
        assertThatThrownBy(() -> core.registerParent(dev3, List.of()))
                .isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("types:");
        assertThatThrownBy(() -> core.registerParent(dev3, List.of(new MdevTypeSpec("a", "vfio-pci", 1), new MdevTypeSpec("a", "vfio-ccw", 2))))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("'a' appears twice");
        assertThat(core.parents()).isEmpty();
        assertThatThrownBy(() -> new MdevTypeSpec(" ", "vfio-pci", 1)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("name:");
        assertThatThrownBy(() -> new MdevTypeSpec("a/b", "vfio-pci", 1)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("name:");
        assertThatThrownBy(() -> new MdevTypeSpec("a", "", 1)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("deviceApi:");
        assertThatThrownBy(() -> new MdevTypeSpec("a", "vfio-pci", 0)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("maxInstances:");
    }

    @Test
    void createAndRemoveFollowTheAvailableCount() {
        MdevParent p = core.registerParent(dev3, gpuTypes());
        MdevType small = p.type("gpu-small");
        Mdev a = p.create(U1, "gpu-small");
        assertThat(small.availableInstances()).isEqualTo(1);
        Mdev b = p.create(U2, "gpu-small");
        assertThat(small.availableInstances()).isZero();
        assertThatThrownBy(() -> p.create(U3, "gpu-small"))
                .isInstanceOf(ResourceExhaustedException.class).hasMessageContaining("no instance available");
        assertThat(small.availableInstances()).isZero();
        assertThat(p.type("gpu-large").availableInstances()).as("other types keep their count").isEqualTo(1);
        assertThatThrownBy(() -> core.mdev(U3)).isInstanceOf(NotFoundException.class);

        assertThat(a.uuid()).isEqualTo(U1);
        assertThat(a.type()).isSameAs(small);
        assertThat(a.parent()).isSameAs(p);
        assertThat(core.mdev(U2)).isSameAs(b);
        assertThat(core.mdevs()).containsExactly(a, b);
        assertThat(p.mdevs()).containsExactly(a, b);

        a.remove();
        assertThat(a.isRemoved()).isTrue();
        assertThat(small.availableInstances()).isEqualTo(1);
        assertThat(core.mdevs()).containsExactly(b);
        assertThatThrownBy(() -> core.mdev(U1)).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(a::remove).isInstanceOf(NotFoundException.class).hasMessageContaining("already removed");
        assertThat(small.availableInstances()).as("a second remove gives nothing back").isEqualTo(1);

        Mdev c = p.create(U1, "gpu-small");
        assertThat(c).isNotSameAs(a);
        assertThat(small.availableInstances()).isZero();
    }

    @Test
    void uuidsAreUniqueOnTheWholeBus() {
        MdevParent p3 = core.registerParent(dev3, gpuTypes());
        MdevParent p4 = core.registerParent(dev4, gpuTypes());
        p3.create(U1, "gpu-small");
        assertThatThrownBy(() -> p3.create(U1, "gpu-large")).isInstanceOf(ConflictException.class).hasMessageContaining(U1.toString());
        assertThatThrownBy(() -> p4.create(U1, "gpu-small")).isInstanceOf(ConflictException.class);
        assertThat(p3.type("gpu-large").availableInstances()).isEqualTo(1);
        assertThat(p4.type("gpu-small").availableInstances()).isEqualTo(2);
        assertThatThrownBy(() -> p4.create(U2, "nope")).isInstanceOf(NotFoundException.class);
        assertThat(core.mdevs()).hasSize(1);
    }

    @Test
    void anIommuAwareMdevNamesItsParentAndHasNoPasidUntilAttached() {
        MdevParent p = core.registerParent(dev3, gpuTypes());
        Mdev a = p.create(U1, "gpu-small");
        assertThat(a.iommuDevice()).isSameAs(dev3);
        assertThat(a.pasid()).isEmpty();
        assertThat(a.container()).isEmpty();
    }

    @Test
    void aParentWithMdevsDoesNotUnregister() {
        MdevParent p = core.registerParent(dev3, gpuTypes());
        Mdev a = p.create(U1, "gpu-small");
        assertThatThrownBy(p::unregister).isInstanceOf(BusyException.class).hasMessageContaining(U1.toString());
        assertThat(core.parents()).containsExactly(p);
        a.remove();
        p.unregister();
        assertThatThrownBy(() -> p.create(U2, "gpu-small")).isInstanceOf(ClosedException.class).hasMessageContaining("unregistered");
        assertThatThrownBy(p::unregister).isInstanceOf(ClosedException.class);
    }

    @Test
    void anAttachedMdevIsNotRemovedUntilItsContainerLetsGo() {
        MdevParent p = core.registerParent(dev3, gpuTypes());
        Mdev a = p.create(U1, "gpu-small");
        Process vmm = machine.newProcess("vmm");
        Container c = core.newContainer(vmm);
        c.attach(a);
        assertThat(a.container()).contains(c);
        assertThatThrownBy(a::remove).isInstanceOf(BusyException.class).hasMessageContaining("container " + c.id());
        assertThat(core.mdevs()).containsExactly(a);
        assertThat(p.type("gpu-small").availableInstances()).isEqualTo(1);
        c.close();
        a.remove();
        assertThat(p.type("gpu-small").availableInstances()).isEqualTo(2);
        assertThatThrownBy(() -> core.newContainer(vmm).attach(a)).isInstanceOf(NotFoundException.class).hasMessageContaining("removed");
    }

    @Test
    void containersNeedALiveOwnerOfTheMachine() {
        Process vmm = machine.newProcess("vmm");
        try (Machine other = Machine.vtd().build()) {
            Process stranger = other.newProcess("stranger");
            assertThatThrownBy(() -> core.newContainer(stranger)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("owner:");
        }
        Container c = core.newContainer(vmm);
        assertThat(c.owner()).isSameAs(vmm);
        assertThat(core.containers()).containsExactly(c);
        vmm.exit();
        assertThatThrownBy(() -> core.newContainer(vmm)).isInstanceOf(ClosedException.class).hasMessageContaining("exited");
        c.close();
        assertThat(core.containers()).isEmpty();
    }
}
