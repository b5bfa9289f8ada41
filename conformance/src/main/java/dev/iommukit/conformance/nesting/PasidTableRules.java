package dev.iommukit.conformance.nesting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.iommukit.api.Domain;
import dev.iommukit.api.NestedDomain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.guest.GuestContextTable;
import dev.iommukit.guest.GuestPageTable;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.SmmuContextTableConfig.DefaultSubstream;
import java.util.List;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * PASID-table bind (SMMUv3 style): a guest's own context-descriptor table, in its RAM, attached to
 * a whole device of a nesting container, whose domain stays the stage 2 of every CD and table
 * fetch. DMA with a substream goes GVA -> GPA (the CD's tables) -> HPA; a CD change needs the
 * guest's PASID-cache invalidation and a table change its IOTLB invalidation by ASID or address;
 * requests without substream follow the table's default substream; detaching gives the device
 * back to stage 2 alone. Where PASID_TABLE_BIND is not advertised, attaching a CD table is
 * refused with NOT_SUPPORTED and nothing changes.
 */
public abstract class PasidTableRules extends GuestGroup {
    protected PasidTableRules(KitSubject subject) {
        super(subject);
    }

    /** A guest with a CD table of 16 CDs on device A, its CD {@link #SSID} translating through a table mapping GVA to DATA. */
    private final class Setup {
        final Rig rig = new Rig("ptbind", devA);
        final GuestPageTable table = rig.guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        final GuestContextTable cds = rig.guest.newContextTable(4);

        Setup() {
            table.map(GVA, DATA, 2 * PAGE, Permissions.READ_WRITE);
            cds.writeContextDescriptor(SSID, table, ASID);
        }

        void attach(DefaultSubstream dss) {
            rig.container.attachPasidTable(devA, cds.config(dss));
        }

        void invalidate(CacheInvalidation... batch) {
            var r = rig.container.invalidateGuestCaches(devA, List.of(batch));
            assertThat(r.isComplete()).as("the guest's invalidation %s: %s", List.of(batch), r).isTrue();
            assertThat(r.completed()).isEqualTo(batch.length);
        }
    }

    private Setup setup() {
        assumeKind(Kind.SMMU);
        return new Setup();
    }

    private String refusalArgument() {
        if (!caps().has(Capability.NESTING)) {
            return "NESTING";
        }
        if (!NestedConfigs.stage1(caps()).contains(SmmuContextTableConfig.STAGE1)) {
            return "config";
        }
        return Capability.PASID_TABLE_BIND.name();
    }

    // ------------------------------------------------------------------ rules

    @Test
    @Rule(id = "PTBIND-1")
    @DisplayName("PASID_TABLE_BIND is advertised with formats including LINEAR and a cdMaxBits of at least 1, together with NESTING of smmuv3-cd-table; where it is not, a guest CD table is refused with NOT_SUPPORTED by newNestedDomain on a nesting parent and by the container's attachPasidTable, and nothing changes")
    public void capabilityShapeAndRefusal() {
        if (caps().has(Capability.PASID_TABLE_BIND)) {
            assertThat(NestedConfigs.list(caps().parameter(Capability.PASID_TABLE_BIND, "formats"))).as("PASID_TABLE_BIND formats")
                    .contains("LINEAR");
            assertThat(Integer.parseInt(caps().parameter(Capability.PASID_TABLE_BIND, "cdMaxBits").orElse("0")))
                    .as("PASID_TABLE_BIND cdMaxBits").isBetween(1, 20);
            assertThat(NestedConfigs.stage1(caps())).as("NESTING stage1 of a unit with PASID_TABLE_BIND").contains(SmmuContextTableConfig.STAGE1);
            return;
        }
        Process vmm = machine.newProcess("ptbind1");
        if (!caps().has(Capability.NESTING_PARENT_DOMAIN)) {
            Container c = core().newContainer(vmm, ContainerType.TYPE1_NESTING);
            State before = state(machine, Probe.read(devA, DATA));
            Throwable t = catchThrowable(() -> c.attach(devA));
            assertThat(t).as("attaching a device to a nesting container on a unit without NESTING_PARENT_DOMAIN").isInstanceOf(IommuException.class);
            assertThat(((IommuException) t).code()).as("%s", t).isEqualTo(ErrorCode.NOT_SUPPORTED);
            assertUnchanged(machine, before, Probe.read(devA, DATA));
            return;
        }
        PagingDomain parent = unit.newPagingDomain(DomainOptions.NESTING_PARENT);
        State before = state(machine);
        SmmuContextTableConfig cfg = SmmuContextTableConfig.linear(0x1000, 2);
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, refusalArgument(), () -> unit.newNestedDomain(parent, cfg));
        assertUnchanged(machine, before);
        parent.close();
        Rig rig = new Rig("ptbind1-guest", devA);
        GuestPageTable pt = rig.guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        pt.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
        GuestContextTable cds = rig.guest.newContextTable(2);
        cds.writeContextDescriptor(SSID, pt, ASID);
        Domain stage2 = devA.domain();
        Probe[] probes = {Probe.read(devA, DATA), new Probe(devA, SSID, GVA, AccessType.READ)};
        State bound = state(machine, probes);
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, refusalArgument(),
                () -> rig.container.attachPasidTable(devA, cds.config(DefaultSubstream.BYPASS)));
        assertUnchanged(machine, bound, probes);
        assertThat(devA.domain()).as("the device's domain after the refused attach").isSameAs(stage2);
        assertThat(rig.container.guestBindings()).isEmpty();
        assertThat(unit.nestedDomains()).isEmpty();
    }

    @Test
    @Rule(id = "PTBIND-2")
    @DisplayName("with a guest CD table attached to a whole device, DMA with a substream walks its CD's tables then stage 2: it reaches the host page behind the guest-physical page, reading and writing the guest's bytes; substreams with other CDs and tables are isolated; a substream with an invalid CD and an unmapped GVA fault")
    public void substreamDmaReachesGvaToGpaToHpa() {
        Setup s = setup();
        GuestPageTable second = s.rig.guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        second.map(GVA, OTHER, PAGE, Permissions.READ);
        s.cds.writeContextDescriptor(3, second, ASID + 1);
        Domain stage2 = devA.domain();
        s.attach(DefaultSubstream.TERMINATE);
        assertThat(devA.domain()).as("the device's domain after attachPasidTable").isInstanceOf(NestedDomain.class);
        assertThat(((NestedDomain) devA.domain()).parent()).as("stage 2 of the guest CD table").isSameAs(stage2);
        for (int i = 0; i < 2; i++) {
            assertReaches(devA, SSID, GVA + i * PAGE + 0x30, AccessType.READ, s.rig.hpa(DATA + i * PAGE) + 0x30);
            assertReaches(devA, SSID, GVA + i * PAGE + 0x38, AccessType.WRITE, s.rig.hpa(DATA + i * PAGE) + 0x38);
        }
        assertSharesGuestMemory(s.rig, devA, SSID, GVA + 0x800, DATA + 0x800, (int) PAGE, 11);
        assertReaches(devA, 3, GVA + 8, AccessType.READ, s.rig.hpa(OTHER) + 8);
        assertStage1Fault(devA, 3, GVA + 8, AccessType.WRITE);
        assertDoesNotReach(devA, 3, GVA + PAGE, AccessType.READ, s.rig.hpa(DATA + PAGE));
        assertDoesNotReach(devA, 2, GVA, AccessType.READ, s.rig.hpa(DATA));
        assertStage1Fault(devA, SSID, GVA + 16 * PAGE, AccessType.READ);
        assertDoesNotReach(devB, SSID, GVA, AccessType.READ, s.rig.hpa(DATA));
    }

    @Test
    @Rule(id = "PTBIND-3")
    @DisplayName("a CD the guest rewrites takes effect only after its PASID-cache invalidation of that substream: the substream keeps its old tables until then, then uses the new CD's")
    public void cdChangesNeedAPasidCacheInvalidation() {
        Setup s = setup();
        GuestPageTable second = s.rig.guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        second.map(GVA, OTHER, 2 * PAGE, Permissions.READ_WRITE);
        s.attach(DefaultSubstream.TERMINATE);
        assertReaches(devA, SSID, GVA + 8, AccessType.READ, s.rig.hpa(DATA) + 8);
        s.cds.writeContextDescriptor(SSID, second, ASID + 2);
        assertReaches(devA, SSID, GVA + 8, AccessType.READ, s.rig.hpa(DATA) + 8);
        s.invalidate(CacheInvalidation.pasid(SSID, CacheInvalidation.Cache.PASID));
        assertReaches(devA, SSID, GVA + 8, AccessType.READ, s.rig.hpa(OTHER) + 8);
        assertSharesGuestMemory(s.rig, devA, SSID, GVA + PAGE, OTHER + PAGE, 64, 12);
        s.cds.clear(SSID);
        s.invalidate(CacheInvalidation.pasid(SSID, CacheInvalidation.Cache.PASID), CacheInvalidation.asid(ASID + 2));
        assertDoesNotReach(devA, SSID, GVA + 8, AccessType.READ, s.rig.hpa(OTHER) + 8);
    }

    @Test
    @Rule(id = "PTBIND-4")
    @DisplayName("a change to a CD's stage-1 tables takes effect only after the guest's IOTLB invalidation by ASID and address (then by whole ASID): the old page is reached until then, the new one after")
    public void stageOneChangesNeedAnIotlbInvalidation() {
        Setup s = setup();
        s.attach(DefaultSubstream.TERMINATE);
        assertReaches(devA, SSID, GVA + 8, AccessType.READ, s.rig.hpa(DATA) + 8);
        assertReaches(devA, SSID, GVA + PAGE + 8, AccessType.READ, s.rig.hpa(DATA + PAGE) + 8);
        s.table.unmap(GVA, PAGE);
        s.table.map(GVA, OTHER, PAGE, Permissions.READ_WRITE);
        assertReaches(devA, SSID, GVA + 8, AccessType.READ, s.rig.hpa(DATA) + 8);
        s.invalidate(CacheInvalidation.asidRange(ASID, GVA, PAGE, 1, true));
        assertReaches(devA, SSID, GVA + 8, AccessType.READ, s.rig.hpa(OTHER) + 8);
        s.table.unmap(GVA + PAGE, PAGE);
        s.table.map(GVA + PAGE, OTHER + PAGE, PAGE, Permissions.READ_WRITE);
        assertReaches(devA, SSID, GVA + PAGE + 8, AccessType.READ, s.rig.hpa(DATA + PAGE) + 8);
        s.invalidate(CacheInvalidation.asid(ASID));
        assertReaches(devA, SSID, GVA + PAGE + 8, AccessType.READ, s.rig.hpa(OTHER + PAGE) + 8);
        s.table.unmap(GVA, 2 * PAGE);
        s.invalidate(CacheInvalidation.asid(ASID));
        assertStage1Fault(devA, SSID, GVA + 8, AccessType.READ);
    }

    @Test
    @Rule(id = "PTBIND-5")
    @DisplayName("requests without substream follow the table's default substream: TERMINATE faults them, BYPASS gives them stage 2 alone (guest-physical addresses), SUBSTREAM_0 translates them through CD 0")
    public void defaultSubstreamBehaviour() {
        Setup s = setup();
        s.cds.writeContextDescriptor(0, s.table, ASID + 3);
        s.attach(DefaultSubstream.TERMINATE);
        assertDoesNotReach(devA, Pasid.NONE, DATA, AccessType.READ, s.rig.hpa(DATA));
        assertDoesNotReach(devA, Pasid.NONE, GVA, AccessType.READ, s.rig.hpa(DATA));
        assertReaches(devA, SSID, GVA, AccessType.READ, s.rig.hpa(DATA));
        s.rig.container.detachPasidTable(devA);
        s.attach(DefaultSubstream.BYPASS);
        assertReaches(devA, Pasid.NONE, DATA + 0x48, AccessType.READ, s.rig.hpa(DATA) + 0x48);
        assertReaches(devA, Pasid.NONE, OTHER + 0x48, AccessType.WRITE, s.rig.hpa(OTHER) + 0x48);
        assertDoesNotReach(devA, Pasid.NONE, GVA, AccessType.READ, s.rig.hpa(DATA));
        assertReaches(devA, SSID, GVA, AccessType.READ, s.rig.hpa(DATA));
        s.rig.container.detachPasidTable(devA);
        s.attach(DefaultSubstream.SUBSTREAM_0);
        assertReaches(devA, Pasid.NONE, GVA + 0x50, AccessType.READ, s.rig.hpa(DATA) + 0x50);
        assertReaches(devA, Pasid.NONE, GVA + PAGE + 0x50, AccessType.WRITE, s.rig.hpa(DATA + PAGE) + 0x50);
        assertReaches(devA, SSID, GVA, AccessType.READ, s.rig.hpa(DATA));
    }

    @Test
    @Rule(id = "PTBIND-6")
    @DisplayName("detaching the CD table gives the device back to the container's stage 2 alone: requests without substream reach guest-physical addresses and substreams fault; closing the container with a table attached undoes the bind and leaves no domain")
    public void detachGoesBackToStageTwo() {
        Setup s = setup();
        Domain stage2 = devA.domain();
        s.attach(DefaultSubstream.TERMINATE);
        assertReaches(devA, SSID, GVA, AccessType.READ, s.rig.hpa(DATA));
        s.rig.container.detachPasidTable(devA);
        assertThat(devA.domain()).as("the device's domain after detachPasidTable").isSameAs(stage2);
        assertThat(unit.nestedDomains()).isEmpty();
        assertDoesNotReach(devA, SSID, GVA, AccessType.READ, s.rig.hpa(DATA));
        assertReaches(devA, Pasid.NONE, DATA + 0x10, AccessType.READ, s.rig.hpa(DATA) + 0x10);
        assertReaches(devA, Pasid.NONE, DATA + 0x10, AccessType.WRITE, s.rig.hpa(DATA) + 0x10);
        s.attach(DefaultSubstream.TERMINATE);
        assertReaches(devA, SSID, GVA, AccessType.READ, s.rig.hpa(DATA));
        long hpa = s.rig.hpa(DATA);
        s.rig.container.close();
        assertThat(devA.domain()).isNull();
        assertThat(unit.nestedDomains()).isEmpty();
        assertThat(unit.pagingDomains()).isEmpty();
        assertDoesNotReach(devA, SSID, GVA, AccessType.READ, hpa);
        assertDoesNotReach(devA, Pasid.NONE, DATA, AccessType.READ, hpa);
        s.rig.guest.close();
        assertThat(machine.tablePagesInUse()).as("table pages after the container and its guest are gone").isEqualTo(pagesAtStart);
    }

    @Test
    @Rule(id = "PTBIND-7")
    @DisplayName("guest pointers outside the guest's RAM fault in stage 2: a CD table address past the end of guest RAM, and a CD whose TTB0 points past it")
    public void guestPointersOutsideItsRamFaultInStageTwo() {
        Setup s = setup();
        long outside = RAM + 0x40_0000L;
        s.rig.container.attachPasidTable(devA, new SmmuContextTableConfig(outside, SmmuContextTableConfig.Format.LINEAR, 4,
                DefaultSubstream.TERMINATE));
        assertStage2Fault(devA, SSID, GVA, AccessType.READ);
        s.rig.container.detachPasidTable(devA);
        GuestPageTable away = s.rig.guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
        away.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
        s.cds.writeContextDescriptor(2, away, ASID + 4);
        long[] raw = s.cds.readRaw(2);
        long ttb0 = raw[1] & 0x000F_FFFF_FFFF_FFF0L;
        s.rig.guest.memory().write64(s.cds.descriptorAddress(2) + 8, (raw[1] & ~0x000F_FFFF_FFFF_FFF0L) | outside);
        assertThat(ttb0).as("TTB0 of the CD the guest wrote").isEqualTo(away.root());
        s.attach(DefaultSubstream.TERMINATE);
        assertStage2Fault(devA, 2, GVA, AccessType.READ);
        assertReaches(devA, SSID, GVA, AccessType.READ, s.rig.hpa(DATA));
    }
}
