package dev.iommukit.it.nested;

import static dev.iommukit.it.nested.NestedFixtures.PAGE;
import static dev.iommukit.it.nested.NestedFixtures.assertFailedWithResponse;
import static dev.iommukit.it.nested.NestedFixtures.await;
import static dev.iommukit.it.nested.NestedFixtures.onDmaThread;
import static dev.iommukit.it.nested.NestedFixtures.pageRequests;
import static dev.iommukit.it.nested.NestedFixtures.pattern;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PendingPageRequest;
import dev.iommukit.api.Process;
import dev.iommukit.api.Registration;
import dev.iommukit.guest.Guest;
import dev.iommukit.guest.GuestPageTable;
import dev.iommukit.it.nested.NestedFixtures.HoldingHandler;
import dev.iommukit.it.nested.NestedFixtures.Usage;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.mdev.MdevParent;
import dev.iommukit.mdev.MdevTypeSpec;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * VT-d guest PASID bind end to end: a guest of a nesting container binds guest PASIDs with its own
 * x86-64 tables (in guest RAM) for a whole PCI device (stage 2: the device's RID_PASID domain) and
 * for an mdev (stage 2: its aux domain). DMA goes GVA to GPA to HPA; guest changes need the
 * guest's invalidation through the container, host changes none; and every teardown order, with
 * a page request pending at a guest PASID, leaves no table page, PASID or pinned page behind.
 */
class VtdGuestPasidBindTest {
    private static final long RAM = 256L << 10;
    private static final long GVA = 0x7f00_1234_0000L;
    private static final long GVA2 = 0x5555_0000_0000L;
    private static final long DATA = 0x1_0000L;
    private static final long DATA2 = 0x2_0000L;
    private static final long SPARE = 0x3_0000L;
    private Machine m;
    private MdevCore bus;
    private Device whole;
    private Device parentDevice;
    private Device third;
    private MdevParent parent;
    private Usage baseline;

    @BeforeEach
    void setUp() {
        m = Machine.vtd().device("dmar0", "00:05.0", 20).build();
        bus = new MdevCore(m);
        whole = m.device("00:04.0");
        parentDevice = m.device("00:03.0");
        third = m.device("00:05.0");
        parent = bus.registerParent(parentDevice, List.of(new MdevTypeSpec("vgpu", "vfio-pci", 1)));
        Run warm = new Run();
        try (Container c = bus.newContainer(warm.vmm, ContainerType.TYPE1_NESTING)) {
            c.attach(third);
            Guest g = Guest.create(c, RAM);
            GuestPageTable pt = g.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
            c.bindGuestPasid(third, c.allocateGuestPasid(), firstLevel(pt));
        }
        warm.container.close();
        warm.guest.close();
        warm.mdev.remove();
        warm.vmm.exit();
        baseline = Usage.of(m);
        assertThat(baseline.pasids()).isZero();
        assertThat(baseline.processPages()).isZero();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    private static VtdFirstLevelConfig firstLevel(GuestPageTable pt, VtdGuestPasidFlag... flags) {
        return new VtdFirstLevelConfig(pt.root(), 48, flags.length == 0 ? Set.of() : Set.of(flags));
    }

    private static DmaAttributes at(int pasid) {
        return DmaAttributes.pasid(pasid);
    }

    /**
     * A VMM with a guest in a nesting container holding the whole device and an mdev; guest PASID
     * {@code devicePasid} bound on the device with SRE (GVA -> DATA), {@code mdevPasid} for the
     * mdev without flags (GVA2 -> DATA2).
     */
    private final class Run {
        final Process vmm = m.newProcess("vmm");
        Registration registration;
        final Container container = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
        final Mdev mdev = parent.create(UUID.randomUUID(), "vgpu");
        final Guest guest;
        final GuestPageTable devicePt;
        final GuestPageTable mdevPt;
        final int devicePasid;
        final int mdevPasid;
        final long dataHpa;
        final long data2Hpa;

        Run() {
            container.attach(whole);
            container.attach(mdev);
            guest = Guest.create(container, RAM);
            guest.memory().write(DATA, pattern(1, (int) PAGE));
            guest.memory().write(DATA2, pattern(2, (int) PAGE));
            devicePt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
            devicePt.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
            mdevPt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
            mdevPt.map(GVA2, DATA2, PAGE, Permissions.READ_WRITE);
            devicePasid = container.allocateGuestPasid();
            mdevPasid = container.allocateGuestPasid();
            container.bindGuestPasid(whole, devicePasid, firstLevel(devicePt, VtdGuestPasidFlag.SRE));
            container.bindGuestPasid(mdev, mdevPasid, firstLevel(mdevPt));
            dataHpa = guest.hostPhysical(DATA);
            data2Hpa = guest.hostPhysical(DATA2);
        }
    }

    @Test
    void unitAdvertisesGuestPasidBindAndNotPasidTableBind() {
        var caps = whole.unit().capabilities();
        assertThat(caps.has(Capability.GUEST_PASID_BIND)).isTrue();
        assertThat(caps.parameter(Capability.GUEST_PASID_BIND, "addressWidths").orElseThrow()).contains("48");
        assertThat(caps.parameter(Capability.GUEST_PASID_BIND, "flags").orElseThrow()).contains("SRE");
        assertThat(caps.parameter(Capability.NESTING, "stage1")).contains(VtdFirstLevelConfig.STAGE1);
        assertThat(caps.has(Capability.PASID_TABLE_BIND)).isFalse();
    }

    @Test
    void guestPasidsOfAWholeDeviceAndOfAnMdevTranslateGvaToGpaToHpa() {
        Run run = new Run();
        byte[] seen = new byte[(int) PAGE];
        DmaResult r = whole.read(GVA, seen, at(run.devicePasid));
        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(r.physicalAddress()).isEqualTo(run.dataHpa);
        assertThat(seen).isEqualTo(pattern(1, (int) PAGE));
        assertThat(whole.write(GVA + 0x100, pattern(3, 0x80), at(run.devicePasid)).ok()).isTrue();
        assertThat(run.guest.memory().read(DATA + 0x100, 0x80)).isEqualTo(pattern(3, 0x80));
        assertThat(run.vmm.read(run.guest.vmmAddress() + DATA + 0x100, 0x80)).as("the VMM's memory is the guest's RAM").isEqualTo(pattern(3, 0x80));

        DmaResult viaMdev = run.mdev.read(GVA2, seen, at(run.mdevPasid));
        assertThat(viaMdev.ok()).as(viaMdev.toString()).isTrue();
        assertThat(viaMdev.physicalAddress()).isEqualTo(run.data2Hpa);
        assertThat(seen).isEqualTo(pattern(2, (int) PAGE));
        assertThat(run.mdev.translate(DATA, AccessType.READ).physicalAddress())
                .as("the mdev's own PASID: its aux domain, IOVA = GPA").isEqualTo(run.dataHpa);
        assertThat(whole.translate(DATA2, AccessType.READ).physicalAddress())
                .as("the device without PASID: its RID_PASID domain, IOVA = GPA").isEqualTo(run.data2Hpa);

        // each guest PASID answers only where it is bound
        assertThat(parentDevice.translate(GVA, AccessType.READ, at(run.devicePasid)).faulted()).isTrue();
        assertThat(whole.translate(GVA2, AccessType.READ, at(run.mdevPasid)).faulted()).isTrue();
        assertThatThrownBy(() -> run.mdev.translate(GVA, AccessType.READ, at(run.devicePasid)))
                .isInstanceOf(IommuException.class);
        assertThat(whole.translate(GVA2, AccessType.READ, at(run.devicePasid)).fault().stage())
                .as("a GVA the guest did not map").isEqualTo(FaultStage.STAGE_1);

        // SRE was asked for on the device's PASID only
        assertThat(whole.translate(GVA, AccessType.READ, at(run.devicePasid).withPrivileged()).physicalAddress()).isEqualTo(run.dataHpa);
        Fault supervisor = parentDevice.translate(GVA2, AccessType.READ, at(run.mdevPasid).withPrivileged()).fault();
        assertThat(supervisor).isNotNull();
        assertThat(supervisor.record().code()).as(supervisor.toString()).isEqualTo(0x5D);
        assertThat(supervisor.record().name()).isEqualTo("SPT.6");

        run.container.close();
        assertThat(whole.translate(GVA, AccessType.READ, at(run.devicePasid)).faulted()).isTrue();
        assertThat(parentDevice.translate(GVA2, AccessType.READ, at(run.mdevPasid)).faulted()).isTrue();
        finish(run, "after close");
    }

    @Test
    void guestChangesTakeEffectOnlyAfterTheGuestInvalidatesAndHostChangesAtOnce() {
        Run run = new Run();
        run.guest.memory().write(SPARE, pattern(4, (int) PAGE));
        long spareHpa = run.guest.hostPhysical(SPARE);
        assertThat(whole.translate(GVA, AccessType.READ, at(run.devicePasid)).physicalAddress()).isEqualTo(run.dataHpa);
        assertThat(parentDevice.translate(GVA2, AccessType.READ, at(run.mdevPasid)).physicalAddress()).isEqualTo(run.data2Hpa);

        run.devicePt.unmap(GVA, PAGE);
        run.devicePt.map(GVA, SPARE, PAGE, Permissions.READ_WRITE);
        run.mdevPt.unmap(GVA2, PAGE);
        run.mdevPt.map(GVA2, SPARE, PAGE, Permissions.READ);
        assertThat(whole.translate(GVA, AccessType.READ, at(run.devicePasid)).physicalAddress())
                .as("stale until the guest invalidates").isEqualTo(run.dataHpa);
        assertThat(parentDevice.translate(GVA2, AccessType.READ, at(run.mdevPasid)).physicalAddress()).isEqualTo(run.data2Hpa);

        // a batch naming a PASID not bound on the device stops there
        InvalidationBatchResult partial = run.container.invalidateGuestCaches(whole, List.of(
                CacheInvalidation.range(run.devicePasid, GVA, PAGE, 1, true),
                CacheInvalidation.pasid(run.mdevPasid, CacheInvalidation.Cache.IOTLB),
                CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB)));
        assertThat(partial.completed()).isEqualTo(1);
        assertThat(partial.requested()).isEqualTo(3);
        assertThat(partial.refusal()).isPresent();
        assertThat(partial.refusal().get().getMessage()).contains(Integer.toString(run.mdevPasid));
        byte[] seen = new byte[(int) PAGE];
        DmaResult r = whole.read(GVA, seen, at(run.devicePasid));
        assertThat(r.physicalAddress()).as("the first invalidation of the batch was done").isEqualTo(spareHpa);
        assertThat(seen).isEqualTo(pattern(4, (int) PAGE));
        assertThat(parentDevice.translate(GVA2, AccessType.READ, at(run.mdevPasid)).physicalAddress())
                .as("the mdev's PASID was not invalidated").isEqualTo(run.data2Hpa);

        InvalidationBatchResult all = run.container.invalidateGuestCaches(run.mdev,
                List.of(CacheInvalidation.pasid(run.mdevPasid, CacheInvalidation.Cache.IOTLB, CacheInvalidation.Cache.DEVICE_IOTLB)));
        assertThat(all.isComplete()).isTrue();
        assertThat(parentDevice.translate(GVA2, AccessType.READ, at(run.mdevPasid)).physicalAddress()).isEqualTo(spareHpa);
        assertThat(parentDevice.translate(GVA2, AccessType.WRITE, at(run.mdevPasid)).fault().stage())
                .as("read-only in the guest's tables").isEqualTo(FaultStage.STAGE_1);

        // the host's stage 2 changes need no guest invalidation: UNMAP_DMA is strict
        Process vmm = run.vmm;
        long extraRw = vmm.mmap(PAGE, Permissions.READ_WRITE);
        run.container.mapDma(extraRw, RAM + PAGE, PAGE, Permissions.READ_WRITE);
        run.devicePt.map(GVA + 2 * PAGE, RAM + PAGE, PAGE, Permissions.READ_WRITE);
        run.mdevPt.map(GVA2 + 2 * PAGE, RAM + PAGE, PAGE, Permissions.READ_WRITE);
        assertThat(whole.translate(GVA + 2 * PAGE, AccessType.WRITE, at(run.devicePasid)).physicalAddress()).isEqualTo(vmm.resolve(extraRw));
        assertThat(parentDevice.translate(GVA2 + 2 * PAGE, AccessType.WRITE, at(run.mdevPasid)).physicalAddress())
                .isEqualTo(vmm.resolve(extraRw));
        assertThat(run.container.unmapDma(RAM + PAGE, PAGE)).isEqualTo(PAGE);
        Fault s2 = whole.translate(GVA + 2 * PAGE, AccessType.WRITE, at(run.devicePasid)).fault();
        assertThat(s2).as("after UNMAP_DMA of the page's GPA").isNotNull();
        assertThat(s2.stage()).as(s2.toString()).isEqualTo(FaultStage.STAGE_2);
        Fault s2m = parentDevice.translate(GVA2 + 2 * PAGE, AccessType.WRITE, at(run.mdevPasid)).fault();
        assertThat(s2m).as("after UNMAP_DMA, through the mdev's aux domain").isNotNull();
        assertThat(s2m.stage()).as(s2m.toString()).isEqualTo(FaultStage.STAGE_2);

        // a GPA the host maps read-only: the guest's writable leaf is limited by stage 2
        long extra = vmm.mmap(PAGE, Permissions.READ_WRITE);
        vmm.write(extra, pattern(5, 64));
        run.container.mapDma(extra, RAM, PAGE, Permissions.READ);
        run.devicePt.map(GVA + PAGE, RAM, PAGE, Permissions.READ_WRITE);
        DmaResult ro = whole.read(GVA + PAGE, new byte[64], at(run.devicePasid));
        assertThat(ro.physicalAddress()).isEqualTo(vmm.resolve(extra));
        Fault denied = whole.translate(GVA + PAGE, AccessType.WRITE, at(run.devicePasid)).fault();
        assertThat(denied).isNotNull();
        assertThat(denied.reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(denied.stage()).as(denied.toString()).isEqualTo(FaultStage.STAGE_2);
        assertThat(denied.record().code()).as("SGN.6").isEqualTo(0x85);

        run.container.close();
        finish(run, "after close");
    }

    @Test
    void guestStructuresOutsideItsRamFaultAtStageTwo() {
        Run run = new Run();
        // the guest points a lower table outside its RAM
        GuestPageTable pt = run.guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
        pt.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
        long pml4e = pt.root() + ((GVA >>> 39) & 0x1FF) * 8;
        long entry = run.guest.memory().read64(pml4e);
        run.guest.memory().write64(pml4e, (entry & ~0x000F_FFFF_FFFF_F000L) | (RAM + 0x4_0000L));
        int lower = run.container.allocateGuestPasid();
        run.container.bindGuestPasid(whole, lower, firstLevel(pt));
        Fault f = whole.translate(GVA, AccessType.READ, at(lower)).fault();
        assertThat(f).isNotNull();
        assertThat(f.stage()).as(f.toString()).isEqualTo(FaultStage.STAGE_2);
        assertThat(f.record().code()).as(f.toString()).isIn(0x76, 0x79);

        // its first-level pointer outside its RAM
        int root = run.container.allocateGuestPasid();
        run.container.bindGuestPasid(whole, root, new VtdFirstLevelConfig(RAM + 0x8_0000L, 48, Set.of()));
        Fault r = whole.translate(GVA, AccessType.READ, at(root)).fault();
        assertThat(r).isNotNull();
        assertThat(r.stage()).as(r.toString()).isEqualTo(FaultStage.STAGE_2);
        assertThat(r.record().code()).as(r.toString()).isIn(0x75, 0x79);

        // a leaf outside its RAM
        run.devicePt.map(GVA + PAGE, RAM + 0x10_0000L, PAGE, Permissions.READ_WRITE);
        Fault leaf = whole.translate(GVA + PAGE, AccessType.WRITE, at(run.devicePasid)).fault();
        assertThat(leaf).isNotNull();
        assertThat(leaf.stage()).as(leaf.toString()).isEqualTo(FaultStage.STAGE_2);
        run.container.close();
        finish(run, "after close");
    }

    @Test
    void guestPasidsAreCheckedForOwnershipQuotaAndContainerType() {
        Run run = new Run();
        Process other = m.newProcess("other-vmm");
        try (Container plain = bus.newContainer(other)) {
            assertThatThrownBy(plain::allocateGuestPasid).isInstanceOf(NotSupportedException.class).hasMessageContaining("TYPE1");
        }
        Container foreign = bus.newContainer(other, ContainerType.TYPE1_NESTING);
        foreign.attach(third);
        assertThatThrownBy(() -> foreign.freeGuestPasid(run.devicePasid)).isInstanceOf(NotFoundException.class)
                .hasMessageContaining("pasid");
        assertThatThrownBy(() -> foreign.bindGuestPasid(third, run.devicePasid, firstLevel(run.devicePt)))
                .isInstanceOf(IommuException.class).hasMessageContaining("pasid");
        assertThat(third.pasidAttachments()).as("nothing bound by the refused call").isEmpty();
        assertThatThrownBy(() -> run.container.freeGuestPasid(run.devicePasid)).as("bound").isInstanceOf(BusyException.class);
        assertThatThrownBy(() -> run.container.unbindGuestPasid(whole, run.mdevPasid)).isInstanceOf(NotFoundException.class);
        foreign.close();

        bus.setGuestPasidQuota(run.vmm, 3);
        int third = run.container.allocateGuestPasid();
        Container second = bus.newContainer(run.vmm, ContainerType.TYPE1_NESTING);
        assertThatThrownBy(second::allocateGuestPasid).as("the quota counts the owner's containers together")
                .isInstanceOf(ResourceExhaustedException.class);
        run.container.freeGuestPasid(third);
        int again = second.allocateGuestPasid();
        assertThat(m.pasidsInUse()).as("two guest PASIDs of each container and the mdev's").isEqualTo(4);
        second.close();
        assertThat(m.pasidsInUse()).as("the second container's PASID freed with it").isEqualTo(3);
        assertThat(again).isPositive();
        run.container.close();
        other.exit();
        finish(run, "after close");
    }

    @Test
    void aGuestResolvesAPageRequestAtItsPasidAndUnbindDrainsTheRest() throws Exception {
        Run run = new Run();
        whole.enablePageRequests();
        HoldingHandler h = new HoldingHandler();
        Registration reg = whole.onPageRequest(h);
        long missing = GVA + 4 * PAGE;
        CompletableFuture<DmaResult> dma = onDmaThread("dma", () -> whole.write(missing, pattern(6, 64), at(run.devicePasid)));
        PendingPageRequest p = h.awaitHeld();
        assertThat(p.pasid()).isEqualTo(run.devicePasid);
        assertThat(p.request().pageAddress()).isEqualTo(missing);
        assertThat(p.request().write()).isTrue();
        assertThat(p.svaProcess()).as("a guest PASID is no process's").isEmpty();
        // the guest (behind its vIOMMU) maps the page, invalidates, and answers
        run.devicePt.map(missing, SPARE, PAGE, Permissions.READ_WRITE);
        assertThat(run.container.invalidateGuestCaches(whole, List.of(CacheInvalidation.range(run.devicePasid, missing, PAGE, 1, true)))
                .isComplete()).isTrue();
        assertThat(p.respond(PageResponseCode.SUCCESS)).isTrue();
        DmaResult done = await(dma);
        assertThat(done.ok()).as(done.toString()).isTrue();
        assertThat(run.guest.memory().read(SPARE, 64)).isEqualTo(pattern(6, 64));

        CompletableFuture<DmaResult> stuck = onDmaThread("dma", () -> whole.read(missing + PAGE, new byte[64], at(run.devicePasid)));
        PendingPageRequest q = h.awaitHeld();
        run.container.unbindGuestPasid(whole, run.devicePasid);
        assertThat(q.isAnswered()).as("unbind drains").isTrue();
        assertFailedWithResponse(await(stuck), PageResponseCode.INVALID_REQUEST);
        assertThat(q.respond(PageResponseCode.SUCCESS)).as("a late response matches nothing").isFalse();
        assertThat(run.container.guestPasids()).as("the guest PASID stays the container's").contains(run.devicePasid);
        reg.close();
        whole.disablePageRequests();
        run.container.close();
        finish(run, "after close");
    }

    @Test
    void closingTheContainerWithBindingsAndPendingPageRequestsTearsDownEverything() throws Exception {
        Run run = new Run();
        whole.enablePageRequests();
        parentDevice.enablePageRequests();
        // only bounds how long a device left unanswered waits; an answered request never needs it
        whole.setPageResponseTimeout(java.time.Duration.ofSeconds(2));
        parentDevice.setPageResponseTimeout(java.time.Duration.ofSeconds(2));
        HoldingHandler h = new HoldingHandler();
        HoldingHandler hm = new HoldingHandler();
        Registration reg = whole.onPageRequest(h);
        Registration regm = parentDevice.onPageRequest(hm);
        CompletableFuture<DmaResult> dma = onDmaThread("dma", () -> whole.write(GVA + 8 * PAGE, pattern(7, 64), at(run.devicePasid)));
        CompletableFuture<DmaResult> dmaMdev = onDmaThread("dma-mdev",
                () -> run.mdev.write(GVA2 + 8 * PAGE, pattern(8, 64), at(run.mdevPasid)));
        PendingPageRequest p = h.awaitHeld();
        PendingPageRequest pm = hm.awaitHeld();
        assertThatThrownBy(reg::close).isInstanceOf(BusyException.class);

        run.container.close();
        assertThat(p.isAnswered()).isTrue();
        assertThat(pm.isAnswered()).isTrue();
        assertFailedWithResponse(await(dma), PageResponseCode.INVALID_REQUEST);
        assertFailedWithResponse(await(dmaMdev), PageResponseCode.INVALID_REQUEST);
        assertThat(p.respond(PageResponseCode.SUCCESS)).isFalse();
        assertThat(m.pasidsInUse()).as("guest PASIDs and the mdev's PASID freed").isZero();
        assertThat(run.vmm.lockedBytes()).isZero();
        assertThat(whole.pasidAttachments()).isEmpty();
        assertThat(parentDevice.pasidAttachments()).isEmpty();
        assertThat(m.unit("dmar0").nestedDomains()).isEmpty();
        reg.close();
        regm.close();
        whole.disablePageRequests();
        parentDevice.disablePageRequests();
        finish(run, "after close");
    }

    @Test
    void unbindingAnMdevsGuestPasidAnswersItsPendingPageRequest() throws Exception {
        Run run = new Run();
        parentDevice.enablePageRequests();
        // only bounds how long a device left unanswered waits; an answered request never needs it
        parentDevice.setPageResponseTimeout(java.time.Duration.ofSeconds(2));
        HoldingHandler h = new HoldingHandler();
        Registration reg = parentDevice.onPageRequest(h);
        CompletableFuture<DmaResult> dma = onDmaThread("dma-mdev", () -> run.mdev.write(GVA2 + 8 * PAGE, pattern(9, 64), at(run.mdevPasid)));
        PendingPageRequest p = h.awaitHeld();
        assertThat(p.pasid()).isEqualTo(run.mdevPasid);
        run.container.unbindGuestPasid(run.mdev, run.mdevPasid);
        assertThat(p.isAnswered()).isTrue();
        assertFailedWithResponse(await(dma), PageResponseCode.INVALID_REQUEST);
        reg.close();
        parentDevice.disablePageRequests();
        run.container.close();
        finish(run, "after close");
    }

    @Test
    void detachingAnMdevAnswersThePendingPageRequestOfItsOwnPasid() throws Exception {
        Run run = new Run();
        run.container.unbindGuestPasid(run.mdev, run.mdevPasid);
        parentDevice.enablePageRequests();
        parentDevice.setPageResponseTimeout(java.time.Duration.ofSeconds(2));
        HoldingHandler h = new HoldingHandler();
        Registration reg = parentDevice.onPageRequest(h);
        CompletableFuture<DmaResult> dma = onDmaThread("dma-mdev", () -> run.mdev.write(RAM + 8 * PAGE, pattern(10, 64)));
        PendingPageRequest p = h.awaitHeld();
        assertThat(p.pasid()).isEqualTo(run.mdev.pasid().getAsInt());
        run.container.detach(run.mdev);
        assertThat(p.isAnswered()).isTrue();
        assertFailedWithResponse(await(dma), PageResponseCode.INVALID_REQUEST);
        reg.close();
        parentDevice.disablePageRequests();
        run.container.close();
        finish(run, "after close");
    }

    /** Guest closed, mdev removed, VMM exited, then nothing of the run may be left. */
    private void finish(Run run, String when) {
        run.guest.close();
        if (!run.mdev.isRemoved()) {
            run.mdev.remove();
        }
        run.vmm.exit();
        assertThat(bus.containers()).as(when).isEmpty();
        assertThat(parentDevice.auxDomains()).as(when).isEmpty();
        assertThat(whole.domain()).as(when).isNull();
        for (var u : m.units()) {
            assertThat(u.pagingDomains()).as(when + ": paging domains").isEmpty();
            assertThat(u.nestedDomains()).as(when + ": nested domains").isEmpty();
        }
        assertThat(Usage.of(m)).as(when).isEqualTo(baseline);
    }

    // ---------------------------------------------------------------- every teardown order

    private enum Step { CLOSE, EXIT, UNBIND_DEVICE, UNBIND_MDEV, GUEST_CLOSE }

    /**
     * Every order of container close, VMM exit, unbinding each guest PASID and closing the guest
     * (UNMAP_DMA of its RAM), with the mdev's removal tried just before the close (refused) and
     * done just after it, each started with both guest PASIDs bound and (with
     * page requests) a request held unanswered at the device's guest PASID: DMA at each PASID
     * works exactly while it is bound and the guest RAM mapped, the request is answered by the
     * first unbind or close, and nothing is left once the order is done. All orders share one
     * machine, so a leak in one shows in the next.
     */
    @TestFactory
    Stream<DynamicTest> everyTeardownOrderLeavesNothingBehind() {
        List<List<Step>> orders = new ArrayList<>();
        permutations(List.of(Step.values()), new ArrayList<>(), orders);
        return orders.stream().map(order -> DynamicTest.dynamicTest(order.toString(), () -> runOrder(order)));
    }

    private void runOrder(List<Step> order) throws Exception {
        Run run = new Run();
        try {
            runSteps(order, run);
        } catch (Exception | AssertionError e) {
            salvage(run);
            throw e;
        }
    }

    /** After a failed order, best effort: answer what is pending and take everything down, so the next order starts clean. */
    private void salvage(Run run) {
        for (PendingPageRequest p : whole.pendingPageRequests()) {
            p.respond(PageResponseCode.INVALID_REQUEST);
        }
        quietly(run.container::close);
        if (run.registration != null) {
            quietly(run.registration::close);
        }
        if (whole.pageRequestsEnabled()) {
            quietly(whole::disablePageRequests);
        }
        quietly(run.guest::close);
        if (!run.mdev.isRemoved()) {
            quietly(run.mdev::remove);
        }
        quietly(run.vmm::exit);
    }

    private static void quietly(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException ignored) {
            // salvaging after a failure already reported
        }
    }

    private void runSteps(List<Step> order, Run run) throws Exception {
        boolean withRequests = pageRequests(whole);
        HoldingHandler h = new HoldingHandler();
        Registration reg = null;
        CompletableFuture<DmaResult> dma = null;
        PendingPageRequest pending = null;
        if (withRequests) {
            whole.enablePageRequests();
            reg = whole.onPageRequest(h);
            run.registration = reg;
            dma = onDmaThread("dma", () -> whole.read(GVA + 2 * PAGE, new byte[16], at(run.devicePasid)));
            pending = h.awaitHeld();
        }
        boolean closed = false;
        boolean exited = false;
        boolean deviceBound = true;
        boolean mdevBound = true;
        boolean guestGone = false;
        for (Step s : order) {
            String at = order + " at " + s;
            switch (s) {
                case CLOSE -> {
                    assertThatThrownBy(run.mdev::remove).as(at + ": mdev still attached").isInstanceOf(BusyException.class);
                    run.container.close();
                    closed = true;
                    assertThat(run.vmm.lockedBytes()).as(at).isZero();
                    run.mdev.remove();
                }
                case EXIT -> {
                    run.vmm.exit();
                    exited = true;
                }
                case UNBIND_DEVICE -> {
                    if (!closed) {
                        run.container.unbindGuestPasid(whole, run.devicePasid);
                        assertThat(run.container.guestPasids()).as(at).contains(run.devicePasid);
                    }
                    deviceBound = false;
                }
                case UNBIND_MDEV -> {
                    if (!closed) {
                        run.container.unbindGuestPasid(run.mdev, run.mdevPasid);
                        assertThat(run.mdev.guestPasids()).as(at).isEmpty();
                    }
                    mdevBound = false;
                }
                case GUEST_CLOSE -> {
                    run.guest.close();
                    guestGone = true;
                }
            }
            boolean deviceLive = !closed && deviceBound;
            boolean mdevLive = !closed && mdevBound;
            DmaResult d = whole.translate(GVA, AccessType.READ, at(run.devicePasid));
            DmaResult md = parentDevice.translate(GVA2, AccessType.READ, at(run.mdevPasid));
            if (deviceLive && !guestGone) {
                assertThat(d.physicalAddress()).as(at + ": " + d).isEqualTo(run.dataHpa);
            } else {
                assertThat(d.faulted()).as(at + ": " + d).isTrue();
                if (deviceLive) {
                    assertThat(d.fault().stage()).as(at + ": guest RAM unmapped: " + d.fault()).isEqualTo(FaultStage.STAGE_2);
                }
            }
            if (mdevLive && !guestGone) {
                assertThat(md.physicalAddress()).as(at + ": " + md).isEqualTo(run.data2Hpa);
            } else {
                assertThat(md.faulted()).as(at + ": " + md).isTrue();
                if (mdevLive) {
                    assertThat(md.fault().stage()).as(at + ": guest RAM unmapped: " + md.fault()).isEqualTo(FaultStage.STAGE_2);
                }
            }
            if (pending != null) {
                assertThat(pending.isAnswered()).as(at + ": request answered").isEqualTo(!deviceLive);
                if (!deviceLive) {
                    assertFailedWithResponse(await(dma), PageResponseCode.INVALID_REQUEST);
                }
            }
        }
        assertThat(exited).isTrue();
        if (reg != null) {
            reg.close();
            whole.disablePageRequests();
        }
        finish(run, order.toString());
    }

    private static void permutations(List<Step> steps, List<Step> prefix, List<List<Step>> out) {
        if (prefix.size() == steps.size()) {
            out.add(List.copyOf(prefix));
            return;
        }
        for (Step s : steps) {
            if (!prefix.contains(s)) {
                prefix.add(s);
                permutations(steps, prefix, out);
                prefix.remove(prefix.size() - 1);
            }
        }
    }
}
