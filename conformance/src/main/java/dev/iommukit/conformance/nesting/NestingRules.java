package dev.iommukit.conformance.nesting;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Machine;
import dev.iommukit.guest.GuestPageTable;
import dev.iommukit.api.NestedDomain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Unit;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.NestedConfig;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Nesting, whatever the stage 1: a nested domain is a guest's stage-1 configuration on a paging
 * domain allocated as nesting parent, which serves as its stage 2. The parent must be a nesting
 * parent of the same unit and cannot be closed while a nested domain lives on it; a stage 1 the
 * unit does not advertise is refused with NOT_SUPPORTED and changes nothing. With a guest
 * model on a nesting container, stage 2 is the container's mappings of the guest's RAM.
 */
public abstract class NestingRules extends GuestGroup {
    protected NestingRules(KitSubject subject) {
        super(subject);
    }

    private PagingDomain nestingParent(Unit u) {
        assumeAdvertised(Capability.NESTING_PARENT_DOMAIN);
        return u.newPagingDomain(DomainOptions.NESTING_PARENT);
    }

    @Test
    @Rule(id = "NEST-1")
    @DisplayName("a nested domain needs a nesting parent of its own unit: a plain paging domain, another unit's nesting parent or a closed one is refused (INVALID_ARGUMENT or CLOSED naming the parent) for every kind of stage 1, and nothing changes")
    public void theParentMustBeANestingParentOfThisUnit() {
        assumeAdvertised(Capability.PAGING_DOMAIN);
        PagingDomain plain = unit.newPagingDomain();
        assertThat(plain.isNestingParent()).as("a paging domain allocated without NESTING_PARENT is a nesting parent").isFalse();
        State before = state(machine);
        for (NestedConfig c : NestedConfigs.everyKind(caps(), 0x10_0000)) {
            assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "parent", () -> unit.newNestedDomain(plain, c));
        }
        assertUnchanged(machine, before);
        assertThat(unit.nestedDomains()).isEmpty();
        plain.close();
        if (caps().has(Capability.NESTING_PARENT_DOMAIN)) {
            Machine two = track(subject.newTwoUnitMachine());
            Unit u0 = two.unit(KitSubject.UNIT);
            Unit u1 = two.unit(KitSubject.OTHER_UNIT);
            PagingDomain foreign = u1.newPagingDomain(DomainOptions.NESTING_PARENT);
            assertThat(foreign.isNestingParent()).isTrue();
            PagingDomain closed = u0.newPagingDomain(DomainOptions.NESTING_PARENT);
            closed.close();
            State twoBefore = state(two);
            for (NestedConfig c : NestedConfigs.everyKind(caps(), 0x10_0000)) {
                assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "parent", () -> u0.newNestedDomain(foreign, c));
                assertRefused(ClosedException.class, ErrorCode.CLOSED, "parent", () -> u0.newNestedDomain(closed, c));
            }
            assertUnchanged(two, twoBefore);
            assertThat(u0.nestedDomains()).isEmpty();
            foreign.close();
        }
    }

    @Test
    @Rule(id = "NEST-2")
    @DisplayName("NESTING is advertised with NESTING_PARENT_DOMAIN and known stage1 kinds, each with its bind capability (vtd-first-level: GUEST_PASID_BIND; smmuv3-cd-table: PASID_TABLE_BIND), and a bind capability only with NESTING of its kind; a stage 1 not advertised is refused with NOT_SUPPORTED on a nesting parent, and nothing changes")
    public void capabilityShapeAndRefusalOfUnadvertisedStage1() {
        List<String> stage1 = NestedConfigs.stage1(caps());
        if (caps().has(Capability.NESTING)) {
            assertThat(caps().has(Capability.NESTING_PARENT_DOMAIN)).as("a unit advertising NESTING advertises NESTING_PARENT_DOMAIN")
                    .isTrue();
            assertThat(stage1).as("NESTING stage1 of unit %s", unit.name()).isNotEmpty();
            assertThat(NestedConfigs.KNOWN_STAGE1).as("known stage1 kinds").containsAll(stage1);
            for (String s : stage1) {
                assertThat(caps().has(NestedConfigs.bindCapability(s))).as("unit nesting %s advertises %s", s, NestedConfigs.bindCapability(s))
                        .isTrue();
            }
        }
        for (String s : NestedConfigs.KNOWN_STAGE1) {
            if (caps().has(NestedConfigs.bindCapability(s))) {
                assertThat(stage1).as("unit advertising %s nests %s", NestedConfigs.bindCapability(s), s).contains(s);
            }
        }
        if (!caps().has(Capability.NESTING_PARENT_DOMAIN)) {
            return;
        }
        PagingDomain parent = nestingParent(unit);
        assertThat(parent.isNestingParent()).isTrue();
        State before = state(machine);
        int refused = 0;
        for (NestedConfig c : NestedConfigs.everyKind(caps(), 0x10_0000)) {
            String named;
            if (!caps().has(Capability.NESTING)) {
                named = "NESTING";
            } else if (!stage1.contains(c.stage1())) {
                named = "config";
            } else if (!caps().has(NestedConfigs.bindCapability(c.stage1()))) {
                named = NestedConfigs.bindCapability(c.stage1()).name();
            } else {
                continue;
            }
            assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, named, () -> unit.newNestedDomain(parent, c));
            refused++;
        }
        assertUnchanged(machine, before);
        assertThat(unit.nestedDomains()).as("nested domains after refused allocations").isEmpty();
        assertThat(refused + NestedConfigs.stage1(caps()).size()).as("every kind is either advertised or refused").isEqualTo(2);
        parent.close();
        assertThat(machine.tablePagesInUse()).as("table pages after closing the parent").isEqualTo(pagesAtStart);
    }

    @Test
    @Rule(id = "NEST-3")
    @DisplayName("a nesting parent cannot be closed while a nested domain lives on it (BUSY), and closes once the nested domain is closed; the nested domain names its parent and config, is listed by the unit, accepts an empty invalidation batch, and gives back every table page")
    public void aNestingParentOutlivesItsNestedDomains() {
        assumeAdvertised(Capability.NESTING);
        NestedConfig config = NestedConfigs.advertised(caps(), 0x10_0000).orElse(null);
        Assumptions.assumeTrue(config != null, () -> "backend " + backendId() + " advertises NESTING but no stage 1 kind with its bind capability");
        PagingDomain parent = nestingParent(unit);
        NestedDomain nested = unit.newNestedDomain(parent, config);
        assertThat(nested.type()).isEqualTo(DomainType.NESTED);
        assertThat(nested.parent()).isSameAs(parent);
        assertThat(nested.config()).isEqualTo(config);
        assertThat(unit.nestedDomains()).containsExactly(nested);
        InvalidationBatchResult none = nested.invalidate(List.of());
        assertThat(none.isComplete()).isTrue();
        assertThat(none.requested()).isZero();
        assertRefused(BusyException.class, ErrorCode.BUSY, "nested", parent::close);
        assertThat(parent.isClosed()).as("the parent after a refused close").isFalse();
        PagingDomain second = nestingParent(unit);
        NestedDomain other = unit.newNestedDomain(second, config);
        nested.close();
        nested.close();
        assertThat(nested.isClosed()).isTrue();
        parent.close();
        assertThat(parent.isClosed()).isTrue();
        assertRefused(BusyException.class, ErrorCode.BUSY, "nested", second::close);
        other.close();
        second.close();
        assertThat(unit.nestedDomains()).isEmpty();
        assertThat(machine.tablePagesInUse()).as("table pages once every nested domain and parent is closed").isEqualTo(pagesAtStart);
    }

    @Test
    @Rule(id = "NEST-4")
    @DisplayName("UNMAP_DMA of guest RAM by the container (the guest's stage 2) makes nested DMA to it fault in stage 2 before it returns, without any guest invalidation: an extra RAM region unmapped faults while the rest stays reachable; all of the guest's RAM unmapped faults every access (its tables included); MAP_DMA again makes them reachable")
    public void stageTwoUnmapIsSeenByNestedDma() {
        Kind kind = assumeNestingKind();
        Rig rig = new Rig("nest4", devA);
        long extraVa = rig.vmm.mmap(2 * PAGE, Permissions.READ_WRITE);
        long extraGpa = RAM + MIB;
        rig.container.mapDma(extraVa, extraGpa, 2 * PAGE, Permissions.READ_WRITE);
        GuestPageTable pt = rig.guest.newPageTable(kind.format);
        pt.map(GVA, DATA, 2 * PAGE, Permissions.READ_WRITE);
        pt.map(GVA + 2 * PAGE, extraGpa, 2 * PAGE, Permissions.READ_WRITE);
        Binding b = bind(kind, rig, devA, pt);
        long[] hpas = {rig.hpa(DATA), rig.hpa(DATA + PAGE), rig.vmm.resolve(extraVa), rig.vmm.resolve(extraVa + PAGE)};
        for (int i = 0; i < 4; i++) {
            assertReaches(devA, b.pasid(), GVA + i * PAGE + 8, AccessType.READ, hpas[i] + 8);
            assertReaches(devA, b.pasid(), GVA + i * PAGE + 8, AccessType.WRITE, hpas[i] + 8);
        }
        assertThat(rig.container.unmapDma(extraGpa, 2 * PAGE)).as("bytes UNMAP_DMA took back").isEqualTo(2 * PAGE);
        for (int i = 2; i < 4; i++) {
            assertDoesNotReach(devA, b.pasid(), GVA + i * PAGE + 8, AccessType.READ, hpas[i] + 8);
            assertDoesNotReach(devA, b.pasid(), GVA + i * PAGE + 8, AccessType.WRITE, hpas[i] + 8);
            assertStage2Fault(devA, b.pasid(), GVA + i * PAGE, AccessType.READ);
        }
        assertReaches(devA, b.pasid(), GVA + 8, AccessType.READ, hpas[0] + 8);
        assertSharesGuestMemory(rig, devA, b.pasid(), GVA + PAGE, DATA + PAGE, 128, 41);
        rig.container.mapDma(extraVa, extraGpa, 2 * PAGE, Permissions.READ_WRITE);
        assertReaches(devA, b.pasid(), GVA + 3 * PAGE + 8, AccessType.WRITE, hpas[3] + 8);
        assertThat(rig.container.unmapDma(0, RAM)).as("bytes UNMAP_DMA took back").isEqualTo(RAM);
        for (int i = 0; i < 4; i++) {
            assertDoesNotReach(devA, b.pasid(), GVA + i * PAGE + 8, AccessType.READ, hpas[i] + 8);
            assertStage2Fault(devA, b.pasid(), GVA + i * PAGE, AccessType.WRITE);
        }
        rig.container.mapDma(rig.guest.vmmAddress(), 0, RAM, Permissions.READ_WRITE);
        for (int i = 0; i < 4; i++) {
            assertReaches(devA, b.pasid(), GVA + i * PAGE + 8, AccessType.READ, hpas[i] + 8);
        }
    }

    @Test
    @Rule(id = "NEST-5")
    @Timeout(600)
    @DisplayName("a hostile guest that writes random garbage into its own tables and CD structures and points them anywhere gets faults, never a Java exception from DMA, and every request that translates lands in the guest's own RAM (never outside its stage 2); every fault met fetching outside the guest's RAM is a stage-2 fault")
    public void hostileGuestTablesYieldFaultsWithinStageTwo() {
        Kind kind = assumeNestingKind();
        Rig rig = new Rig("nest5", devA);
        GuestPageTable pt = rig.guest.newPageTable(kind.format);
        pt.map(GVA, DATA, 16 * PAGE, Permissions.READ_WRITE);
        Binding b = bind(kind, rig, devA, pt);
        Set<Long> guestPages = new HashSet<>();
        for (long gpa = 0; gpa < RAM; gpa += PAGE) {
            guestPages.add(rig.hpa(gpa));
        }
        Random random = new Random(0x6E_E57L);
        List<String> escaped = new ArrayList<>();
        List<String> strays = new ArrayList<>();
        int translated = 0;
        int faulted = 0;
        TranslationOutcome out = new TranslationOutcome();
        int rid = devA.rid().value();
        for (int round = 0; round < 150; round++) {
            int words = 1 + random.nextInt(8);
            for (int w = 0; w < words; w++) {
                long at = random.nextInt(4) == 0 ? (random.nextLong() & (RAM - 1)) & -8L : RAM - 8 - ((random.nextLong() & 0x3_FFFFL) & -8L);
                long value = switch (random.nextInt(4)) {
                    case 0 -> random.nextLong();
                    case 1 -> (random.nextLong() & 0x000F_FFFF_FFFF_F000L) | (random.nextLong() & 0xFFF);
                    case 2 -> ((random.nextLong() & (RAM - 1)) & -PAGE) | 0x7 | (random.nextLong() & 0xF00L);
                    default -> ((RAM + (random.nextLong() & 0xFFFF_F000L)) & -PAGE) | 0x3;
                };
                rig.guest.memory().write64(at, value);
            }
            if (random.nextBoolean()) {
                InvalidationBatchResult r = rig.container.invalidateGuestCaches(devA,
                        List.of(CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB, CacheInvalidation.Cache.PASID)));
                assertThat(r.isComplete()).as("round %d: the guest's invalidation", round).isTrue();
            }
            for (int probe = 0; probe < 12; probe++) {
                long va = switch (random.nextInt(3)) {
                    case 0 -> GVA + (random.nextLong() & (16 * PAGE - 1));
                    case 1 -> random.nextLong() & 0x0000_7FFF_FFFF_FFFFL;
                    default -> GVA + (random.nextLong() & 0xFFF_FFFFL);
                };
                int pasid = random.nextInt(8) == 0 ? random.nextInt(4) : b.pasid();
                AccessType access = random.nextBoolean() ? AccessType.READ : AccessType.WRITE;
                DmaRequest request = new DmaRequest(rid, pasid == 0 ? Pasid.NONE : pasid, va, 8, access, random.nextInt(8) == 0,
                        random.nextInt(8) == 0);
                try {
                    devA.translate(request, out);
                } catch (RuntimeException | Error e) {
                    escaped.add("round " + round + " " + request + ": " + e);
                    continue;
                }
                if (out.isTranslated()) {
                    translated++;
                    if (!guestPages.contains(out.physicalAddress() & -PAGE)) {
                        strays.add("round " + round + " " + request + " -> 0x" + Long.toHexString(out.physicalAddress()));
                    }
                } else {
                    faulted++;
                    if (out.fault() == null || out.fault().record() == null) {
                        escaped.add("round " + round + " " + request + ": a fault without a record");
                    }
                }
            }
        }
        assertThat(escaped).as("exceptions (or record-less faults) out of DMA from a hostile guest").isEmpty();
        assertThat(strays).as("translations outside the guest's RAM: escapes from stage 2").isEmpty();
        assertThat(faulted).as("requests that faulted").isPositive();
        assertThat(translated + faulted).isEqualTo(150 * 12);
        Rig second = new Rig("nest5b", devB);
        GuestPageTable pt2 = second.guest.newPageTable(kind.format);
        pt2.map(GVA, RAM + 0x40_0000L, PAGE, Permissions.READ_WRITE);
        Binding b2 = bind(kind, second, devB, pt2);
        assertStage2Fault(devB, b2.pasid(), GVA, AccessType.READ);
    }
}
