package dev.iommukit.mdev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.Machine;
import dev.iommukit.api.NestedDomain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.api.Unit;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The rules of PASID-table binds in containers, on SMMUv3 (the backend that takes guest CD
 * tables): the whole device's attach replaced by a nested domain on the container's stage 2 and
 * back, conflicts, refusals without a change, invalidation routing, and close.
 */
class PasidTableContainerTest {
    private static final SmmuContextTableConfig TABLE = SmmuContextTableConfig.linear(0x4000, 4);
    private Machine machine;
    private MdevCore bus;
    private Device dev3;
    private Device dev4;
    private Unit unit;
    private Process vmm;
    private long tablePages;

    @BeforeEach
    void setUp() {
        machine = Machine.smmuv3().build();
        bus = new MdevCore(machine);
        dev3 = machine.device("00:03.0");
        dev4 = machine.device("00:04.0");
        unit = dev3.unit();
        Process warm = machine.newProcess("warm-up");
        try (Container c = bus.newContainer(warm, ContainerType.TYPE1_NESTING)) {
            c.attach(dev3);
            c.attach(dev4);
            c.attachPasidTable(dev3, TABLE);
        }
        warm.exit();
        vmm = machine.newProcess("vmm");
        tablePages = machine.tablePagesInUse();
    }

    @AfterEach
    void tearDown() {
        machine.close();
    }

    private void assertNothingLeft() {
        assertThat(unit.pagingDomains()).isEmpty();
        assertThat(unit.nestedDomains()).isEmpty();
        assertThat(machine.pasidsInUse()).isZero();
        assertThat(machine.tablePagesInUse()).isEqualTo(tablePages);
    }

    @Test
    void aPasidTableReplacesTheDevicesAttachAndDetachingPutsTheStageTwoBack() {
        Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
        c.attach(dev3);
        c.attach(dev4);
        PagingDomain stage2 = (PagingDomain) dev3.domain();
        assertThat(stage2.isNestingParent()).isTrue();
        GuestBinding b = c.attachPasidTable(dev3, TABLE);
        assertThat(b.isPasidTable()).isTrue();
        assertThat(b.device()).isSameAs(dev3);
        assertThat(dev3.domain()).isSameAs(b.domain());
        NestedDomain nested = b.domain();
        assertThat(nested.isContextTable()).isTrue();
        assertThat(nested.parent()).isSameAs(stage2);
        assertThat(nested.config()).isEqualTo(TABLE);
        assertThat(dev4.domain()).as("the other device keeps the stage 2").isSameAs(stage2);
        assertThat(c.guestBindings()).containsExactly(b);

        assertThatThrownBy(() -> c.attachPasidTable(dev3, TABLE)).isInstanceOf(ConflictException.class).hasMessageStartingWith("device:");
        assertThatThrownBy(() -> c.detach(dev3)).isInstanceOf(BusyException.class).hasMessageContaining("detachPasidTable");
        assertThatThrownBy(() -> c.detachPasidTable(dev4)).isInstanceOf(NotFoundException.class).hasMessageStartingWith("device:");

        c.detachPasidTable(dev3);
        assertThat(dev3.domain()).isSameAs(stage2);
        assertThat(nested.isClosed()).isTrue();
        assertThat(c.guestBindings()).isEmpty();
        c.detach(dev3);
        c.close();
        assertNothingLeft();
    }

    @Test
    void refusedBindsChangeNothing() {
        Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
        c.attach(dev3);
        PagingDomain stage2 = (PagingDomain) dev3.domain();

        int pasid = c.allocateGuestPasid();
        assertThatThrownBy(() -> c.bindGuestPasid(dev3, pasid, new VtdFirstLevelConfig(0x1000, 48, Set.of())))
                .as("SMMUv3 binds no guest first level").isInstanceOf(NotSupportedException.class);
        assertThat(dev3.pasidAttachments()).isEmpty();
        assertThat(unit.nestedDomains()).isEmpty();
        assertThat(dev3.domain()).isSameAs(stage2);
        assertThatThrownBy(() -> c.attachPasidTable(dev4, TABLE)).isInstanceOf(NotFoundException.class).hasMessageStartingWith("device:");
        c.close();
        assertNothingLeft();
    }

    @Test
    void mdevsOfANestingContainerNeedAuxDomainsThatCanBeNestingParents() {
        MdevParent parent = bus.registerParent(dev4, List.of(new MdevTypeSpec("vgpu", "vfio-pci", 1)));
        Mdev mdev = parent.create(UUID.fromString("dddddddd-0000-0000-0000-00000000000d"), "vgpu");
        Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
        assertThatThrownBy(() -> c.attach(mdev)).as("an SMMUv3 stage 2 cannot be attached at a substream")
                .isInstanceOf(IommuException.class);
        assertThat(mdev.container()).isEmpty();
        assertThat(dev4.auxDomains()).isEmpty();
        assertThat(dev4.auxDomainsEnabled()).isFalse();
        c.close();
        assertNothingLeft();
    }

    @Test
    void invalidationsGoToTheDevicesPasidTableWithTheGuestsOwnSubstreamsAndAsids() {
        Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
        c.attach(dev3);
        c.attach(dev4);
        assertThatThrownBy(() -> c.invalidateGuestCaches(dev3, List.of(CacheInvalidation.asid(1)))).isInstanceOf(NotFoundException.class);
        c.attachPasidTable(dev3, TABLE);
        InvalidationBatchResult r = c.invalidateGuestCaches(dev3, List.of(CacheInvalidation.pasid(3, CacheInvalidation.Cache.PASID),
                CacheInvalidation.asid(7), CacheInvalidation.asidRange(7, 0x40_0000, 0x1000, 2, true),
                CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB)));
        assertThat(r).isEqualTo(InvalidationBatchResult.all(4));
        assertThatThrownBy(() -> c.invalidateGuestCaches(dev4, List.of(CacheInvalidation.asid(7)))).as("no PASID table on dev4")
                .isInstanceOf(NotFoundException.class).hasMessageContaining("no guest binding");
        c.close();
        assertNothingLeft();
    }

    @Test
    void closeDetachesThePasidTableBeforeTheRest() {
        Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
        c.attach(dev3);
        c.attachPasidTable(dev3, TABLE);
        c.close();
        assertThat(dev3.domain()).isNull();
        assertThat(dev3.translate(0, AccessType.READ, DmaAttributes.pasid(1)).faulted()).isTrue();
        assertNothingLeft();
    }
}
