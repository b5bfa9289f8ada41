package dev.iommukit.mdev;

import static dev.iommukit.mdev.TestSupport.assertClean;
import static dev.iommukit.mdev.TestSupport.pattern;
import static dev.iommukit.mdev.TestSupport.peek;
import static dev.iommukit.mdev.TestSupport.poke;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.api.Unit;
import dev.iommukit.mdev.TestSupport.Usage;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import dev.iommukit.spi.fault.FaultReason;
import java.util.List;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** MAP_DMA, UNMAP_DMA, replay, limits and bad input of containers holding whole PCI devices, on both backends. */
class ContainerDmaTest {
    private static final long IOVA = 0x10_0000L;

    /** A machine, its mdev bus, one owner with 32 KiB mapped, and the usage once every device was attached once. */
    private static final class Rig implements AutoCloseable {
        final Machine machine;
        final MdevCore core;
        final Device dev3;
        final Device dev4;
        final Unit unit;
        final Process vmm;
        final long va;
        final Usage baseline;

        Rig(String backend) {
            machine = Machine.preset(backend).build();
            core = new MdevCore(machine);
            dev3 = machine.device("00:03.0");
            dev4 = machine.device("00:04.0");
            unit = dev4.unit();
            Process warm = machine.newProcess("warm-up");
            try (Container c = core.newContainer(warm)) {
                c.attach(dev3);
                c.attach(dev4);
            }
            warm.exit();
            vmm = machine.newProcess("vmm");
            va = vmm.mmap(0x8000, Permissions.READ_WRITE);
            baseline = Usage.of(machine);
        }

