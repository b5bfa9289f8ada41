package dev.iommukit.it.mdev;

import static dev.iommukit.it.mdev.MdevFixtures.assertClean;
import static dev.iommukit.it.mdev.MdevFixtures.pattern;
import static dev.iommukit.it.mdev.MdevFixtures.poke;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.Device;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.it.mdev.MdevFixtures.Usage;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.mdev.MdevParent;
import dev.iommukit.mdev.MdevTypeSpec;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.fault.FaultReason;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Teardown in every order, on one backend: a container holding a whole PCI device and (where the
 * backend has aux domains) an mdev, with mappings made before and after the attaches, is taken
 * apart by every permutation of close, owner exit, detaches, unmap and mdev removal attempts.
 * Each order must end with no pinned page, no PASID and no table page left behind; all orders run
 * on one machine, so a leak in one shows up in the next as well.
 */
abstract class TeardownOrderContract {
    private static final long IOVA = 0x20_0000L;
    private Machine machine;
    private MdevCore bus;
    private Device whole;
    private MdevParent parent;
    private Usage empty;

    abstract String backend();

    /** Whether the orders include an mdev (the backend advertises aux domains). */
    abstract boolean withMdev();

    @BeforeEach
    void setUp() {
        machine = Machine.preset(backend()).build();
        bus = new MdevCore(machine);
        whole = machine.device("00:04.0");
        parent = bus.registerParent(machine.device("00:03.0"), List.of(new MdevTypeSpec("vgpu", "vfio-pci", 1)));
        Process warm = machine.newProcess("warm-up");
        Mdev m = parent.create(UUID.randomUUID(), "vgpu");
        try (Container c = bus.newContainer(warm)) {
            c.attach(whole);
            if (withMdev()) {
                c.attach(m);
            }
        }
        m.remove();
        warm.exit();
        empty = Usage.of(machine);
    }

    @AfterEach
    void tearDown() {
        machine.close();
    }

    /** One run: the objects an order takes apart, and what it has done so far. */
    private final class Run {
        final Process owner = machine.newProcess("vmm");
        final long va = owner.mmap(0x6000, Permissions.READ_WRITE);
        final Usage ownerOnly;
        final Container container;
        final Mdev mdev;
        boolean mdevDetached;
        boolean deviceDetached;
        boolean unmapped;

        Run() {
            poke(machine, owner, va, pattern(5, 0x6000));
            ownerOnly = Usage.of(machine);
            container = bus.newContainer(owner);
            mdev = withMdev() ? parent.create(UUID.randomUUID(), "vgpu") : null;
            container.mapDma(va, IOVA, 0x4000, Permissions.READ_WRITE);
            container.attach(whole);
            if (mdev != null) {
                container.attach(mdev);
            }
            container.mapDma(va + 0x4000, IOVA + 0x4000, 0x2000, Permissions.READ);
            assertThat(owner.lockedBytes()).isEqualTo(0x6000);
            assertThat(whole.translate(IOVA + 0x5000, AccessType.READ).ok()).isTrue();
            if (mdev != null) {
                assertThat(mdev.translate(IOVA + 0x1000, AccessType.WRITE).ok()).isTrue();
            }
        }

        void close() {
            container.close();
            assertThat(whole.domain()).isNull();
            if (mdev != null) {
                assertThat(mdev.pasid()).isEmpty();
                assertThat(mdev.translate(IOVA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.BLOCKED);
            }
            assertThat(owner.lockedBytes()).isZero();
        }

        void exit() {
            owner.exit();
            if (!container.isClosed() && !unmapped && !deviceDetached) {
                assertThat(whole.translate(IOVA, AccessType.READ).ok()).as("pins outlive the owner").isTrue();
            }
        }

        void detachMdev() {
            if (mdev != null && !container.isClosed()) {
                container.detach(mdev);
                assertThat(mdev.pasid()).isEmpty();
                assertThat(mdev.translate(IOVA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.BLOCKED);
                if (!deviceDetached && !unmapped) {
                    assertThat(whole.translate(IOVA, AccessType.READ).ok()).as("the device keeps its DMA").isTrue();
                }
            }
            mdevDetached = true;
        }

        void detachDevice() {
            if (!container.isClosed()) {
                container.detach(whole);
                assertThat(whole.domain()).isNull();
                if (mdev != null && !mdevDetached && !unmapped) {
                    assertThat(mdev.translate(IOVA, AccessType.READ).ok()).as("the mdev keeps its DMA").isTrue();
                }
            }
            deviceDetached = true;
        }

        void unmap() {
            if (!container.isClosed()) {
                assertThat(container.unmapDma(0, 1L << 40)).isEqualTo(0x6000);
                assertThat(owner.lockedBytes()).isZero();
                if (!deviceDetached) {
                    assertThat(whole.translate(IOVA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
                }
            }
            unmapped = true;
        }

        void removeMdev() {
            if (mdev == null) {
                return;
            }
            if (!container.isClosed() && !mdevDetached) {
                assertThatThrownBy(mdev::remove).isInstanceOf(BusyException.class);
                assertThat(mdev.isRemoved()).isFalse();
            } else {
                mdev.remove();
                assertThat(parent.type("vgpu").availableInstances()).isEqualTo(1);
            }
        }

        void finish(String order) {
            container.close();
            if (mdev != null && !mdev.isRemoved()) {
                mdev.remove();
            }
            assertThat(owner.lockedBytes()).as(order).isZero();
            assertThat(parent.type("vgpu").availableInstances()).as(order).isEqualTo(1);
            assertThat(parent.device().auxDomains()).as(order).isEmpty();
            assertThat(parent.device().auxDomainsEnabled()).as(order).isFalse();
            assertThat(bus.containers()).as(order).isEmpty();
            assertThat(bus.mdevs()).as(order).isEmpty();
            if (owner.isAlive()) {
                assertClean(machine, ownerOnly, order + ", owner alive");
                owner.exit();
            }
            assertClean(machine, empty, order);
        }
    }

    private enum Step { CLOSE, EXIT, DETACH_MDEV, DETACH_DEVICE, UNMAP, REMOVE_MDEV }

    private void apply(Run run, Step step) {
        switch (step) {
            case CLOSE -> run.close();
            case EXIT -> run.exit();
            case DETACH_MDEV -> run.detachMdev();
            case DETACH_DEVICE -> run.detachDevice();
            case UNMAP -> run.unmap();
            case REMOVE_MDEV -> run.removeMdev();
        }
    }

    @TestFactory
    Stream<DynamicTest> everyTeardownOrderLeavesNothingBehind() {
        List<Step> steps = new ArrayList<>(List.of(Step.values()));
        if (!withMdev()) {
            steps.remove(Step.DETACH_MDEV);
            steps.remove(Step.REMOVE_MDEV);
        }
        List<List<Step>> orders = new ArrayList<>();
        permutations(steps, new ArrayList<>(), orders);
        return orders.stream().map(order -> DynamicTest.dynamicTest(order.toString(), () -> {
            Run run = new Run();
            for (Step s : order) {
                apply(run, s);
            }
            run.finish(order.toString());
        }));
    }

    private static void permutations(List<Step> steps, List<Step> prefix, List<List<Step>> out) {
        if (prefix.size() == steps.size()) {
            out.add(List.copyOf(prefix));
            return;
        }
        for (Step s : steps) {
            if (!prefix.contains(s)) {
                prefix.add(s);
                permutations(steps, prefix, out);
                prefix.remove(prefix.size() - 1);
            }
        }
    }
}
