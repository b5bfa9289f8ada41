package dev.iommukit.conformance.nesting;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.guest.GuestPageTable;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevParent;
import dev.iommukit.mdev.MdevTypeSpec;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.util.List;
import java.util.UUID;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Guest PASID bind (VT-d style): a guest's own first-level tables, written into its RAM, bound at
 * a guest PASID allocated through a nesting container, on a whole device whose stage 2 is the
 * container's domain. DMA tagged with the PASID goes GVA -> GPA (the guest's tables) -> HPA (the
 * container's mappings of the VMM's memory). The guest's changes take effect only when it
 * invalidates through the container; PASIDs are the container's, counted against its owner's
 * quota, and closing the container unbinds and frees them. Where GUEST_PASID_BIND is not
 * advertised, every way to bind is refused with NOT_SUPPORTED and nothing changes.
 */
public abstract class GuestPasidRules extends GuestGroup {
    protected GuestPasidRules(KitSubject subject) {
        super(subject);
    }

    private void assumeGuestPasidBind() {
        assumeKind(Kind.VTD);
        assumePasidAttach(devA);
    }

    private VtdFirstLevelConfig config(GuestPageTable pt) {
        return NestedConfigs.vtd(caps(), pt.root());
    }

    /** The argument a refusal of a VT-d guest first level names on this unit. */
    private String refusalArgument() {
        if (!caps().has(Capability.NESTING)) {
            return "NESTING";
        }
        if (!NestedConfigs.stage1(caps()).contains(VtdFirstLevelConfig.STAGE1)) {
            return "config";
        }
        return Capability.GUEST_PASID_BIND.name();
    }

    private record Bookkeeping(State state, int pasidsInUse, List<Integer> guestPasids, int bindings, int nested) {}

    private Bookkeeping bookkeeping(Container c, Probe... probes) {
        return new Bookkeeping(state(machine, probes), machine.pasidsInUse(), c.guestPasids(), c.guestBindings().size(),
                unit.nestedDomains().size());
    }

    private void assertNothingChanged(Container c, Bookkeeping before, Probe... probes) {
        Bookkeeping now = bookkeeping(c, probes);
        assertThat(now).withFailMessage("a refused call changed state:%n before %s%n after  %s", before, now).isEqualTo(before);
    }

    // ------------------------------------------------------------------ rules

