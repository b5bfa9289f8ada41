package dev.iommukit.mdev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.Domain;
import dev.iommukit.api.Machine;
import dev.iommukit.api.NestedDomain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.api.Unit;
import dev.iommukit.mdev.TestSupport.Usage;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The rules of guest PASIDs and guest PASID binds in containers, on VT-d (the backend that binds
 * guest first levels): container type, quota per owner, ownership of every PASID named, busy and
 * not-found refusals, the undo of failed calls, invalidation passthrough, and close.
 */
class GuestPasidContainerTest {
    /** A 4 KiB aligned GPA for a guest first-level pointer; the rules here never walk it. */
    private static final VtdFirstLevelConfig CR3 = new VtdFirstLevelConfig(0x1000, 48, Set.of());
    private Machine machine;
    private MdevCore bus;
    private Device dev3;
    private Device dev4;
    private Device narrow;
    private Device noPasid;
    private Mdev mdev;
    private Process vmm;
    private Process other;
    private Unit unit;
    private Usage baseline;

    @BeforeEach
    void setUp() {
        machine = Machine.vtd().device("dmar0", "00:05.0", 2).device("dmar0", "00:06.0", 0).build();
        bus = new MdevCore(machine);
        dev3 = machine.device("00:03.0");
        dev4 = machine.device("00:04.0");
        narrow = machine.device("00:05.0");
        noPasid = machine.device("00:06.0");
        unit = dev3.unit();
        MdevParent parent = bus.registerParent(dev4, List.of(new MdevTypeSpec("vgpu", "vfio-pci", 2)));
        mdev = parent.create(UUID.fromString("cccccccc-0000-0000-0000-00000000000c"), "vgpu");
        Process warm = machine.newProcess("warm-up");
        try (Container c = bus.newContainer(warm, ContainerType.TYPE1_NESTING)) {
            c.attach(dev3);
            c.attach(mdev);
            c.bindGuestPasid(dev3, c.allocateGuestPasid(), CR3);
        }
        warm.exit();
        vmm = machine.newProcess("vmm");
        other = machine.newProcess("other-vmm");
        baseline = Usage.of(machine);
    }

    @AfterEach
    void tearDown() {
        machine.close();
    }

    /** No domain, no PASID, table pages as before (process pages differ: processes made page tables). */
    private void assertNothingLeft() {
        assertThat(unit.pagingDomains()).isEmpty();
        assertThat(unit.nestedDomains()).isEmpty();
        assertThat(machine.pasidsInUse()).isZero();
        assertThat(machine.tablePagesInUse()).isEqualTo(baseline.tablePages());
    }

    private Container nesting(Process owner) {
        return bus.newContainer(owner, ContainerType.TYPE1_NESTING);
    }

    @Test
    void aType1ContainerRefusesEveryNestingCallNamingItsType() {
        Container c = bus.newContainer(vmm);
        assertThat(c.type()).isEqualTo(ContainerType.TYPE1);
        c.attach(dev3);
        assertThat(((PagingDomain) dev3.domain()).isNestingParent()).isFalse();
        List<Runnable> calls = List.of(c::allocateGuestPasid, () -> c.freeGuestPasid(1), () -> c.bindGuestPasid(dev3, 1, CR3),
                () -> c.unbindGuestPasid(dev3, 1), () -> c.attachPasidTable(dev3, SmmuContextTableConfig.linear(0x1000, 2)),
                () -> c.detachPasidTable(dev3), () -> c.invalidateGuestCaches(dev3, List.of()));
        for (Runnable call : calls) {
            assertThatThrownBy(call::run).isInstanceOf(NotSupportedException.class).hasMessageContaining("TYPE1_NESTING")
                    .hasMessageContaining("this one is TYPE1");
        }
        assertThat(machine.pasidsInUse()).isZero();
        c.close();
    }

    @Test
    void aNestingContainersDomainsAreNestingParentsForDevicesAndMdevs() {
        Container c = nesting(vmm);
        assertThat(c.type()).isEqualTo(ContainerType.TYPE1_NESTING);
        c.attach(dev3);
        c.attach(mdev);
        assertThat(((PagingDomain) dev3.domain()).isNestingParent()).isTrue();
        Domain aux = dev4.auxDomains().keySet().iterator().next();
        assertThat(((PagingDomain) aux).isNestingParent()).isTrue();
        c.close();
        assertNothingLeft();
    }