        @Override
        public void close() {
            machine.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void mappingsMadeBeforeAnAttachAreReplayedAndLaterOnesAreLive(String backend) {
        try (Rig r = new Rig(backend)) {
            byte[] data = pattern(1, 0x4000);
            poke(r.machine, r.vmm, r.va, data);
            Container c = r.core.newContainer(r.vmm);
            c.mapDma(r.va, IOVA, 0x4000, Permissions.READ_WRITE);
            c.attach(r.dev4);
            byte[] seen = new byte[0x4000];
            assertThat(r.dev4.read(IOVA, seen).ok()).isTrue();
            assertThat(seen).isEqualTo(data);

            c.mapDma(r.va + 0x4000, 0x20_0000, 0x4000, Permissions.READ_WRITE);
            byte[] written = pattern(2, 0x4000);
            DmaResult w = r.dev4.write(0x20_0000, written);
            assertThat(w.ok()).isTrue();
            assertThat(w.physicalAddress()).isEqualTo(r.vmm.resolve(r.va + 0x4000));
            assertThat(peek(r.machine, r.vmm, r.va + 0x4000, 0x4000)).isEqualTo(written);

            assertThat(c.mappings()).containsExactly(new DmaMapping(IOVA, 0x4000, r.va, Permissions.READ_WRITE),
                    new DmaMapping(0x20_0000, 0x4000, r.va + 0x4000, Permissions.READ_WRITE));
            assertThat(r.vmm.lockedBytes()).isEqualTo(0x8000);
            assertThat(r.dev4.translate(IOVA + 0x4000, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
            c.close();
            assertThat(r.vmm.lockedBytes()).isZero();
            assertClean(r.machine, r.baseline);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void readOnlyMappingsRefuseDeviceWrites(String backend) {
        try (Rig r = new Rig(backend)) {
            Container c = r.core.newContainer(r.vmm);
            c.attach(r.dev4);
            c.mapDma(r.va, IOVA, 0x1000, Permissions.READ);
            assertThat(r.dev4.translate(IOVA, AccessType.READ).ok()).isTrue();
            assertThat(r.dev4.translate(IOVA, AccessType.WRITE).fault().reason()).isEqualTo(FaultReason.PERMISSION);
            c.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void unmapRemovesWholeMappingsOnlyUnpinsAndReportsTheBytes(String backend) {
        try (Rig r = new Rig(backend)) {
            Container c = r.core.newContainer(r.vmm);
            c.attach(r.dev4);
            c.mapDma(r.va, IOVA, 0x4000, Permissions.READ_WRITE);
            c.mapDma(r.va + 0x4000, IOVA + 0x4000, 0x2000, Permissions.READ_WRITE);
            c.mapDma(r.va + 0x6000, 0x30_0000, 0x1000, Permissions.READ);
            List<DmaMapping> before = c.mappings();

            assertThatThrownBy(() -> c.unmapDma(IOVA + 0x2000, 0x1000))
                    .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("split").hasMessageContaining("whole mappings");
            assertThatThrownBy(() -> c.unmapDma(IOVA, 0x5000)).isInstanceOf(InvalidArgumentException.class).hasMessageContaining("split");
            assertThatThrownBy(() -> c.unmapDma(IOVA - 0x1000, 0x2000)).isInstanceOf(InvalidArgumentException.class).hasMessageContaining("split");
            assertThat(c.mappings()).isEqualTo(before);
            assertThat(r.vmm.lockedBytes()).isEqualTo(0x7000);
            assertThat(r.dev4.translate(IOVA + 0x2000, AccessType.READ).ok()).as("a refused unmap unmaps nothing").isTrue();

            assertThat(c.unmapDma(IOVA, 0x6000)).isEqualTo(0x6000);
            assertThat(r.dev4.translate(IOVA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
            assertThat(r.dev4.translate(IOVA + 0x5000, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
            assertThat(r.vmm.lockedBytes()).isEqualTo(0x1000);
            assertThat(c.unmapDma(0x50_0000, 0x1000)).as("nothing there").isZero();
            assertThat(c.unmapDma(0, 1L << 40)).as("a range around whole mappings").isEqualTo(0x1000);
            assertThat(c.mappings()).isEmpty();
            assertThat(r.vmm.lockedBytes()).isZero();
            c.close();
            assertClean(r.machine, r.baseline);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void pinnedPagesOutliveTheOwnersMunmapUntilUnmapped(String backend) {
        try (Rig r = new Rig(backend)) {
            byte[] data = pattern(3, 0x2000);
            poke(r.machine, r.vmm, r.va, data);
            Container c = r.core.newContainer(r.vmm);
            c.attach(r.dev4);
            c.mapDma(r.va, IOVA, 0x2000, Permissions.READ_WRITE);
            r.vmm.munmap(r.va, 0x2000);
            assertThat(r.machine.processPagesInUse()).as("pinned pages stay allocated").isEqualTo(r.baseline.processPages());
            byte[] seen = new byte[0x2000];
            assertThat(r.dev4.read(IOVA, seen).ok()).isTrue();
            assertThat(seen).isEqualTo(data);
            assertThat(c.unmapDma(IOVA, 0x2000)).isEqualTo(0x2000);
            assertThat(r.machine.processPagesInUse()).as("the last reference went with the unpin").isEqualTo(r.baseline.processPages() - 2);
            c.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void badMapDmaArgumentsAreRefusedAndChangeNothing(String backend) {
        try (Rig r = new Rig(backend)) {
            Container c = r.core.newContainer(r.vmm);
            c.attach(r.dev4);
            c.mapDma(r.va, IOVA, 0x1000, Permissions.READ_WRITE);
            long readOnly = r.vmm.mmap(0x1000, Permissions.READ);
            long hole = r.va + 0x10_0000;
            Usage usage = Usage.of(r.machine);
            List<DmaMapping> mappings = c.mappings();
            long locked = r.vmm.lockedBytes();
            long rw = Permissions.READ_WRITE;

            expect(InvalidArgumentException.class, "vaddr:", () -> c.mapDma(r.va + 0x10, 0x40_0000, 0x1000, (int) rw));
            expect(InvalidArgumentException.class, "iova:", () -> c.mapDma(r.va, 0x40_0800, 0x1000, (int) rw));
            expect(InvalidArgumentException.class, "size:", () -> c.mapDma(r.va, 0x40_0000, 0, (int) rw));
            expect(InvalidArgumentException.class, "size:", () -> c.mapDma(r.va, 0x40_0000, 0x1800, (int) rw));
            expect(InvalidArgumentException.class, "size:", () -> c.mapDma(r.va, 0x40_0000, -0x1000, (int) rw));
            expect(InvalidArgumentException.class, "size:", () -> c.mapDma(r.va, -0x1000L, 0x2000, (int) rw));
            expect(InvalidArgumentException.class, "iova:", () -> c.mapDma(r.va, 1L << 52, 0x1000, (int) rw));
            expect(InvalidArgumentException.class, "permissions:", () -> c.mapDma(r.va, 0x40_0000, 0x1000, 0));
            expect(InvalidArgumentException.class, "permissions:", () -> c.mapDma(r.va, 0x40_0000, 0x1000, 8));
            expect(ConflictException.class, "iova:", () -> c.mapDma(r.va + 0x1000, IOVA - 0x1000, 0x2000, (int) rw));
            expect(InvalidArgumentException.class, "vaddr:", () -> c.mapDma(hole, 0x40_0000, 0x1000, (int) rw));
            expect(InvalidArgumentException.class, "vaddr:", () -> c.mapDma(r.va + 0x7000, 0x40_0000, 0x2000, (int) rw));
            expect(InvalidArgumentException.class, "vaddr:", () -> c.mapDma(readOnly, 0x40_0000, 0x1000, (int) rw));
            r.vmm.setLockedMemoryLimit(0x1800);
            expect(ResourceExhaustedException.class, "locked-memory limit", () -> c.mapDma(r.va + 0x1000, 0x40_0000, 0x1000, (int) rw));
            expect(InvalidArgumentException.class, "iova:", () -> c.unmapDma(0x800, 0x1000));
            expect(InvalidArgumentException.class, "size:", () -> c.unmapDma(IOVA, 0));

            assertThat(c.mappings()).isEqualTo(mappings);
            assertThat(r.vmm.lockedBytes()).isEqualTo(locked);
            assertThat(Usage.of(r.machine)).isEqualTo(usage);
            assertThat(r.dev4.translate(0x40_0000, AccessType.READ).ok()).isFalse();
            assertThat(((PagingDomain) r.dev4.domain()).mappings()).hasSize(1);
            c.close();
        }
    }

    private static void expect(Class<? extends IommuException> type, String text, ThrowingCallable call) {
        assertThatThrownBy(call).isInstanceOf(type).hasMessageContaining(text);
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void theLockedMemoryLimitCountsEveryMapping(String backend) {
        try (Rig r = new Rig(backend)) {
            Container c = r.core.newContainer(r.vmm);
            r.vmm.setLockedMemoryLimit(0x3000);
            c.mapDma(r.va, IOVA, 0x2000, Permissions.READ_WRITE);
            assertThatThrownBy(() -> c.mapDma(r.va + 0x2000, IOVA + 0x2000, 0x2000, Permissions.READ_WRITE))
                    .isInstanceOf(ResourceExhaustedException.class).hasMessageContaining("locked-memory limit");
            c.mapDma(r.va + 0x2000, IOVA + 0x2000, 0x1000, Permissions.READ_WRITE);
            assertThat(r.vmm.lockedBytes()).isEqualTo(0x3000);
            c.unmapDma(IOVA, 0x2000);
            assertThat(r.vmm.lockedBytes()).isEqualTo(0x1000);
            c.mapDma(r.va + 0x4000, 0x50_0000, 0x2000, Permissions.READ_WRITE);
            c.close();
            assertThat(r.vmm.lockedBytes()).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void aMappingANewDomainCannotHoldRefusesTheAttachWithoutTrace(String backend) {
        try (Rig r = new Rig(backend)) {
            Container c = r.core.newContainer(r.vmm);
            c.mapDma(r.va, 1L << 52, 0x1000, Permissions.READ_WRITE);
            assertThatThrownBy(() -> c.attach(r.dev4)).isInstanceOf(InvalidArgumentException.class).hasMessageContaining("aperture");
            assertThat(r.dev4.domain()).isNull();
            assertThat(r.unit.pagingDomains()).isEmpty();
            assertThat(c.devices()).isEmpty();
            assertThat(c.unmapDma(1L << 52, 0x1000)).isEqualTo(0x1000);
            assertClean(r.machine, r.baseline);
            c.attach(r.dev4);
            assertThat(c.devices()).containsExactly(r.dev4);
            c.close();
            assertClean(r.machine, r.baseline);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void infoReportsTheDomainsAndChangesNothing(String backend) {
        try (Rig r = new Rig(backend)) {
            Container c = r.core.newContainer(r.vmm);
            assertThat(c.info()).isEqualTo(new ContainerInfo(0x1000, List.of(new IovaRange(0, -1)), false, 0));
            c.mapDma(r.va, IOVA, 0x1000, Permissions.READ_WRITE);
            c.attach(r.dev4);
            PagingDomain d = (PagingDomain) r.dev4.domain();
            Usage usage = Usage.of(r.machine);
            List<DmaMapping> mappings = c.mappings();
            ContainerInfo info = c.info();
            assertThat(info.pageSizes()).isEqualTo(d.pageSizes()).isNotZero();
            assertThat(info.pageSizes() & 0x1000).isEqualTo(0x1000);
            assertThat(info.iovaRanges()).containsExactly(new IovaRange(d.apertureStart(), d.apertureEnd()));
            assertThat(info.pasidSupport()).isTrue();
            assertThat(info.pasidBits()).isEqualTo(r.dev4.pasidBits()).isEqualTo(20);
            assertThat(c.info()).isEqualTo(info);
            assertThat(Usage.of(r.machine)).isEqualTo(usage);
            assertThat(c.mappings()).isEqualTo(mappings);
            assertThat(d.mappings()).hasSize(1);

            Device noPasid = r.machine.addDevice(r.unit.name(), RequesterId.parse("00:05.0"), 0);
            c.attach(noPasid);
            assertThat(c.info().pasidSupport()).as("one device without PASIDs").isFalse();
            assertThat(c.info().pasidBits()).isZero();
            c.close();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void devicesOfOneUnitShareOneDomainThatGoesWithTheLast(String backend) {
        try (Rig r = new Rig(backend)) {
            Container c = r.core.newContainer(r.vmm);
            c.mapDma(r.va, IOVA, 0x1000, Permissions.READ_WRITE);
            c.attach(r.dev3);
            c.attach(r.dev4);
            assertThat(r.unit.pagingDomains()).hasSize(1);
            assertThat(r.dev3.domain()).isSameAs(r.dev4.domain());
            assertThat(c.devices()).containsExactly(r.dev3, r.dev4);
            c.detach(r.dev3);
            assertThat(r.dev3.translate(IOVA, AccessType.READ).ok()).isFalse();
            assertThat(r.dev4.translate(IOVA, AccessType.READ).ok()).isTrue();
            assertThat(r.unit.pagingDomains()).hasSize(1);
            assertThatThrownBy(() -> c.detach(r.dev3)).isInstanceOf(NotFoundException.class);
            c.detach(r.dev4);
            assertThat(r.unit.pagingDomains()).isEmpty();
            assertThat(c.mappings()).as("mappings belong to the container, not to its devices").hasSize(1);
            c.attach(r.dev3);
            assertThat(r.dev3.translate(IOVA, AccessType.READ).ok()).isTrue();
            c.close();
            assertClean(r.machine, r.baseline);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void aDeviceIsInOneContainerAtATimeAndTheCoresRefusalsComeThrough(String backend) {
        try (Rig r = new Rig(backend)) {
            Container c1 = r.core.newContainer(r.vmm);
            Container c2 = r.core.newContainer(r.vmm);
            c1.attach(r.dev4);
            assertThatThrownBy(() -> c1.attach(r.dev4)).isInstanceOf(ConflictException.class).hasMessageContaining("container " + c1.id());
            assertThatThrownBy(() -> c2.attach(r.dev4)).isInstanceOf(ConflictException.class);
            c1.close();
            c2.attach(r.dev4);
            c2.close();

            PagingDomain own = r.unit.newPagingDomain();
            r.dev3.attach(own);
            assertThatThrownBy(() -> c1.attach(r.dev3)).isInstanceOf(ClosedException.class);
            Container c3 = r.core.newContainer(r.vmm);
            assertThatThrownBy(() -> c3.attach(r.dev3)).isInstanceOf(BusyException.class).hasMessageContaining("already has");
            assertThat(r.unit.pagingDomains()).containsExactly(own);
            assertThat(r.dev3.domain()).isSameAs(own);
            c3.close();
            r.dev3.detach();
            own.close();
            assertClean(r.machine, r.baseline);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void aClosedContainerRefusesEverythingButCloseAgain(String backend) {
        try (Rig r = new Rig(backend)) {
            Container c = r.core.newContainer(r.vmm);
            c.attach(r.dev4);
            c.mapDma(r.va, IOVA, 0x1000, Permissions.READ_WRITE);
            c.close();
            assertThat(c.isClosed()).isTrue();
            c.close();
            assertThat(r.dev4.domain()).isNull();
            for (ThrowingCallable call : List.<ThrowingCallable>of(() -> c.attach(r.dev3), () -> c.detach(r.dev4),
                    () -> c.mapDma(r.va, IOVA, 0x1000, Permissions.READ), () -> c.unmapDma(IOVA, 0x1000), c::info, c::mappings,
                    c::devices, c::mdevs)) {
                assertThatThrownBy(call).isInstanceOf(ClosedException.class).hasMessageContaining("container " + c.id());
            }
            assertClean(r.machine, r.baseline);
            assertThat(r.vmm.lockedBytes()).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void pinsSurviveTheOwnersExitUntilTheContainerCloses(String backend) {
        try (Rig r = new Rig(backend)) {
            byte[] data = pattern(4, 0x3000);
            poke(r.machine, r.vmm, r.va, data);
            Container c = r.core.newContainer(r.vmm);
            c.attach(r.dev4);
            c.mapDma(r.va, IOVA, 0x3000, Permissions.READ_WRITE);
            r.vmm.exit();
            assertThat(r.machine.processPagesInUse()).as("only the three pinned pages remain").isEqualTo(3);
            byte[] seen = new byte[0x3000];
            assertThat(r.dev4.read(IOVA, seen).ok()).isTrue();
            assertThat(seen).isEqualTo(data);
            assertThatThrownBy(() -> c.mapDma(r.va + 0x4000, 0x40_0000, 0x1000, Permissions.READ))
                    .isInstanceOf(ClosedException.class).hasMessageContaining("exited");
            assertThat(c.mappings()).hasSize(1);
            c.close();
            assertThat(r.machine.processPagesInUse()).isZero();
            assertThat(r.vmm.lockedBytes()).isZero();
            assertClean(r.machine, new Usage(r.baseline.tablePages(), 0, 0));
        }
    }
}
