package dev.iommukit.guest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.mdev.MdevParent;
import dev.iommukit.mdev.MdevTypeSpec;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * End to end on VT-d: a guest's own x86-64 tables bound at a guest PASID through a nesting
 * container; DMA at that PASID goes GVA -> GPA (guest first level, in guest RAM) -> HPA (the
 * container's second level over the VMM's memory).
 */
class VtdGuestPasidBindTest {
    private static final long RAM = 8L << 20;
    private static final long GVA = 0x7f12_3456_0000L;
    private static final long DATA = 0x10_0000L;
    private static final long OTHER = 0x20_0000L;
    private Machine machine;
    private MdevCore bus;
    private Process vmm;
    private Device dev;
    private Container container;
    private Guest guest;

    @BeforeEach
    void setUp() {
        machine = Machine.vtd().build();
        bus = new MdevCore(machine);
        vmm = machine.newProcess("vmm");
        dev = machine.device("00:03.0");
        container = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
        container.attach(dev);
        guest = Guest.create(container, RAM);
    }

    @AfterEach
    void tearDown() {
        machine.close();
    }

    private static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 29 + i * 13 + (i >> 7));
        }
        return b;
    }

    @Test
    void dmaAtTheGuestPasidWalksTheGuestTablesThenStageTwo() {
        guest.memory().write(DATA, pattern(1, 0x2000));
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 0x2000, Permissions.READ_WRITE);
        int pasid = container.allocateGuestPasid();
        container.bindGuestPasid(dev, pasid, new VtdFirstLevelConfig(pt.root(), 48, Set.of()));

        byte[] seen = new byte[0x2000];
        DmaResult r = dev.read(GVA, seen, DmaAttributes.pasid(pasid));
        assertThat(r.ok()).as("%s", r).isTrue();
        assertThat(r.physicalAddress()).isEqualTo(guest.hostPhysical(DATA));
        assertThat(seen).isEqualTo(pattern(1, 0x2000));
        assertThat(dev.translate(GVA + 0x1234, AccessType.WRITE, DmaAttributes.pasid(pasid)).physicalAddress())
                .isEqualTo(guest.hostPhysical(DATA + 0x1234));

        assertThat(dev.write(GVA + 0x1000, pattern(2, 0x100), DmaAttributes.pasid(pasid)).ok()).isTrue();
        assertThat(guest.memory().read(DATA + 0x1000, 0x100)).isEqualTo(pattern(2, 0x100));
        assertThat(vmm.read(guest.vmmAddress() + DATA + 0x1000, 0x100)).as("the VMM sees the guest's RAM").isEqualTo(pattern(2, 0x100));
    }

    @Test
    void aMissingGuestEntryIsAStageOneFaultAndAGpaOutsideTheGuestRamAStageTwoFault() {
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 0x1000, Permissions.READ);
        pt.map(GVA + 0x1000, RAM + 0x10_0000, 0x1000, Permissions.READ_WRITE);
        int pasid = container.allocateGuestPasid();
        container.bindGuestPasid(dev, pasid, new VtdFirstLevelConfig(pt.root(), 48, Set.of()));

        DmaResult unmapped = dev.translate(GVA + 0x5000, AccessType.READ, DmaAttributes.pasid(pasid));
        assertThat(unmapped.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(unmapped.fault().stage()).isEqualTo(FaultStage.STAGE_1);
        DmaResult readOnly = dev.translate(GVA, AccessType.WRITE, DmaAttributes.pasid(pasid));
        assertThat(readOnly.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(readOnly.fault().stage()).isEqualTo(FaultStage.STAGE_1);
        DmaResult outside = dev.translate(GVA + 0x1000, AccessType.READ, DmaAttributes.pasid(pasid));
        assertThat(outside.faulted()).isTrue();
        assertThat(outside.fault().stage()).as("%s", outside.fault()).isEqualTo(FaultStage.STAGE_2);
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(pasid + 1)).faulted()).as("another PASID").isTrue();
    }

    @Test
    void aGuestTableChangeIsSeenOnlyAfterTheGuestInvalidatesIt() {
        guest.memory().write(DATA, pattern(3, 0x1000));
        guest.memory().write(OTHER, pattern(4, 0x1000));
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 0x1000, Permissions.READ_WRITE);
        int pasid = container.allocateGuestPasid();
        container.bindGuestPasid(dev, pasid, new VtdFirstLevelConfig(pt.root(), 48, Set.of()));
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(pasid)).physicalAddress()).isEqualTo(guest.hostPhysical(DATA));

        assertThat(pt.unmap(GVA, 0x1000)).isEqualTo(0x1000);
        pt.map(GVA, OTHER, 0x1000, Permissions.READ_WRITE);
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(pasid)).physicalAddress())
                .as("the cached translation until the guest invalidates").isEqualTo(guest.hostPhysical(DATA));

        InvalidationBatchResult result = container.invalidateGuestCaches(dev, List.of(CacheInvalidation.range(pasid, GVA, 0x1000, 1, true)));
        assertThat(result.isComplete()).isTrue();
        byte[] seen = new byte[0x1000];
        DmaResult r = dev.read(GVA, seen, DmaAttributes.pasid(pasid));
        assertThat(r.physicalAddress()).isEqualTo(guest.hostPhysical(OTHER));
        assertThat(seen).isEqualTo(pattern(4, 0x1000));

        pt.unmap(GVA, 0x1000);
        container.invalidateGuestCaches(dev, List.of(CacheInvalidation.pasid(pasid, CacheInvalidation.Cache.IOTLB)));
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(pasid)).fault().stage()).isEqualTo(FaultStage.STAGE_1);
    }

    @Test
    void fiveLevelGuestTablesTranslateFiftySevenBitAddresses() {
        long gva = 0x00AB_CDEF_1234_5000L;
        guest.memory().write(DATA, pattern(5, 0x1000));
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.X86_64_5LEVEL);
        pt.map(gva, DATA, 0x1000, Permissions.READ);
        int pasid = container.allocateGuestPasid();
        container.bindGuestPasid(dev, pasid, new VtdFirstLevelConfig(pt.root(), 57, Set.of()));
        byte[] seen = new byte[0x1000];
        assertThat(dev.read(gva, seen, DmaAttributes.pasid(pasid)).ok()).isTrue();
        assertThat(seen).isEqualTo(pattern(5, 0x1000));
    }

    @Test
    void anMdevBindsAGuestPasidOnItsAuxDomainAndItsDmaCarriesIt() {
        Device parentDevice = machine.device("00:04.0");
        MdevParent parent = bus.registerParent(parentDevice, List.of(new MdevTypeSpec("vgpu", "vfio-pci", 2)));
        Mdev mdev = parent.create(UUID.fromString("aaaaaaaa-0000-0000-0000-00000000000a"), "vgpu");
        container.attach(mdev);
        guest.memory().write(DATA, pattern(6, 0x1000));
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 0x1000, Permissions.READ_WRITE);
        int pasid = container.allocateGuestPasid();
        container.bindGuestPasid(mdev, pasid, new VtdFirstLevelConfig(pt.root(), 48, Set.of()));

        byte[] seen = new byte[0x1000];
        DmaResult viaGuestPasid = mdev.read(GVA, seen, DmaAttributes.pasid(pasid));
        assertThat(viaGuestPasid.physicalAddress()).isEqualTo(guest.hostPhysical(DATA));
        assertThat(seen).isEqualTo(pattern(6, 0x1000));
        assertThat(mdev.translate(DATA, AccessType.READ).physicalAddress()).as("its own PASID: GPA as IOVA")
                .isEqualTo(guest.hostPhysical(DATA));
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(pasid)).faulted()).as("not bound on the other device").isTrue();

        container.unbindGuestPasid(mdev, pasid);
        assertThat(parentDevice.translate(GVA, AccessType.READ, DmaAttributes.pasid(pasid)).faulted()).isTrue();
    }

    @Test
    void afterAnMdevsGuestPasidIsUnboundNoDmaThatStartsLaterCarriesIt() throws Exception {
        Device parentDevice = machine.device("00:04.0");
        MdevParent parent = bus.registerParent(parentDevice, List.of(new MdevTypeSpec("vgpu", "vfio-pci", 1)));
        Mdev mdev = parent.create(UUID.fromString("bbbbbbbb-0000-0000-0000-00000000000b"), "vgpu");
        container.attach(mdev);
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 0x1000, Permissions.READ);
        int pasid = container.allocateGuestPasid();
        container.bindGuestPasid(mdev, pasid, new VtdFirstLevelConfig(pt.root(), 48, Set.of()));
        java.util.concurrent.atomic.AtomicBoolean unbound = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong done = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicReference<String> violation = new java.util.concurrent.atomic.AtomicReference<>();
        Thread dma = new Thread(() -> {
            while (true) {
                boolean after = unbound.get();
                DmaResult r;
                try {
                    r = mdev.translate(GVA, AccessType.READ, DmaAttributes.pasid(pasid));
                } catch (dev.iommukit.spi.error.InvalidArgumentException refused) {
                    return;
                }
                if (after && r.ok()) {
                    violation.set("a DMA that started after the unbind returned translated: " + r);
                    return;
                }
                done.incrementAndGet();
            }
        }, "mdev-dma");
        dma.start();
        while (done.get() < 200 && dma.isAlive()) {
            Thread.onSpinWait();
        }
        container.unbindGuestPasid(mdev, pasid);
        unbound.set(true);
        dma.join(10_000);
        assertThat(dma.isAlive()).isFalse();
        assertThat(violation.get()).isNull();
        assertThat(done.get()).isGreaterThanOrEqualTo(200);
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(booleans = {false, true})
    void unbindingOrClosingDrainsThePageRequestsOfTheGuestPasid(boolean close) throws Exception {
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 0x1000, Permissions.READ);
        int pasid = container.allocateGuestPasid();
        container.bindGuestPasid(dev, pasid, new VtdFirstLevelConfig(pt.root(), 48, Set.of()));
        dev.enablePageRequests();
        dev.onPageRequest(request -> { });
        java.util.concurrent.atomic.AtomicReference<DmaResult> result = new java.util.concurrent.atomic.AtomicReference<>();
        Thread dma = new Thread(() -> result.set(dev.read(GVA + 0x10_0000, new byte[8], DmaAttributes.pasid(pasid))), "guest-dma");
        dma.start();
        while (dev.pendingPageRequests().isEmpty() && dma.isAlive()) {
            Thread.sleep(1);
        }
        assertThat(dev.pendingPageRequests()).singleElement().satisfies(p -> assertThat(p.pasid()).isEqualTo(pasid));

        if (close) {
            container.close();
        } else {
            container.unbindGuestPasid(dev, pasid);
        }
        assertThat(dev.pendingPageRequests()).as("answered as invalid by the drain").isEmpty();
        dma.join(5_000);
        assertThat(dma.isAlive()).isFalse();
        assertThat(result.get().fault().record().name()).isEqualTo("INVALID_REQUEST");
    }

    @Test
    void closingTheContainerUnbindsEveryGuestPasidAndFreesIt() {
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 0x1000, Permissions.READ);
        int pasid = container.allocateGuestPasid();
        container.bindGuestPasid(dev, pasid, new VtdFirstLevelConfig(pt.root(), 48, Set.of()));
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(pasid)).ok()).isTrue();

        container.close();
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(pasid)).faulted()).isTrue();
        assertThat(dev.pasidAttachments()).isEmpty();
        assertThat(machine.pasidsInUse()).isZero();
        assertThat(dev.unit().nestedDomains()).isEmpty();
        assertThat(dev.unit().pagingDomains()).isEmpty();
        assertThat(bus.guestPasidsHeld(vmm)).isZero();
        guest.close();
    }
}