    @Test
    void guestPasidsComeFromTheMachineWithinTheNarrowestWidthAndCountAgainstTheOwnersQuota() {
        Container c = nesting(vmm);
        c.attach(dev3);
        int p1 = c.allocateGuestPasid();
        int p2 = c.allocateGuestPasid();
        assertThat(p1).isNotEqualTo(p2).isPositive();
        assertThat(c.guestPasids()).containsExactly(Math.min(p1, p2), Math.max(p1, p2));
        assertThat(machine.pasidsInUse()).isEqualTo(2);
        assertThat(bus.guestPasidsHeld(vmm)).isEqualTo(2);
        assertThat(bus.guestPasidQuota(vmm)).isEqualTo(MdevCore.DEFAULT_GUEST_PASID_QUOTA);

        bus.setGuestPasidQuota(vmm, 3);
        Container second = nesting(vmm);
        second.allocateGuestPasid();
        assertThatThrownBy(second::allocateGuestPasid).as("the quota counts every container of the owner")
                .isInstanceOf(ResourceExhaustedException.class).hasMessageStartingWith("owner:").hasMessageContaining("quota of 3");
        assertThatThrownBy(c::allocateGuestPasid).isInstanceOf(ResourceExhaustedException.class);
        assertThat(machine.pasidsInUse()).as("a refused allocation takes no PASID").isEqualTo(3);
        Container others = nesting(other);
        others.allocateGuestPasid();
        assertThatThrownBy(() -> bus.setGuestPasidQuota(vmm, -1)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("quota:");

        c.freeGuestPasid(p1);
        assertThat(bus.guestPasidsHeld(vmm)).isEqualTo(2);
        c.allocateGuestPasid();
        second.close();
        assertThat(bus.guestPasidsHeld(vmm)).isEqualTo(2);
        c.close();
        others.close();
        assertThat(bus.guestPasidsHeld(vmm)).isZero();
        assertThat(machine.pasidsInUse()).isZero();
    }

    @Test
    void theWidthIsTheNarrowestOfTheContainersDevicesAndADeviceWithoutPasidsRefusesThem() {
        Container c = nesting(vmm);
        c.attach(dev3);
        c.attach(narrow);
        for (int i = 0; i < 3; i++) {
            assertThat(c.allocateGuestPasid()).isBetween(1, 3);
        }
        assertThatThrownBy(c::allocateGuestPasid).as("2 PASID bits: 1..3 only").isInstanceOf(ResourceExhaustedException.class)
                .hasMessageStartingWith("pasid:");
        assertThat(bus.guestPasidsHeld(vmm)).isEqualTo(3);
        Container d = nesting(other);
        d.attach(noPasid);
        assertThatThrownBy(d::allocateGuestPasid).isInstanceOf(NotSupportedException.class).hasMessageContaining("00:06.0");
        assertThat(bus.guestPasidsHeld(other)).isZero();
        c.close();
        d.close();
    }

    @Test
    void everyCallChecksThatThePasidIsThisContainers() {
        Container mine = nesting(vmm);
        Container theirs = nesting(other);
        mine.attach(dev3);
        theirs.attach(narrow);
        int theirPasid = theirs.allocateGuestPasid();
        int myPasid = mine.allocateGuestPasid();
        assertThatThrownBy(() -> mine.bindGuestPasid(dev3, theirPasid, CR3)).isInstanceOf(NotFoundException.class)
                .hasMessageStartingWith("pasid: " + theirPasid);
        assertThatThrownBy(() -> mine.freeGuestPasid(theirPasid)).isInstanceOf(NotFoundException.class).hasMessageStartingWith("pasid:");
        assertThatThrownBy(() -> mine.unbindGuestPasid(dev3, theirPasid)).isInstanceOf(NotFoundException.class)
                .hasMessageStartingWith("pasid:");
        assertThatThrownBy(() -> mine.freeGuestPasid(999)).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> theirs.bindGuestPasid(dev3, myPasid, CR3)).as("a device of another container")
                .isInstanceOf(NotFoundException.class).hasMessageStartingWith("device:");
        assertThatThrownBy(() -> mine.unbindGuestPasid(dev3, myPasid)).as("allocated, never bound")
                .isInstanceOf(NotFoundException.class).hasMessageContaining("is not bound");
        assertThat(theirs.guestPasids()).containsExactly(theirPasid);
        assertThat(mine.guestPasids()).containsExactly(myPasid);
        mine.close();
        theirs.close();
    }