    @Test
    @Rule(id = "GPASID-1")
    @DisplayName("GUEST_PASID_BIND is advertised with addressWidths including 48, flags including SRE and pasidBits, together with NESTING of vtd-first-level; where it is not, a guest first level is refused with NOT_SUPPORTED by newNestedDomain on a nesting parent and by the container's bindGuestPasid, and a TYPE1 container refuses guest PASIDs; nothing changes")
    public void capabilityShapeAndRefusal() {
        if (caps().has(Capability.GUEST_PASID_BIND)) {
            assertThat(NestedConfigs.list(caps().parameter(Capability.GUEST_PASID_BIND, "addressWidths")))
                    .as("GUEST_PASID_BIND addressWidths").contains("48").allMatch(w -> w.equals("48") || w.equals("57"));
            assertThat(NestedConfigs.list(caps().parameter(Capability.GUEST_PASID_BIND, "flags"))).as("GUEST_PASID_BIND flags")
                    .contains("SRE");
            int bits = Integer.parseInt(caps().parameter(Capability.GUEST_PASID_BIND, "pasidBits").orElse("0"));
            assertThat(bits).as("GUEST_PASID_BIND pasidBits").isBetween(1, Pasid.MAX_WIDTH);
            assertThat(NestedConfigs.stage1(caps())).as("NESTING stage1 of a unit with GUEST_PASID_BIND").contains(VtdFirstLevelConfig.STAGE1);
        }
        Process vmm = machine.newProcess("gpasid1");
        Container plain = core().newContainer(vmm, ContainerType.TYPE1);
        Bookkeeping plainBefore = bookkeeping(plain);
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "TYPE1", plain::allocateGuestPasid);
        assertNothingChanged(plain, plainBefore);
        plain.close();
        if (caps().has(Capability.GUEST_PASID_BIND) && NestedConfigs.stage1(caps()).contains(VtdFirstLevelConfig.STAGE1)) {
            return;
        }
        if (!caps().has(Capability.NESTING_PARENT_DOMAIN)) {
            Container c = core().newContainer(vmm, ContainerType.TYPE1_NESTING);
            Bookkeeping before = bookkeeping(c, Probe.read(devA, DATA));
            Throwable t = catchThrowable(() -> c.attach(devA));
            assertThat(t).as("attaching a device to a nesting container on a unit without NESTING_PARENT_DOMAIN").isInstanceOf(IommuException.class);
            assertThat(((IommuException) t).code()).as("%s", t).isEqualTo(ErrorCode.NOT_SUPPORTED);
            assertNothingChanged(c, before, Probe.read(devA, DATA));
            return;
        }
        PagingDomain parent = unit.newPagingDomain(DomainOptions.NESTING_PARENT);
        State before = state(machine);
        VtdFirstLevelConfig cfg = NestedConfigs.vtd(caps(), 0x1000);
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, refusalArgument(), () -> unit.newNestedDomain(parent, cfg));
        assertUnchanged(machine, before);
        parent.close();
        Rig rig = new Rig("gpasid1-guest", devA);
        GuestPageTable pt = rig.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
        int pasid = rig.container.allocateGuestPasid();
        Probe[] probes = {new Probe(devA, pasid, GVA, AccessType.READ), Probe.read(devA, DATA)};
        Bookkeeping bound = bookkeeping(rig.container, probes);
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, refusalArgument(),
                () -> rig.container.bindGuestPasid(devA, pasid, config(pt)));
        assertNothingChanged(rig.container, bound, probes);
        assertThat(devA.pasidAttachments()).as("PASID attachments of %s after the refused bind", devA.name()).isEmpty();
    }

    @Test
    @Rule(id = "GPASID-2")
    @DisplayName("DMA tagged with a bound guest PASID walks the guest's tables then the container's stage 2: it reaches the host page behind the guest-physical page the guest mapped, reading what the guest wrote and writing what it then reads; an unmapped GVA and a read-only page written fault in stage 1, another PASID and another device fault, and requests without PASID still see guest-physical addresses")
    public void dmaAtTheGuestPasidReachesGvaToGpaToHpa() {
        assumeGuestPasidBind();
        Rig rig = new Rig("gpasid2", devA);
        GuestPageTable pt = rig.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 3 * PAGE, Permissions.READ_WRITE);
        pt.map(GVA + 4 * PAGE, OTHER, PAGE, Permissions.READ);
        int pasid = rig.container.allocateGuestPasid();
        assertThat(rig.container.guestPasids()).containsExactly(pasid);
        rig.container.bindGuestPasid(devA, pasid, config(pt));
        for (int i = 0; i < 3; i++) {
            assertReaches(devA, pasid, GVA + i * PAGE + 0x18, AccessType.READ, rig.hpa(DATA + i * PAGE) + 0x18);
            assertReaches(devA, pasid, GVA + i * PAGE + 0x20, AccessType.WRITE, rig.hpa(DATA + i * PAGE) + 0x20);
        }
        assertSharesGuestMemory(rig, devA, pasid, GVA + PAGE - 0x40, DATA + PAGE - 0x40, (int) PAGE, 1);
        assertReaches(devA, pasid, GVA + 4 * PAGE, AccessType.READ, rig.hpa(OTHER));
        assertThat(assertStage1Fault(devA, pasid, GVA + 4 * PAGE + 8, AccessType.WRITE).reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(assertStage1Fault(devA, pasid, GVA + 8 * PAGE, AccessType.READ).reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertDoesNotReach(devA, pasid + 1, GVA, AccessType.READ, rig.hpa(DATA));
        assertDoesNotReach(devB, pasid, GVA, AccessType.READ, rig.hpa(DATA));
        assertReaches(devA, Pasid.NONE, DATA + 0x28, AccessType.READ, rig.hpa(DATA) + 0x28);
        assertDoesNotReach(devA, Pasid.NONE, GVA, AccessType.READ, rig.hpa(DATA));
    }

    @Test
    @Rule(id = "GPASID-3")
    @DisplayName("a change the guest makes to its tables is not seen until the guest invalidates through the container: a remapped page keeps reaching the old page, then after an address-range invalidation reaches the new one; an unmapped page keeps translating until a PASID-wide invalidation, then faults in stage 1")
    public void guestChangesNeedTheGuestsInvalidation() {
        assumeGuestPasidBind();
        Rig rig = new Rig("gpasid3", devA);
        GuestPageTable pt = rig.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 2 * PAGE, Permissions.READ_WRITE);
        int pasid = rig.container.allocateGuestPasid();
        rig.container.bindGuestPasid(devA, pasid, config(pt));
        assertReaches(devA, pasid, GVA + 8, AccessType.READ, rig.hpa(DATA) + 8);
        assertReaches(devA, pasid, GVA + PAGE + 8, AccessType.READ, rig.hpa(DATA + PAGE) + 8);
        pt.unmap(GVA, PAGE);
        pt.map(GVA, OTHER, PAGE, Permissions.READ_WRITE);
        assertReaches(devA, pasid, GVA + 8, AccessType.READ, rig.hpa(DATA) + 8);
        InvalidationBatchResult r = rig.container.invalidateGuestCaches(devA, List.of(CacheInvalidation.range(pasid, GVA, PAGE, 1, true)));
        assertThat(r.isComplete()).as("%s", r).isTrue();
        assertThat(r.completed()).isEqualTo(1);
        assertReaches(devA, pasid, GVA + 8, AccessType.READ, rig.hpa(OTHER) + 8);
        assertSharesGuestMemory(rig, devA, pasid, GVA + 0x100, OTHER + 0x100, 64, 2);
        pt.unmap(GVA + PAGE, PAGE);
        assertReaches(devA, pasid, GVA + PAGE + 8, AccessType.READ, rig.hpa(DATA + PAGE) + 8);
        assertThat(rig.container.invalidateGuestCaches(devA, List.of(CacheInvalidation.pasid(pasid, CacheInvalidation.Cache.IOTLB)))
                .isComplete()).isTrue();
        assertDoesNotReach(devA, pasid, GVA + PAGE + 8, AccessType.READ, rig.hpa(DATA + PAGE) + 8);
        assertStage1Fault(devA, pasid, GVA + PAGE + 8, AccessType.READ);
    }

    @Test
    @Rule(id = "GPASID-4")
    @DisplayName("an invalidation batch is carried out in order and its result counts: a batch whose second entry names a guest PASID not bound on the device stops there (1 of 3 completed, with a refusal naming the PASID) and the first entry took effect, the third did not; a valid batch completes every entry")
    public void invalidationBatchesCountWhatWasDone() {
        assumeGuestPasidBind();
        Rig rig = new Rig("gpasid4", devA);
        GuestPageTable pt = rig.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 2 * PAGE, Permissions.READ_WRITE);
        int pasid = rig.container.allocateGuestPasid();
        int unbound = rig.container.allocateGuestPasid();
        rig.container.bindGuestPasid(devA, pasid, config(pt));
        assertReaches(devA, pasid, GVA, AccessType.READ, rig.hpa(DATA));
        assertReaches(devA, pasid, GVA + PAGE, AccessType.READ, rig.hpa(DATA + PAGE));
        pt.unmap(GVA, 2 * PAGE);
        pt.map(GVA, OTHER, 2 * PAGE, Permissions.READ_WRITE);
        InvalidationBatchResult r = rig.container.invalidateGuestCaches(devA, List.of(CacheInvalidation.range(pasid, GVA, PAGE, 1, true),
                CacheInvalidation.pasid(unbound, CacheInvalidation.Cache.IOTLB), CacheInvalidation.range(pasid, GVA + PAGE, PAGE, 1, true)));
        assertThat(r.requested()).isEqualTo(3);
        assertThat(r.completed()).as("invalidations completed before the one naming unbound pasid %d: %s", unbound, r).isEqualTo(1);
        assertThat(r.isComplete()).isFalse();
        assertThat(r.refusal()).as("the refusal of batch entry 1").hasValueSatisfying(e -> assertThat(e.getMessage()).contains("pasid"));
        assertReaches(devA, pasid, GVA, AccessType.READ, rig.hpa(OTHER));
        assertReaches(devA, pasid, GVA + PAGE, AccessType.READ, rig.hpa(DATA + PAGE));
        InvalidationBatchResult all = rig.container.invalidateGuestCaches(devA, List.of(CacheInvalidation.range(pasid, GVA + PAGE, PAGE, 1, true),
                CacheInvalidation.pasid(pasid, CacheInvalidation.Cache.PASID, CacheInvalidation.Cache.IOTLB)));
        assertThat(all.isComplete()).as("%s", all).isTrue();
        assertThat(all.completed()).isEqualTo(2);
        assertThat(all.refusal()).isEmpty();
        assertReaches(devA, pasid, GVA + PAGE, AccessType.READ, rig.hpa(OTHER + PAGE));
    }

    @Test
    @Rule(id = "GPASID-5")
    @DisplayName("guest PASIDs belong to the container that allocated them: another container (another VMM) cannot bind, free or invalidate one (NOT_FOUND or INVALID_ARGUMENT naming the PASID), nor bind on a device it does not hold, and nothing changes")
    public void anotherContainersPasidIsRefused() {
        assumeGuestPasidBind();
        Rig a = new Rig("gpasid5a", devA);
        Rig b = new Rig("gpasid5b", devB);
        GuestPageTable pa = a.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pa.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
        GuestPageTable pb = b.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pb.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
        int pasidA = a.container.allocateGuestPasid();
        a.container.bindGuestPasid(devA, pasidA, config(pa));
        int pasidB = b.container.allocateGuestPasid();
        b.container.bindGuestPasid(devB, pasidB, config(pb));
        Probe[] probes = {new Probe(devA, pasidA, GVA, AccessType.READ), new Probe(devB, pasidA, GVA, AccessType.READ),
            new Probe(devB, pasidB, GVA, AccessType.READ)};
        Bookkeeping before = bookkeeping(b.container, probes);
        List<Integer> aPasids = a.container.guestPasids();
        assertOwnershipRefusal(() -> b.container.bindGuestPasid(devB, pasidA, config(pb)));
        assertOwnershipRefusal(() -> b.container.freeGuestPasid(pasidA));
        assertOwnershipRefusal(() -> b.container.unbindGuestPasid(devB, pasidA));
        assertRefused(NotFoundException.class, ErrorCode.NOT_FOUND, "device", () -> b.container.bindGuestPasid(devA, pasidB, config(pb)));
        InvalidationBatchResult r = b.container.invalidateGuestCaches(devB, List.of(CacheInvalidation.pasid(pasidA, CacheInvalidation.Cache.IOTLB)));
        assertThat(r.completed()).as("invalidations of another container's PASID carried out: %s", r).isZero();
        assertThat(r.refusal()).hasValueSatisfying(e -> assertThat(e.getMessage()).contains("pasid"));
        assertNothingChanged(b.container, before, probes);
        assertThat(a.container.guestPasids()).isEqualTo(aPasids);
        assertReaches(devA, pasidA, GVA, AccessType.READ, a.hpa(DATA));
        assertReaches(devB, pasidB, GVA, AccessType.READ, b.hpa(DATA));
    }

    private static void assertOwnershipRefusal(ThrowingCallable call) {
        Throwable t = catchThrowable(call);
        assertThat(t).as("a call with another container's PASID").isInstanceOf(IommuException.class);
        assertThat(((IommuException) t).code()).as("%s", t).isIn(ErrorCode.NOT_FOUND, ErrorCode.INVALID_ARGUMENT);
        assertThat(t.getMessage()).as("the refusal names the PASID").containsIgnoringCase("pasid");
    }

    @Test
    @Rule(id = "GPASID-6")
    @DisplayName("guest PASIDs count against their owner's quota across its containers: over the quota allocation is refused with RESOURCE_EXHAUSTED taking no PASID; freeing one makes room; a bound PASID cannot be freed (BUSY)")
    public void guestPasidQuotaPerOwner() {
        assumeGuestPasidBind();
        Rig rig = new Rig("gpasid6", devA);
        core().setGuestPasidQuota(rig.vmm, 2);
        Container second = core().newContainer(rig.vmm, ContainerType.TYPE1_NESTING);
        second.attach(devB);
        int first = rig.container.allocateGuestPasid();
        int other = second.allocateGuestPasid();
        assertThat(first).isNotEqualTo(other);
        int inUse = machine.pasidsInUse();
        assertRefused(ResourceExhaustedException.class, ErrorCode.RESOURCE_EXHAUSTED, "quota", rig.container::allocateGuestPasid);
        assertRefused(ResourceExhaustedException.class, ErrorCode.RESOURCE_EXHAUSTED, "quota", second::allocateGuestPasid);
        assertThat(machine.pasidsInUse()).as("PASIDs in use after refused allocations").isEqualTo(inUse);
        assertThat(rig.container.guestPasids()).containsExactly(first);
        GuestPageTable pt = rig.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
        rig.container.bindGuestPasid(devA, first, config(pt));
        assertRefused(BusyException.class, ErrorCode.BUSY, "pasid", () -> rig.container.freeGuestPasid(first));
        assertReaches(devA, first, GVA, AccessType.READ, rig.hpa(DATA));
        second.freeGuestPasid(other);
        assertThat(machine.pasidsInUse()).isEqualTo(inUse - 1);
        int again = rig.container.allocateGuestPasid();
        assertThat(rig.container.guestPasids()).containsExactlyInAnyOrder(first, again);
        second.close();
    }

    @Test
    @Rule(id = "GPASID-7")
    @DisplayName("unbinding a guest PASID makes DMA at it fault at once while the PASID stays the container's until freed, which gives it back to the machine; a second unbind is refused with NOT_FOUND")
    public void unbindStopsTheDmaAndFreeingGivesThePasidBack() {
        assumeGuestPasidBind();
        Rig rig = new Rig("gpasid7", devA);
        GuestPageTable pt = rig.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
        int inUse = machine.pasidsInUse();
        int pasid = rig.container.allocateGuestPasid();
        assertThat(machine.pasidsInUse()).isEqualTo(inUse + 1);
        rig.container.bindGuestPasid(devA, pasid, config(pt));
        assertReaches(devA, pasid, GVA + 8, AccessType.WRITE, rig.hpa(DATA) + 8);
        rig.container.unbindGuestPasid(devA, pasid);
        assertDoesNotReach(devA, pasid, GVA + 8, AccessType.WRITE, rig.hpa(DATA) + 8);
        assertDoesNotReach(devA, pasid, GVA + 8, AccessType.READ, rig.hpa(DATA) + 8);
        assertThat(devA.pasidAttachments()).as("PASID attachments after unbind").isEmpty();
        assertThat(unit.nestedDomains()).as("nested domains after unbind").isEmpty();
        assertThat(rig.container.guestPasids()).containsExactly(pasid);
        assertThat(machine.pasidsInUse()).isEqualTo(inUse + 1);
        assertRefused(NotFoundException.class, ErrorCode.NOT_FOUND, "pasid", () -> rig.container.unbindGuestPasid(devA, pasid));
        rig.container.freeGuestPasid(pasid);
        assertThat(rig.container.guestPasids()).isEmpty();
        assertThat(machine.pasidsInUse()).isEqualTo(inUse);
        assertReaches(devA, Pasid.NONE, DATA, AccessType.READ, rig.hpa(DATA));
    }

    @Test
    @Rule(id = "GPASID-8")
    @DisplayName("closing the container unbinds every guest PASID bound through it and frees them: DMA at them faults, no PASID, attachment or nested domain is left, the owner holds no guest PASID, and once the guest is gone the table pages are back")
    public void containerCloseUnbindsAndFrees() {
        assumeGuestPasidBind();
        int inUse = machine.pasidsInUse();
        Rig rig = new Rig("gpasid8", devA, devB);
        GuestPageTable pt = rig.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
        int p1 = rig.container.allocateGuestPasid();
        int p2 = rig.container.allocateGuestPasid();
        rig.container.allocateGuestPasid();
        rig.container.bindGuestPasid(devA, p1, config(pt));
        rig.container.bindGuestPasid(devB, p1, config(pt));
        rig.container.bindGuestPasid(devA, p2, config(pt));
        assertReaches(devA, p1, GVA, AccessType.READ, rig.hpa(DATA));
        assertReaches(devB, p1, GVA, AccessType.READ, rig.hpa(DATA));
        assertReaches(devA, p2, GVA, AccessType.READ, rig.hpa(DATA));
        long hpa = rig.hpa(DATA);
        rig.container.close();
        assertDoesNotReach(devA, p1, GVA, AccessType.READ, hpa);
        assertDoesNotReach(devB, p1, GVA, AccessType.READ, hpa);
        assertDoesNotReach(devA, p2, GVA, AccessType.READ, hpa);
        assertThat(devA.pasidAttachments()).isEmpty();
        assertThat(devB.pasidAttachments()).isEmpty();
        assertThat(unit.nestedDomains()).isEmpty();
        assertThat(machine.pasidsInUse()).as("PASIDs in use after the container closed").isEqualTo(inUse);
        assertThat(core().guestPasidsHeld(rig.vmm)).isZero();
        rig.guest.close();
        assertThat(machine.tablePagesInUse()).as("table pages after the container and its guest are gone").isEqualTo(pagesAtStart);
    }

    @Test
    @Rule(id = "GPASID-9")
    @DisplayName("guest pointers outside the guest's RAM fault in stage 2, never reaching host memory: a first-level pointer, a table entry and a leaf pointing past the end of guest RAM")
    public void guestPointersOutsideItsRamFaultInStageTwo() {
        assumeGuestPasidBind();
        Rig rig = new Rig("gpasid9", devA);
        long outside = RAM + 0x40_0000L;
        int badRoot = rig.container.allocateGuestPasid();
        rig.container.bindGuestPasid(devA, badRoot, NestedConfigs.vtd(caps(), outside));
        assertStage2Fault(devA, badRoot, GVA, AccessType.READ);
        assertStage2Fault(devA, badRoot, GVA, AccessType.WRITE);
        GuestPageTable leafOut = rig.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        leafOut.map(GVA, outside, PAGE, Permissions.READ_WRITE);
        leafOut.map(GVA + PAGE, DATA, PAGE, Permissions.READ_WRITE);
        int badLeaf = rig.container.allocateGuestPasid();
        rig.container.bindGuestPasid(devA, badLeaf, config(leafOut));
        assertStage2Fault(devA, badLeaf, GVA + 8, AccessType.READ);
        assertReaches(devA, badLeaf, GVA + PAGE + 8, AccessType.READ, rig.hpa(DATA) + 8);
        GuestPageTable tableOut = rig.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        tableOut.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
        long pml4e = tableOut.root() + 8 * ((GVA >>> 39) & 0x1FF);
        long entry = rig.guest.memory().read64(pml4e);
        rig.guest.memory().write64(pml4e, (entry & 0xFFF) | outside);
        int badTable = rig.container.allocateGuestPasid();
        rig.container.bindGuestPasid(devA, badTable, config(tableOut));
        assertStage2Fault(devA, badTable, GVA + 8, AccessType.READ);
        assertStage2Fault(devA, badTable, GVA + 8, AccessType.WRITE);
    }

    @Test
    @Rule(id = "GPASID-10")
    @DisplayName("a guest PASID bound for an mdev nests on the mdev's aux domain: the mdev's DMA tagged with it reaches GVA -> GPA -> HPA and sees a guest change only after the guest's invalidation through the container, its own DMA sees guest-physical addresses, the parent's DMA without PASID and another mdev of the parent do not reach the guest's pages, and after unbind the PASID faults on the parent")
    public void anMdevBindsAGuestPasidOnItsAuxDomain() {
        assumeGuestPasidBind();
        Assumptions.assumeTrue(devA.capabilities().has(Capability.AUX_DOMAIN), () -> "device " + devA.name() + " of backend "
                + backendId() + " does not advertise AUX_DOMAIN, so IOMMU-aware mdevs cannot get an aux domain on it");
        MdevParent parent = core().registerParent(devA, List.of(new MdevTypeSpec("kit-vgpu", "vfio-pci", 2)));
        Mdev mdev = parent.create(UUID.fromString("c0ffee00-0000-4000-8000-0000000000a1"), "kit-vgpu");
        Mdev other = parent.create(UUID.fromString("c0ffee00-0000-4000-8000-0000000000a2"), "kit-vgpu");
        Rig rig = new Rig("gpasid10", List.of(), List.of(mdev));
        Rig otherRig = new Rig("gpasid10b", List.of(), List.of(other));
        GuestPageTable pt = rig.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, 2 * PAGE, Permissions.READ_WRITE);
        int pasid = rig.container.allocateGuestPasid();
        rig.container.bindGuestPasid(mdev, pasid, config(pt));
        assertThat(mdev.guestPasids()).containsExactly(pasid);
        byte[] written = pattern(10, 256);
        rig.guest.memory().write(DATA + 0x80, written);
        byte[] seen = new byte[256];
        var r = mdev.read(GVA + 0x80, seen, DmaAttributes.pasid(pasid));
        assertThat(r.ok()).withFailMessage("a read by %s at its guest PASID %d faulted: %s", mdev, pasid, r.fault()).isTrue();
        assertThat(seen).isEqualTo(written);
        assertThat(mdev.translate(GVA + PAGE + 8, AccessType.WRITE, DmaAttributes.pasid(pasid)).physicalAddress())
                .as("a write by %s at its guest PASID", mdev).isEqualTo(rig.hpa(DATA + PAGE) + 8);
        assertThat(mdev.translate(DATA + 8, AccessType.READ).physicalAddress()).as("%s at its own PASID: guest-physical addresses", mdev)
                .isEqualTo(rig.hpa(DATA) + 8);
        assertDoesNotReach(devA, Pasid.NONE, DATA, AccessType.READ, rig.hpa(DATA));
        assertDoesNotReach(devA, Pasid.NONE, GVA, AccessType.READ, rig.hpa(DATA));
        var fromOther = other.translate(DATA, AccessType.READ);
        assertThat(fromOther.ok() && fromOther.physicalAddress() == rig.hpa(DATA)).as("%s reaches the first guest's RAM", other).isFalse();
        pt.unmap(GVA, PAGE);
        pt.map(GVA, OTHER, PAGE, Permissions.READ_WRITE);
        assertThat(mdev.translate(GVA + 8, AccessType.READ, DmaAttributes.pasid(pasid)).physicalAddress())
                .as("the cached translation until the guest invalidates").isEqualTo(rig.hpa(DATA) + 8);
        assertThat(rig.container.invalidateGuestCaches(mdev, List.of(CacheInvalidation.range(pasid, GVA, PAGE, 1, true))).isComplete())
                .isTrue();
        assertThat(mdev.translate(GVA + 8, AccessType.READ, DmaAttributes.pasid(pasid)).physicalAddress())
                .as("after the guest's invalidation").isEqualTo(rig.hpa(OTHER) + 8);
        rig.container.unbindGuestPasid(mdev, pasid);
        assertThat(mdev.guestPasids()).isEmpty();
        assertDoesNotReach(devA, pasid, GVA, AccessType.READ, rig.hpa(OTHER));
        assertThat(otherRig.container.guestPasids()).isEmpty();
    }
}
