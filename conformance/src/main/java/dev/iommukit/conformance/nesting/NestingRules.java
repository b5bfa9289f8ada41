package dev.iommukit.conformance.nesting;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Machine;
import dev.iommukit.api.NestedDomain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Unit;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.NestedConfig;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Nesting, whatever the stage 1: a nested domain is a guest's stage-1 configuration on a paging
 * domain allocated as nesting parent, which serves as its stage 2. The parent must be a nesting
 * parent of the same unit and cannot be closed while a nested domain lives on it; a stage 1 the
 * unit does not advertise is refused with NOT_SUPPORTED and changes nothing. With a guest
 * model on a nesting container, stage 2 is the container's mappings of the guest's RAM.
 */
public abstract class NestingRules extends ConformanceGroup {
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
}