    @Test
    void aBindNestsOnTheContainersDomainAtTheGuestPasidAndRefusesTwiceAndFreeWhileBound() {
        Container c = nesting(vmm);
        c.attach(dev3);
        int pasid = c.allocateGuestPasid();
        GuestBinding b = c.bindGuestPasid(dev3, pasid, CR3);
        assertThat(b.device()).isSameAs(dev3);
        assertThat(b.mdev()).isEmpty();
        assertThat(b.pasid()).isEqualTo(pasid);
        assertThat(b.isPasidTable()).isFalse();
        assertThat(dev3.domainAt(pasid)).isSameAs(b.domain());
        assertThat(b.domain().parent()).isSameAs(dev3.domain());
        assertThat(b.domain().config()).isEqualTo(CR3);
        assertThat(c.guestBindings()).containsExactly(b);
        assertThat(machine.pasidsInUse()).isEqualTo(1);

        assertThatThrownBy(() -> c.bindGuestPasid(dev3, pasid, CR3)).isInstanceOf(ConflictException.class).hasMessageStartingWith("pasid:");
        assertThatThrownBy(() -> c.freeGuestPasid(pasid)).isInstanceOf(BusyException.class).hasMessageStartingWith("pasid:");
        assertThatThrownBy(() -> c.detach(dev3)).isInstanceOf(BusyException.class).hasMessageStartingWith("device:")
                .hasMessageContaining("guest bindings");
        assertThat(dev3.domainAt(pasid)).isSameAs(b.domain());

        c.unbindGuestPasid(dev3, pasid);
        assertThat(dev3.domainAt(pasid)).isNull();
        assertThat(b.domain().isClosed()).isTrue();
        assertThat(unit.nestedDomains()).isEmpty();
        assertThat(c.guestBindings()).isEmpty();
        assertThat(c.guestPasids()).containsExactly(pasid);
        c.freeGuestPasid(pasid);
        assertThat(machine.pasidsInUse()).isZero();
        c.close();
        assertNothingLeft();
    }

    @Test
    void aRefusedBindLeavesNoNestedDomainAndNoAttachment() {
        Container c = nesting(vmm);
        c.attach(dev3);
        c.attach(narrow);
        int pasid = c.allocateGuestPasid();
        assertThatThrownBy(() -> c.bindGuestPasid(dev3, pasid, new VtdFirstLevelConfig(0x1000, 48, Set.of(VtdGuestPasidFlag.PCD))))
                .as("a flag the unit does not honour").isInstanceOf(NotSupportedException.class).hasMessageStartingWith("flags:");
        assertThat(unit.nestedDomains()).isEmpty();
        assertThat(dev3.pasidAttachments()).isEmpty();
        assertThat(c.guestBindings()).isEmpty();

        Container wide = nesting(other);
        wide.attach(dev4);
        int big = 0;
        for (int i = 0; i < 5; i++) {
            big = wide.allocateGuestPasid();
        }
        wide.attach(noPasid);
        int tooWide = big;
        assertThat(tooWide).isGreaterThan(3);
        assertThatThrownBy(() -> wide.bindGuestPasid(noPasid, tooWide, CR3)).as("the core refuses it after the nested domain was made")
                .isInstanceOf(dev.iommukit.spi.error.IommuException.class);
        assertThat(unit.nestedDomains()).as("the nested domain was closed again").isEmpty();
        assertThat(noPasid.pasidAttachments()).isEmpty();
        assertThat(wide.guestBindings()).isEmpty();
        assertThatThrownBy(() -> c.bindGuestPasid(dev3, pasid, null)).isInstanceOf(NullPointerException.class);
        assertThat(unit.nestedDomains()).isEmpty();
        c.close();
        wide.close();
        assertNothingLeft();
    }

