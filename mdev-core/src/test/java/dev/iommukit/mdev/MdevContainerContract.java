package dev.iommukit.mdev;

import static dev.iommukit.mdev.TestSupport.assertClean;
import static dev.iommukit.mdev.TestSupport.pattern;
import static dev.iommukit.mdev.TestSupport.peek;
import static dev.iommukit.mdev.TestSupport.poke;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Domain;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.api.Registration;
import dev.iommukit.mdev.TestSupport.Usage;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import java.util.Arrays;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * IOMMU-aware mdevs in containers, for one backend: aux domains with their PASIDs, DMA isolation,
 * the refusal of DMA without a PASID, and the undo of failed calls. A backend's subclass names it.
 */
abstract class MdevContainerContract {
    static final long IOVA = 0x10_0000L;
    static final UUID UA = UUID.fromString("aaaaaaaa-0000-0000-0000-000000000001");
    static final UUID UB = UUID.fromString("bbbbbbbb-0000-0000-0000-000000000002");
    Machine machine;
    MdevCore core;
    Device parentDevice;
    Device other;
    MdevParent parent;
    Mdev a;
    Mdev b;
    Process vmmA;
    Process vmmB;
    long vaA;
    long vaB;
    Usage baseline;

    abstract String backend();

    @BeforeEach
    void setUp() {
        machine = Machine.preset(backend()).build();
        core = new MdevCore(machine);
        parentDevice = machine.device("00:03.0");
        other = machine.device("00:04.0");
        parent = core.registerParent(parentDevice, List.of(new MdevTypeSpec("vgpu", "vfio-pci", 4)));
        a = parent.create(UA, "vgpu");
        b = parent.create(UB, "vgpu");
        Process warm = machine.newProcess("warm-up");
        try (Container c = core.newContainer(warm)) {
            c.attach(a);
            c.attach(other);
        }
        warm.exit();
        vmmA = machine.newProcess("vmm-a");
        vmmB = machine.newProcess("vmm-b");
        vaA = vmmA.mmap(0x4000, Permissions.READ_WRITE);
        vaB = vmmB.mmap(0x4000, Permissions.READ_WRITE);
        poke(machine, vmmA, vaA, pattern(0xA, 0x4000));
        poke(machine, vmmB, vaB, pattern(0xB, 0x4000));
        baseline = Usage.of(machine);
    }

    @AfterEach
    void tearDown() {
        machine.close();
    }

    @Test
    void attachingAnMdevGivesItTheAuxPasidOfADomainHoldingEveryMapping() {
        Container c = core.newContainer(vmmA);
        c.mapDma(vaA, IOVA, 0x4000, Permissions.READ_WRITE);
        assertThat(parentDevice.auxDomainsEnabled()).isFalse();
        c.attach(a);
        assertThat(parentDevice.auxDomainsEnabled()).isTrue();
        assertThat(parentDevice.auxDomains()).hasSize(1);
        Domain aux = parentDevice.auxDomains().keySet().iterator().next();
        assertThat(a.pasid()).hasValue(parentDevice.auxPasid(aux));
        assertThat(machine.pasidsInUse()).isEqualTo(1);
        assertThat(c.mdevs()).containsExactly(a);
        assertThat(a.container()).contains(c);
        assertThat(((PagingDomain) aux).mappings().stream().mapToLong(m -> m.size()).sum()).as("the replayed mapping").isEqualTo(0x4000);

        byte[] seen = new byte[0x4000];
        DmaResult r = a.read(IOVA, seen);
        assertThat(r.ok()).isTrue();
        assertThat(r.physicalAddress()).isEqualTo(vmmA.resolve(vaA));
        assertThat(seen).isEqualTo(pattern(0xA, 0x4000));
        assertThat(a.write(IOVA + 0x1000, pattern(7, 0x100)).ok()).isTrue();
        assertThat(peek(machine, vmmA, vaA + 0x1000, 0x100)).isEqualTo(pattern(7, 0x100));

        c.mapDma(vaA, 0x80_0000, 0x1000, Permissions.READ);
        assertThat(a.translate(0x80_0000, AccessType.READ).physicalAddress()).isEqualTo(vmmA.resolve(vaA));
        assertThat(a.translate(0x80_0000, AccessType.WRITE).fault().reason()).isEqualTo(FaultReason.PERMISSION);

        c.detach(a);
        assertThat(a.pasid()).isEmpty();
        assertThat(a.container()).isEmpty();
        assertThat(parentDevice.auxDomains()).isEmpty();
        assertThat(parentDevice.auxDomainsEnabled()).as("the bus disables what it enabled").isFalse();
        assertThatThrownBy(() -> c.detach(a)).isInstanceOf(NotFoundException.class);
        assertThat(machine.pasidsInUse()).isZero();
        c.close();
        assertClean(machine, baseline);
    }

