package dev.iommukit.guest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.NestedDomain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.SmmuContextTableConfig.DefaultSubstream;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * End to end on SMMUv3: the guest's own CD table and VMSAv8-64 tables in its RAM, attached to a
 * whole device through a nesting container (STE nested); DMA with a substream goes through the
 * guest's CD for it, GVA -> IPA by the guest's stage 1, IPA -> PA by the container's stage 2.
 */
class SmmuPasidTableBindTest {
    private static final long RAM = 8L << 20;
    private static final long GVA = 0x0000_7f00_0040_0000L;
    private static final long DATA = 0x10_0000L;
    private static final long OTHER = 0x20_0000L;
    private static final int ASID = 7;
    private Machine machine;
    private MdevCore bus;
    private Process vmm;
    private Device dev;
    private Container container;
    private Guest guest;

    @BeforeEach
    void setUp() {
        machine = Machine.smmuv3().build();
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
            b[i] = (byte) (seed * 17 + i * 11 + (i >> 6));
        }
        return b;
    }

    @Test
    void dmaWithASubstreamUsesTheGuestCdAndBothStages() {
        guest.memory().write(DATA, pattern(1, 0x2000));
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        pt.map(GVA, DATA, 0x2000, Permissions.READ_WRITE);
        GuestContextTable cds = guest.newContextTable(4);
        cds.writeContextDescriptor(1, pt, ASID);
        PagingDomain stage2 = (PagingDomain) dev.domain();
        container.attachPasidTable(dev, cds.config(DefaultSubstream.BYPASS));
        assertThat(dev.domain()).isInstanceOf(NestedDomain.class);
        assertThat(((NestedDomain) dev.domain()).parent()).isSameAs(stage2);

        byte[] seen = new byte[0x2000];
        DmaResult r = dev.read(GVA, seen, DmaAttributes.pasid(1));
        assertThat(r.ok()).as("%s", r).isTrue();
        assertThat(r.physicalAddress()).isEqualTo(guest.hostPhysical(DATA));
        assertThat(seen).isEqualTo(pattern(1, 0x2000));
        assertThat(dev.write(GVA + 0x1800, pattern(2, 0x80), DmaAttributes.pasid(1)).ok()).isTrue();
        assertThat(guest.memory().read(DATA + 0x1800, 0x80)).isEqualTo(pattern(2, 0x80));

        assertThat(dev.translate(DATA, AccessType.READ).physicalAddress()).as("no substream: stage 1 bypassed (S1DSS=BYPASS)")
                .isEqualTo(guest.hostPhysical(DATA));
        DmaResult noCd = dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(2));
        assertThat(noCd.faulted()).as("substream 2 has an invalid CD").isTrue();
        DmaResult unmapped = dev.translate(GVA + 0x10_0000, AccessType.READ, DmaAttributes.pasid(1));
        assertThat(unmapped.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(unmapped.fault().stage()).isEqualTo(FaultStage.STAGE_1);
    }

    @Test
    void withSubstreamZeroAsDefaultRequestsWithoutASubstreamUseCdZero() {
        guest.memory().write(DATA, pattern(7, 0x1000));
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        pt.map(GVA, DATA, 0x1000, Permissions.READ);
        GuestContextTable cds = guest.newContextTable(1);
        cds.writeContextDescriptor(0, pt, ASID);
        container.attachPasidTable(dev, cds.config(DefaultSubstream.SUBSTREAM_0));
        byte[] seen = new byte[0x1000];
        assertThat(dev.read(GVA, seen).physicalAddress()).isEqualTo(guest.hostPhysical(DATA));
        assertThat(seen).isEqualTo(pattern(7, 0x1000));
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(0)).faulted()).as("substream 0 itself is reserved").isTrue();
        assertThat(dev.translate(DATA, AccessType.READ).faulted()).as("no bypass: the GPA is not a GVA of CD 0").isTrue();
    }

    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.EnumSource(value = dev.iommukit.spi.nested.SmmuContextTableConfig.Format.class,
            names = {"TWO_LEVEL_4K", "TWO_LEVEL_64K"})
    void twoLevelGuestCdTablesServeTheirSubstreams(dev.iommukit.spi.nested.SmmuContextTableConfig.Format format) {
        guest.memory().write(DATA, pattern(8, 0x1000));
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        pt.map(GVA, DATA, 0x1000, Permissions.READ);
        GuestContextTable cds = guest.newContextTable(12, format);
        int ssid = 0x7C5;
        cds.writeContextDescriptor(ssid, pt, ASID);
        container.attachPasidTable(dev, cds.config(DefaultSubstream.TERMINATE));
        assertThat(dev.translate(GVA + 0x10, AccessType.READ, DmaAttributes.pasid(ssid)).physicalAddress())
                .isEqualTo(guest.hostPhysical(DATA + 0x10));
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(3)).faulted()).as("its L1CD is invalid").isTrue();

        cds.writeContextDescriptor(3, pt, ASID + 1);
        assertThat(container.invalidateGuestCaches(dev, List.of(CacheInvalidation.pasid(3, CacheInvalidation.Cache.PASID))).isComplete())
                .isTrue();
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(3)).physicalAddress()).isEqualTo(guest.hostPhysical(DATA));
    }

    @Test
    void anIpaOutsideTheGuestRamFaultsAtStageTwo() {
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        pt.map(GVA, RAM + 0x40_0000, 0x1000, Permissions.READ);
        GuestContextTable cds = guest.newContextTable(2);
        cds.writeContextDescriptor(1, pt, ASID);
        container.attachPasidTable(dev, cds.config(DefaultSubstream.TERMINATE));
        DmaResult r = dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(1));
        assertThat(r.faulted()).isTrue();
        assertThat(r.fault().stage()).as("%s", r.fault()).isEqualTo(FaultStage.STAGE_2);
    }

    @Test
    void aGuestTableChangeIsSeenOnlyAfterTheGuestInvalidatesItsAsid() {
        guest.memory().write(DATA, pattern(3, 0x1000));
        guest.memory().write(OTHER, pattern(4, 0x1000));
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        pt.map(GVA, DATA, 0x1000, Permissions.READ_WRITE);
        GuestContextTable cds = guest.newContextTable(4);
        cds.writeContextDescriptor(3, pt, ASID);
        container.attachPasidTable(dev, cds.config(DefaultSubstream.TERMINATE));
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(3)).physicalAddress()).isEqualTo(guest.hostPhysical(DATA));

        pt.unmap(GVA, 0x1000);
        pt.map(GVA, OTHER, 0x1000, Permissions.READ_WRITE);
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(3)).physicalAddress())
                .as("the cached translation until the guest invalidates").isEqualTo(guest.hostPhysical(DATA));
        assertThat(container.invalidateGuestCaches(dev, List.of(CacheInvalidation.asidRange(ASID, GVA, 0x1000, 1, true))).isComplete())
                .isTrue();
        byte[] seen = new byte[0x1000];
        assertThat(dev.read(GVA, seen, DmaAttributes.pasid(3)).physicalAddress()).isEqualTo(guest.hostPhysical(OTHER));
        assertThat(seen).isEqualTo(pattern(4, 0x1000));
    }

    @Test
    void aNewCdServesItsSubstreamOnceTheGuestInvalidatesTheCdCache() {
        guest.memory().write(DATA, pattern(5, 0x1000));
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        pt.map(GVA, DATA, 0x1000, Permissions.READ);
        GuestContextTable cds = guest.newContextTable(4);
        cds.writeContextDescriptor(1, pt, ASID);
        container.attachPasidTable(dev, cds.config(DefaultSubstream.TERMINATE));
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(1)).ok()).isTrue();

        cds.writeContextDescriptor(5, pt, ASID + 1);
        assertThat(container.invalidateGuestCaches(dev, List.of(CacheInvalidation.pasid(5, CacheInvalidation.Cache.PASID))).isComplete())
                .isTrue();
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(5)).physicalAddress()).isEqualTo(guest.hostPhysical(DATA));

        cds.clear(1);
        assertThat(container.invalidateGuestCaches(dev, List.of(CacheInvalidation.pasid(1, CacheInvalidation.Cache.PASID),
                CacheInvalidation.asid(ASID))).isComplete()).isTrue();
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(1)).faulted()).as("CD 1 cleared and invalidated").isTrue();
    }

    @Test
    void detachingThePasidTableDrainsItsPageRequests() throws Exception {
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        pt.map(GVA, DATA, 0x1000, Permissions.READ);
        GuestContextTable cds = guest.newContextTable(2);
        cds.writeContextDescriptor(1, pt, ASID);
        container.attachPasidTable(dev, cds.config(DefaultSubstream.TERMINATE));
        dev.enablePageRequests();
        dev.onPageRequest(request -> { });
        java.util.concurrent.atomic.AtomicReference<DmaResult> result = new java.util.concurrent.atomic.AtomicReference<>();
        Thread dma = new Thread(() -> result.set(dev.read(GVA + 0x10_0000, new byte[8], DmaAttributes.pasid(1))), "guest-dma");
        dma.start();
        while (dev.pendingPageRequests().isEmpty() && dma.isAlive()) {
            Thread.sleep(1);
        }
        assertThat(dev.pendingPageRequests()).singleElement().satisfies(p -> assertThat(p.pasid()).isEqualTo(1));

        container.detachPasidTable(dev);
        assertThat(dev.pendingPageRequests()).as("answered as invalid by the drain").isEmpty();
        dma.join(5_000);
        assertThat(dma.isAlive()).isFalse();
        assertThat(result.get().faulted()).isTrue();
        assertThat(result.get().fault().record().name()).isEqualTo("INVALID_REQUEST");
    }

    @Test
    void detachingThePasidTableLeavesTheStageTwoAloneAndClosingUndoesTheBind() {
        GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        pt.map(GVA, DATA, 0x1000, Permissions.READ);
        GuestContextTable cds = guest.newContextTable(4);
        cds.writeContextDescriptor(1, pt, ASID);
        PagingDomain stage2 = (PagingDomain) dev.domain();
        container.attachPasidTable(dev, cds.config(DefaultSubstream.TERMINATE));
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(1)).ok()).isTrue();

        container.detachPasidTable(dev);
        assertThat(dev.domain()).isSameAs(stage2);
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(1)).faulted()).isTrue();
        assertThat(dev.translate(DATA, AccessType.READ).physicalAddress()).isEqualTo(guest.hostPhysical(DATA));
        assertThat(dev.unit().nestedDomains()).isEmpty();

        container.attachPasidTable(dev, cds.config(DefaultSubstream.TERMINATE));
        container.close();
        assertThat(dev.domain()).isNull();
        assertThat(dev.unit().nestedDomains()).isEmpty();
        assertThat(dev.unit().pagingDomains()).isEmpty();
        assertThat(dev.translate(GVA, AccessType.READ, DmaAttributes.pasid(1)).faulted()).isTrue();
    }
}