    @Test
    void anMdevBindNestsOnItsAuxDomainAtItsParentAndLetsItsDmaCarryThePasid() {
        Container c = nesting(vmm);
        c.attach(mdev);
        PagingDomain aux = (PagingDomain) dev4.auxDomains().keySet().iterator().next();
        int pasid = c.allocateGuestPasid();
        assertThatThrownBy(() -> mdev.translate(0, AccessType.READ, DmaAttributes.pasid(pasid))).as("not bound yet")
                .isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("attributes:");
        GuestBinding b = c.bindGuestPasid(mdev, pasid, CR3);
        assertThat(b.device()).isSameAs(dev4);
        assertThat(b.mdev()).contains(mdev);
        assertThat(b.domain().parent()).isSameAs(aux);
        assertThat(dev4.domainAt(pasid)).isSameAs(b.domain());
        assertThat(mdev.guestPasids()).containsExactly(pasid);
        assertThat(mdev.translate(0, AccessType.READ, DmaAttributes.pasid(pasid)).faulted())
                .as("issued at the guest PASID (the guest's tables at GPA 0x1000 are empty)").isTrue();
        assertThatThrownBy(() -> c.bindGuestPasid(mdev, pasid, CR3)).isInstanceOf(ConflictException.class);
        assertThatThrownBy(() -> c.detach(mdev)).isInstanceOf(BusyException.class).hasMessageStartingWith("mdev:");
        assertThatThrownBy(() -> c.unbindGuestPasid(dev4, pasid)).as("dev4 is not in the container whole")
                .isInstanceOf(NotFoundException.class).hasMessageStartingWith("device:");

        c.unbindGuestPasid(mdev, pasid);
        assertThat(mdev.guestPasids()).isEmpty();
        assertThat(dev4.domainAt(pasid)).isNull();
        assertThatThrownBy(() -> mdev.translate(0, AccessType.READ, DmaAttributes.pasid(pasid))).isInstanceOf(InvalidArgumentException.class);
        c.detach(mdev);
        c.close();
        assertNothingLeft();
    }

    @Test
    void invalidationsAreCheckedAgainstTheBindingsAndStopAtTheFirstRefusal() {
        Container c = nesting(vmm);
        c.attach(dev3);
        c.attach(mdev);
        int bound = c.allocateGuestPasid();
        int unbound = c.allocateGuestPasid();
        int forMdev = c.allocateGuestPasid();
        assertThatThrownBy(() -> c.invalidateGuestCaches(dev3, List.of(CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB))))
                .as("nothing bound on the device yet").isInstanceOf(NotFoundException.class).hasMessageContaining("no guest binding");
        c.bindGuestPasid(dev3, bound, CR3);
        c.bindGuestPasid(mdev, forMdev, CR3);
        Container theirs = nesting(other);
        int foreign = theirs.allocateGuestPasid();