    @Test
    void auxDomainsEnabledByTheOwnerOfTheParentStayEnabled() {
        parentDevice.enableAuxDomains();
        Container c = core.newContainer(vmmA);
        c.attach(a);
        c.close();
        assertThat(parentDevice.auxDomainsEnabled()).isTrue();
        parentDevice.disableAuxDomains();
        assertClean(machine, baseline);
    }

    @Test
    void dmaOfAnMdevWithoutPasidIsRefusedWithoutARequestAndNeverReachesTheParentsDomain() {
        PagingDomain own = parentDevice.unit().newPagingDomain();
        own.map(IOVA, vmmB.resolve(vaB), 0x1000, Permissions.READ_WRITE);
        parentDevice.attach(own);
        List<Fault> reported = new CopyOnWriteArrayList<>();
        Registration reg = parentDevice.onFault(reported::add);
        try {
            assertThat(parentDevice.translate(IOVA, AccessType.READ).ok()).as("the parent's own DMA").isTrue();
            for (DmaResult r : List.of(a.translate(IOVA, AccessType.READ), a.read(IOVA, new byte[16]), a.write(IOVA, new byte[16]))) {
                assertThat(r.ok()).isFalse();
                assertThat(r.bytesTransferred()).isZero();
                assertThat(r.fault().reason()).isEqualTo(FaultReason.BLOCKED);
                assertThat(r.fault().pasid()).isEqualTo(Pasid.NONE);
                assertThat(r.fault().requester()).isEqualTo(parentDevice.rid());
                assertThat(r.fault().record().format()).isEqualTo("iommukit-mdev");
                assertThat(r.fault().record().name()).isEqualTo("NO_PASID");
            }
            assertThat(reported).as("no request reached the IOMMU").isEmpty();
            assertThat(peek(machine, vmmB, vaB, 16)).isEqualTo(Arrays.copyOf(pattern(0xB, 0x4000), 16));

            Container c = core.newContainer(vmmA);
            c.attach(a);
            DmaResult r = a.translate(IOVA, AccessType.READ);
            assertThat(r.fault().reason()).as("its aux domain has nothing at IOVA, the parent's domain does").isEqualTo(FaultReason.NOT_MAPPED);
            assertThat(r.fault().pasid()).isEqualTo(a.pasid().getAsInt());
            c.close();
            assertThat(a.translate(IOVA, AccessType.READ).fault().record().name()).isEqualTo("NO_PASID");
        } finally {
            reg.close();
        }
        parentDevice.detach();
        own.close();
        assertClean(machine, baseline);
    }

    @Test
    void twoMdevsOfOneParentInSeparateContainersReachOnlyTheirOwnPages() {
        Container cA = core.newContainer(vmmA);
        Container cB = core.newContainer(vmmB);
        cA.mapDma(vaA, IOVA, 0x4000, Permissions.READ_WRITE);
        cB.mapDma(vaB, IOVA, 0x4000, Permissions.READ_WRITE);
        cA.attach(a);
        cB.attach(b);
        int pa = a.pasid().getAsInt();
        int pb = b.pasid().getAsInt();
        assertThat(pa).isNotEqualTo(pb);
        assertThat(machine.pasidsInUse()).isEqualTo(2);

        byte[] seen = new byte[0x4000];
        assertThat(a.read(IOVA, seen).ok()).isTrue();
        assertThat(seen).isEqualTo(pattern(0xA, 0x4000));
        assertThat(b.read(IOVA, seen).ok()).isTrue();
        assertThat(seen).isEqualTo(pattern(0xB, 0x4000));
        assertThat(a.write(IOVA, pattern(0x5A, 0x4000)).ok()).isTrue();
        assertThat(peek(machine, vmmA, vaA, 0x4000)).isEqualTo(pattern(0x5A, 0x4000));
        assertThat(peek(machine, vmmB, vaB, 0x4000)).as("B's pages untouched").isEqualTo(pattern(0xB, 0x4000));

        assertThat(a.translate(IOVA, AccessType.READ).physicalAddress()).isEqualTo(vmmA.resolve(vaA));
        assertThat(b.translate(IOVA, AccessType.READ).physicalAddress()).isEqualTo(vmmB.resolve(vaB));
        assertThat(parentDevice.translate(IOVA, AccessType.READ, DmaAttributes.pasid(pa)).physicalAddress())
                .as("an mdev's DMA is its parent's DMA tagged with its PASID").isEqualTo(vmmA.resolve(vaA));
        assertThat(parentDevice.translate(IOVA, AccessType.READ).ok()).as("the parent without PASID").isFalse();
        int wrong = Math.max(pa, pb) + 1;
        assertThat(parentDevice.translate(IOVA, AccessType.READ, DmaAttributes.pasid(wrong)).ok()).as("a PASID of nobody").isFalse();
        assertThat(other.translate(IOVA, AccessType.READ, DmaAttributes.pasid(pa)).ok()).as("A's PASID from another device").isFalse();

        assertThat(cB.unmapDma(IOVA, 0x4000)).isEqualTo(0x4000);
        assertThat(b.translate(IOVA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(a.translate(IOVA, AccessType.READ).ok()).isTrue();
        cA.close();
        cB.close();
        assertThat(vmmA.lockedBytes()).isZero();
        assertThat(vmmB.lockedBytes()).isZero();
        assertClean(machine, baseline);
    }

    @Test
    void anMdevAndItsParentAreNeverAssignedAtOnce() {
        Container c1 = core.newContainer(vmmA);
        Container c2 = core.newContainer(vmmB);
        c1.attach(a);
        assertThatThrownBy(() -> c1.attach(a)).isInstanceOf(ConflictException.class);
        assertThatThrownBy(() -> c2.attach(a)).isInstanceOf(ConflictException.class).hasMessageContaining("container " + c1.id());
        assertThatThrownBy(() -> c2.attach(parentDevice)).as("the core refuses a whole-device attach beside aux domains")
                .isInstanceOf(BusyException.class).hasMessageContaining("aux domains");
        assertThat(c2.devices()).isEmpty();
        c1.close();
        c2.attach(parentDevice);
        assertThatThrownBy(() -> c1.attach(b)).isInstanceOf(dev.iommukit.spi.error.ClosedException.class);
        Container c3 = core.newContainer(vmmA);
        assertThatThrownBy(() -> c3.attach(b)).isInstanceOf(BusyException.class).hasMessageContaining("attached whole");
        assertThat(b.pasid()).isEmpty();
        c2.close();
        c3.attach(b);
        c3.close();
        assertClean(machine, baseline);
    }

    @Test
    void aParentWithoutAuxDomainsRefusesTheMdevBeforeAnyChange() {
        Device plain = machine.addDevice(parentDevice.unit().name(), RequesterId.parse("00:05.0"), 0);
        assumeFalse(plain.capabilities().has(Capability.AUX_DOMAIN), "a device without PASIDs has no aux domains here");
        Mdev m = core.registerParent(plain, List.of(new MdevTypeSpec("vgpu", "vfio-pci", 1))).create(UUID.randomUUID(), "vgpu");
        Container c = core.newContainer(vmmA);
        c.mapDma(vaA, IOVA, 0x1000, Permissions.READ);
        Usage before = Usage.of(machine);
        assertThatThrownBy(() -> c.attach(m)).isInstanceOf(NotSupportedException.class).hasMessageContaining("AUX_DOMAIN");
        assertThat(plain.auxDomainsEnabled()).isFalse();
        assertThat(m.pasid()).isEmpty();
        assertThat(c.mdevs()).isEmpty();
        assertThat(plain.unit().pagingDomains()).isEmpty();
        assertThat(Usage.of(machine)).isEqualTo(before);
        c.close();
    }

    @Test
    void aMappingTheAuxDomainCannotHoldRefusesTheAttachWithoutTrace() {
        Container c = core.newContainer(vmmA);
        c.mapDma(vaA, 1L << 52, 0x1000, Permissions.READ);
        assertThatThrownBy(() -> c.attach(a)).isInstanceOf(InvalidArgumentException.class).hasMessageContaining("aperture");
        assertThat(a.pasid()).isEmpty();
        assertThat(parentDevice.auxDomainsEnabled()).isFalse();
        assertThat(machine.pasidsInUse()).isZero();
        assertThat(parentDevice.unit().pagingDomains()).isEmpty();
        c.close();
        assertClean(machine, baseline);
    }

    @Test
    void aMapDmaThatFailsInALaterDomainIsUndoneInTheEarlierOnes() {
        Container c = core.newContainer(vmmA);
        c.attach(other);
        c.attach(a);
        PagingDomain aux = (PagingDomain) parentDevice.auxDomains().keySet().iterator().next();
        aux.map(0x70_0000, vmmB.resolve(vaB), 0x1000, Permissions.READ);
        assertThatThrownBy(() -> c.mapDma(vaA, 0x6F_E000, 0x4000, Permissions.READ_WRITE)).isInstanceOf(ConflictException.class);
        assertThat(other.translate(0x6F_E000, AccessType.READ).fault().reason()).as("undone in the PCI domain").isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(((PagingDomain) other.domain()).mappings()).isEmpty();
        assertThat(aux.mappings()).hasSize(1);
        assertThat(c.mappings()).isEmpty();
        assertThat(vmmA.lockedBytes()).isZero();
        aux.unmap(0x70_0000, 0x1000);
        c.mapDma(vaA, 0x6F_E000, 0x4000, Permissions.READ_WRITE);
        assertThat(a.translate(0x70_0000, AccessType.READ).physicalAddress()).isEqualTo(vmmA.resolve(vaA + 0x2000));
        assertThat(other.translate(0x70_0000, AccessType.READ).physicalAddress()).isEqualTo(vmmA.resolve(vaA + 0x2000));
        c.close();
        assertClean(machine, baseline);
    }

    /** Paces a loop by the DMA thread's progress, not by time: returns once it has finished one more read. */
    private static void awaitProgress(AtomicLong reads, Thread dma) {
        long seen = reads.get();
        while (reads.get() == seen && dma.isAlive()) {
            Thread.onSpinWait();
        }
    }

    @Test
    void dmaInFlightDuringADetachNeverReachesTheNextHolderOfItsPasid() throws InterruptedException {
        Container cA = core.newContainer(vmmA);
        Container cB = core.newContainer(vmmB);
        cA.mapDma(vaA, IOVA, 0x4000, Permissions.READ_WRITE);
        cB.mapDma(vaB, IOVA, 0x4000, Permissions.READ_WRITE);
        cA.attach(a);
        byte[] expected = pattern(0xA, 0x4000);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<String> violation = new AtomicReference<>();
        AtomicLong reads = new AtomicLong();
        Thread dma = new Thread(() -> {
            byte[] buf = new byte[0x4000];
            while (!stop.get()) {
                Arrays.fill(buf, (byte) 0);
                DmaResult r = a.read(IOVA, buf);
                int n = r.bytesTransferred();
                if (!Arrays.equals(buf, 0, n, expected, 0, n)) {
                    violation.compareAndSet(null, "mdev A read bytes that are not its own: " + r);
                }
                reads.incrementAndGet();
            }
        }, "mdev-a-dma");
        dma.start();
        int reused = 0;
        try {
            for (int i = 0; i < 60; i++) {
                awaitProgress(reads, dma);
                int pasidOfA = a.pasid().getAsInt();
                cA.detach(a);
                cB.attach(b);
                if (b.pasid().getAsInt() == pasidOfA) {
                    reused++;
                }
                awaitProgress(reads, dma);
                cB.detach(b);
                cA.attach(a);
            }
        } finally {
            stop.set(true);
            dma.join();
        }
        assertThat(violation.get()).isNull();
        assertThat(reused).as("B took over A's PASID, so a stale PASID would have reached B").isPositive();
        assertThat(reads.get()).isPositive();
        cA.close();
        cB.close();
        assertClean(machine, baseline);
    }

    @Test
    void theMdevTagsItsOwnPasidAndRefusesAttributesCarryingAnother() {
        Container c = core.newContainer(vmmA);
        c.attach(a);
        c.mapDma(vaA, IOVA, 0x1000, Permissions.READ_WRITE);
        int pasid = a.pasid().getAsInt();
        assertThatThrownBy(() -> a.translate(IOVA, AccessType.READ, DmaAttributes.pasid(pasid)))
                .isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("attributes:");
        assertThatThrownBy(() -> a.read(IOVA, new byte[8], DmaAttributes.pasid(pasid + 1))).isInstanceOf(InvalidArgumentException.class);
        assertThatThrownBy(() -> a.write(IOVA, new byte[8], DmaAttributes.pasid(0))).isInstanceOf(InvalidArgumentException.class);
        DmaResult r = a.translate(IOVA, AccessType.READ, DmaAttributes.DEFAULT);
        assertThat(r.physicalAddress()).isEqualTo(vmmA.resolve(vaA));
        assertThat(a.write(IOVA, new byte[] {1, 2, 3}, DmaAttributes.DEFAULT).bytesTransferred()).isEqualTo(3);
        c.close();
    }
}