        CacheInvalidation ok = CacheInvalidation.range(bound, 0x40_0000, 0x1000, 4, true);
        assertThat(c.invalidateGuestCaches(dev3, List.of(ok, CacheInvalidation.pasid(bound, CacheInvalidation.Cache.PASID,
                CacheInvalidation.Cache.IOTLB), CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB))))
                .isEqualTo(InvalidationBatchResult.all(3));
        assertThat(c.invalidateGuestCaches(dev3, List.of())).isEqualTo(InvalidationBatchResult.all(0));

        InvalidationBatchResult notOurs = c.invalidateGuestCaches(dev3, List.of(ok, CacheInvalidation.range(foreign, 0, 0x1000, 1, true), ok));
        assertThat(notOurs.completed()).isEqualTo(1);
        assertThat(notOurs.requested()).isEqualTo(3);
        assertThat(notOurs.refusal().orElseThrow()).isInstanceOf(NotFoundException.class)
                .hasMessageStartingWith("batch[1].pasid: " + foreign);
        InvalidationBatchResult notBoundHere = c.invalidateGuestCaches(dev3, List.of(ok, ok, CacheInvalidation.pasid(unbound,
                CacheInvalidation.Cache.IOTLB)));
        assertThat(notBoundHere.completed()).isEqualTo(2);
        assertThat(notBoundHere.refusal().orElseThrow()).hasMessageStartingWith("batch[2].pasid:").hasMessageContaining("not bound");
        InvalidationBatchResult mdevsPasidOnTheDevice = c.invalidateGuestCaches(dev3, List.of(CacheInvalidation.range(forMdev, 0, 0x1000,
                1, true)));
        assertThat(mdevsPasidOnTheDevice.completed()).isZero();
        assertThat(c.invalidateGuestCaches(mdev, List.of(CacheInvalidation.range(forMdev, 0, 0x1000, 1, true))).isComplete()).isTrue();

        InvalidationBatchResult backendRefusal = c.invalidateGuestCaches(dev3, List.of(ok, CacheInvalidation.asid(3), ok));
        assertThat(backendRefusal.completed()).as("VT-d has no ASIDs: the backend stops there").isEqualTo(1);
        assertThat(backendRefusal.refusal().orElseThrow()).hasMessageStartingWith("archId:");

        assertThatThrownBy(() -> c.invalidateGuestCaches(narrow, List.of(ok))).isInstanceOf(NotFoundException.class)
                .hasMessageStartingWith("device:");
        assertThatThrownBy(() -> c.invalidateGuestCaches(dev3, null)).isInstanceOf(NullPointerException.class);
        c.close();
        theirs.close();
    }

    @Test
    void aPasidTableBindIsRefusedOnVtdWithoutAChange() {
        Container c = nesting(vmm);
        c.attach(dev3);
        Domain before = dev3.domain();
        assertThatThrownBy(() -> c.attachPasidTable(dev3, SmmuContextTableConfig.linear(0x1000, 4)))
                .isInstanceOf(NotSupportedException.class);
        assertThat(dev3.domain()).isSameAs(before);
        assertThat(unit.nestedDomains()).isEmpty();
        assertThatThrownBy(() -> c.detachPasidTable(dev3)).isInstanceOf(NotFoundException.class).hasMessageStartingWith("device:");
        c.close();
    }

    @Test
    void closeUnbindsEveryGuestPasidFreesThemAndThenTearsDownTheRest() {
        Container c = nesting(vmm);
        long va = vmm.mmap(0x4000, Permissions.READ_WRITE);
        c.mapDma(va, 0, 0x4000, Permissions.READ_WRITE);
        c.attach(dev3);
        c.attach(mdev);
        int a = c.allocateGuestPasid();
        int b = c.allocateGuestPasid();
        c.allocateGuestPasid();
        c.bindGuestPasid(dev3, a, CR3);
        c.bindGuestPasid(dev3, b, CR3);
        c.bindGuestPasid(mdev, b, CR3);
        assertThat(unit.nestedDomains()).hasSize(3);
        assertThat(machine.pasidsInUse()).as("3 guest PASIDs and the mdev's aux PASID").isEqualTo(4);

        c.close();
        assertThat(dev3.pasidAttachments()).isEmpty();
        assertThat(dev4.pasidAttachments()).isEmpty();
        assertThat(mdev.guestPasids()).isEmpty();
        assertThat(mdev.container()).isEmpty();
        assertThat(unit.nestedDomains()).isEmpty();
        assertThat(bus.guestPasidsHeld(vmm)).isZero();
        assertThat(vmm.lockedBytes()).isZero();
        assertThat(dev3.translate(0, AccessType.READ, DmaAttributes.pasid(a)).faulted()).isTrue();
        assertNothingLeft();
    }

    @Test
    void closeAfterTheMachineClosedStillFreesTheQuota() {
        Container c = nesting(vmm);
        c.attach(dev3);
        c.bindGuestPasid(dev3, c.allocateGuestPasid(), CR3);
        machine.close();
        c.close();
        assertThat(c.isClosed()).isTrue();
        assertThat(bus.guestPasidsHeld(vmm)).isZero();
    }

    @Test
    void guestBindingDescribesItself() {
        Container c = nesting(vmm);
        c.attach(dev3);
        int pasid = c.allocateGuestPasid();
        GuestBinding b = c.bindGuestPasid(dev3, pasid, CR3);
        assertThat(b.toString()).contains("guest PASID " + pasid).contains(dev3.name());
        NestedDomain n = b.domain();
        assertThat(n.attachesAtPasid()).isTrue();
        c.close();
    }
}
