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
import dev.iommukit.api.NestedDomain;
import dev.iommukit.api.PendingPageRequest;
import dev.iommukit.api.Process;
import dev.iommukit.api.Registration;
import dev.iommukit.guest.Guest;
import dev.iommukit.guest.GuestContextDescriptor;
import dev.iommukit.guest.GuestContextTable;
import dev.iommukit.guest.GuestPageTable;
import dev.iommukit.it.nested.NestedFixtures.HoldingHandler;
import dev.iommukit.it.nested.NestedFixtures.Usage;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.GuestBinding;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.SmmuContextTableConfig.DefaultSubstream;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * SMMUv3 PASID-table bind end to end: a guest of a nesting container writes its own CD table and
 * AArch64 tables into guest RAM and attaches the table to a whole PCI device; the STE goes nested
 * with the container's domain as stage 2, and every CD fetch and table walk goes through it. DMA
 * goes GVA to IPA to PA; guest changes need the guest's CFGI_CD / TLBI_NH_* through the container;
 * guest structures outside its RAM raise stage-2 events (S2=1 with the CLASS of what was being
 * fetched); and every teardown order leaves nothing behind.
 */
class Smmuv3PasidTableBindTest {
    private static final long RAM = 256L << 10;
    private static final long GVA = 0x12_3456_0000L;
    private static final long DATA = 0x1_0000L;
    private static final long DATA2 = 0x2_0000L;
    private static final long SPARE = 0x3_0000L;
    private static final int CD_BITS = 3;
    private Machine m;
    private MdevCore bus;
    private Device whole;
    private Device neighbour;
    private Usage baseline;

    @BeforeEach
    void setUp() {
        m = Machine.smmuv3().build();
        bus = new MdevCore(m);
        whole = m.device("00:04.0");
        neighbour = m.device("00:03.0");
        Run warm = new Run(DefaultSubstream.SUBSTREAM_0);
        warm.container.close();
        warm.guest.close();
        warm.vmm.exit();
        baseline = Usage.of(m);
        assertThat(baseline.pasids()).isZero();
        assertThat(baseline.processPages()).isZero();
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    private static DmaAttributes at(int ssid) {
        return DmaAttributes.pasid(ssid);
    }

    /**
     * A VMM with a guest in a nesting container holding the whole device, whose CD table has CD 0
     * (ASID 1: GVA -> DATA) and CD 1 (ASID 2: GVA -> DATA2), attached with {@code dss}.
     */
    private final class Run {
        final Process vmm = m.newProcess("vmm");
        Registration registration;
        final Container container = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
        final Guest guest;
        final GuestPageTable pt0;
        final GuestPageTable pt1;
        final GuestContextTable cds;
        final GuestBinding binding;
        final long dataHpa;
        final long data2Hpa;

        Run(DefaultSubstream dss) {
            container.attach(whole);
            guest = Guest.create(container, RAM);
            guest.memory().write(DATA, pattern(1, (int) PAGE));
            guest.memory().write(DATA2, pattern(2, (int) PAGE));
            pt0 = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
            pt0.map(GVA, DATA, PAGE, Permissions.READ_WRITE);
            pt1 = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
            pt1.map(GVA, DATA2, PAGE, Permissions.READ_WRITE);
            cds = guest.newContextTable(CD_BITS);
            cds.writeContextDescriptor(0, pt0, 1);
            cds.writeContextDescriptor(1, pt1, 2);
            binding = container.attachPasidTable(whole, cds.config(dss));
            dataHpa = guest.hostPhysical(DATA);
            data2Hpa = guest.hostPhysical(DATA2);
        }
    }

    /** A copy of {@code cd} with another TTB0. */
    private static GuestContextDescriptor withTtb0(GuestContextDescriptor cd, long ttb0) {
        return new GuestContextDescriptor(cd.valid(), cd.t0sz(), cd.tg0(), cd.ir0(), cd.or0(), cd.sh0(), cd.epd0(), cd.epd1(),
                cd.ips(), cd.affd(), cd.aa64(), cd.hd(), cd.ha(), cd.stall(), cd.record(), cd.abort(), cd.aset(), cd.asid(), ttb0,
                cd.mair());
    }

    /** The fault is a stage-2 event of {@code clazz} (0 CD, 1 TT, 2 IN) for {@code ipa} (its page), per the raw record. */
    private static void assertStage2Event(Fault f, int clazz, long ipa) {
        assertThat(f).isNotNull();
        assertThat(f.stage()).as(f.toString()).isEqualTo(FaultStage.STAGE_2);
        assertThat(f.record().format()).isEqualTo("smmuv3-event");
        List<Long> w = f.record().words();
        assertThat(w).as(f.toString()).hasSize(4);
        assertThat(w.get(1) >>> 39 & 1).as("S2").isEqualTo(1);
        assertThat(w.get(1) >>> 40 & 3).as("CLASS").isEqualTo(clazz);
        assertThat(w.get(3) & 0x000F_FFFF_FFFF_F000L).as("IPA").isEqualTo(ipa & ~0xFFFL);
    }

    private static void assertEvent(Fault f, String name, FaultStage stage) {
        assertThat(f).isNotNull();
        assertThat(f.record().name()).as(f.toString()).isEqualTo(name);
        assertThat(f.stage()).as(f.toString()).isEqualTo(stage);
    }

    @Test
    void unitAdvertisesPasidTableBindAndRefusesGuestPasidBind() {
        var caps = whole.unit().capabilities();
        assertThat(caps.has(Capability.PASID_TABLE_BIND)).isTrue();
        assertThat(caps.parameter(Capability.PASID_TABLE_BIND, "formats").orElseThrow()).contains("LINEAR");
        assertThat(Integer.parseInt(caps.parameter(Capability.PASID_TABLE_BIND, "cdMaxBits").orElseThrow())).isGreaterThanOrEqualTo(CD_BITS);
        assertThat(caps.parameter(Capability.NESTING, "stage1")).contains(SmmuContextTableConfig.STAGE1);
        assertThat(caps.has(Capability.GUEST_PASID_BIND)).isFalse();
        Process vmm = m.newProcess("vmm");
        try (Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING)) {
            c.attach(whole);
            int pasid = c.allocateGuestPasid();
            assertThatThrownBy(() -> c.bindGuestPasid(whole, pasid, new VtdFirstLevelConfig(0x1000, 48, Set.of())))
                    .isInstanceOf(NotSupportedException.class);
            assertThat(whole.pasidAttachments()).isEmpty();
        }
        vmm.exit();
        assertThat(Usage.of(m)).isEqualTo(baseline);
    }

    @Test
    void dmaGoesThroughTheGuestCdTableAndBothStages() {
        Run run = new Run(DefaultSubstream.SUBSTREAM_0);
        assertThat(whole.domain()).isInstanceOf(NestedDomain.class);
        assertThat(((NestedDomain) whole.domain()).parent().isNestingParent()).isTrue();
        assertThat(run.binding.isPasidTable()).isTrue();

        byte[] seen = new byte[(int) PAGE];
        DmaResult noSsid = whole.read(GVA, seen, DmaAttributes.DEFAULT);
        assertThat(noSsid.ok()).as(noSsid.toString()).isTrue();
        assertThat(noSsid.physicalAddress()).as("without substream: CD 0 (S1DSS=0b10)").isEqualTo(run.dataHpa);
        assertThat(seen).isEqualTo(pattern(1, (int) PAGE));
        DmaResult one = whole.read(GVA, seen, at(1));
        assertThat(one.physicalAddress()).as("substream 1: CD 1").isEqualTo(run.data2Hpa);
        assertThat(seen).isEqualTo(pattern(2, (int) PAGE));
        assertThat(whole.write(GVA + 0x200, pattern(3, 0x40), at(1)).ok()).isTrue();
        assertThat(run.guest.memory().read(DATA2 + 0x200, 0x40)).isEqualTo(pattern(3, 0x40));
        assertThat(run.vmm.read(run.guest.vmmAddress() + DATA2 + 0x200, 0x40)).isEqualTo(pattern(3, 0x40));

        assertEvent(whole.translate(GVA, AccessType.READ, at(0)).fault(), "F_STREAM_DISABLED", FaultStage.NONE);
        assertEvent(whole.translate(GVA, AccessType.READ, at(2)).fault(), "C_BAD_CD", FaultStage.NONE);
        assertEvent(whole.translate(GVA, AccessType.READ, at(1 << CD_BITS)).fault(), "C_BAD_SUBSTREAMID", FaultStage.NONE);
        Fault s1 = whole.translate(GVA + PAGE, AccessType.READ, at(1)).fault();
        assertEvent(s1, "F_TRANSLATION", FaultStage.STAGE_1);
        assertThat(s1.record().words().get(1) >>> 39 & 1).as("S2").isZero();
        assertThat(neighbour.translate(GVA, AccessType.READ, at(1)).faulted()).as("another device").isTrue();

        run.container.close();
        assertThat(whole.domain()).isNull();
        finish(run, "after close");
    }

    @Test
    void theDefaultSubstreamIsTheGuestsChoice() {
        Run run = new Run(DefaultSubstream.BYPASS);
        assertThat(whole.translate(DATA2, AccessType.WRITE).physicalAddress()).as("S1DSS=bypass: stage 2 alone").isEqualTo(run.data2Hpa);
        assertThat(whole.translate(GVA, AccessType.READ, at(1)).physicalAddress()).isEqualTo(run.data2Hpa);
        assertThat(whole.translate(RAM + PAGE, AccessType.READ).fault().stage()).as("outside the guest RAM").isEqualTo(FaultStage.STAGE_2);
        run.container.detachPasidTable(whole);
        assertThat(whole.domain()).as("back on stage 2").isNotInstanceOf(NestedDomain.class);
        assertThat(whole.translate(DATA, AccessType.READ).physicalAddress()).isEqualTo(run.dataHpa);
        assertThat(whole.translate(GVA, AccessType.READ, at(1)).faulted()).isTrue();
        run.container.attachPasidTable(whole, run.cds.config(DefaultSubstream.TERMINATE));
        assertEvent(whole.translate(DATA, AccessType.READ).fault(), "F_STREAM_DISABLED", FaultStage.NONE);
        assertThat(whole.translate(GVA, AccessType.READ, at(1)).physicalAddress()).isEqualTo(run.data2Hpa);
        assertThatThrownBy(() -> run.container.attachPasidTable(whole, run.cds.config(DefaultSubstream.BYPASS)))
                .as("one table at a time").isInstanceOf(dev.iommukit.spi.error.ConflictException.class);
        run.container.close();
        finish(run, "after close");
    }

    @Test
    void guestChangesTakeEffectOnlyAfterTheGuestInvalidatesAndHostChangesAtOnce() {
        Run run = new Run(DefaultSubstream.SUBSTREAM_0);
        run.guest.memory().write(SPARE, pattern(4, (int) PAGE));
        long spareHpa = run.guest.hostPhysical(SPARE);
        assertThat(whole.translate(GVA, AccessType.READ, at(1)).physicalAddress()).isEqualTo(run.data2Hpa);

        run.pt1.unmap(GVA, PAGE);
        run.pt1.map(GVA, SPARE, PAGE, Permissions.READ_WRITE);
        assertThat(whole.translate(GVA, AccessType.READ, at(1)).physicalAddress()).as("stale until TLBI").isEqualTo(run.data2Hpa);
        assertThat(run.container.invalidateGuestCaches(whole, List.of(CacheInvalidation.asidRange(2, GVA, PAGE, 1, true))).isComplete()).isTrue();
        assertThat(whole.translate(GVA, AccessType.READ, at(1)).physicalAddress()).isEqualTo(spareHpa);
        assertThat(whole.translate(GVA, AccessType.READ).physicalAddress()).as("another ASID untouched").isEqualTo(run.dataHpa);

        // a CD rewritten (CD 1 now on pt0 with ASID 3) is seen after CFGI_CD
        run.cds.writeContextDescriptor(1, run.pt0, 3);
        assertThat(whole.translate(GVA, AccessType.READ, at(1)).physicalAddress()).as("CD cached until CFGI_CD").isEqualTo(spareHpa);
        assertThat(run.container.invalidateGuestCaches(whole, List.of(CacheInvalidation.pasid(1, CacheInvalidation.Cache.PASID),
                CacheInvalidation.asid(2))).isComplete()).isTrue();
        assertThat(whole.translate(GVA, AccessType.READ, at(1)).physicalAddress()).isEqualTo(run.dataHpa);

        // a CD cleared stops its substream after CFGI_CD
        run.cds.clear(1);
        run.container.invalidateGuestCaches(whole, List.of(CacheInvalidation.domain(CacheInvalidation.Cache.PASID, CacheInvalidation.Cache.IOTLB)));
        assertEvent(whole.translate(GVA, AccessType.READ, at(1)).fault(), "C_BAD_CD", FaultStage.NONE);

        // the host's stage 2 changes need no guest invalidation: UNMAP_DMA is strict, combined entries included
        Process vmm = run.vmm;
        long extra = vmm.mmap(PAGE, Permissions.READ_WRITE);
        run.container.mapDma(extra, RAM + PAGE, PAGE, Permissions.READ_WRITE);
        run.pt0.map(GVA + 2 * PAGE, RAM + PAGE, PAGE, Permissions.READ_WRITE);
        assertThat(whole.translate(GVA + 2 * PAGE, AccessType.WRITE).physicalAddress()).isEqualTo(vmm.resolve(extra));
        assertThat(run.container.unmapDma(RAM + PAGE, PAGE)).isEqualTo(PAGE);
        assertStage2Event(whole.translate(GVA + 2 * PAGE, AccessType.WRITE).fault(), 2, RAM + PAGE);

        // a GPA the host maps read-only limits the guest's writable leaf
        run.container.mapDma(extra, RAM + PAGE, PAGE, Permissions.READ);
        assertThat(whole.translate(GVA + 2 * PAGE, AccessType.READ).physicalAddress()).isEqualTo(vmm.resolve(extra));
        Fault denied = whole.translate(GVA + 2 * PAGE, AccessType.WRITE).fault();
        assertStage2Event(denied, 2, RAM + PAGE);
        assertThat(denied.record().name()).isEqualTo("F_PERMISSION");
        run.container.close();
        finish(run, "after close");
    }

    @Test
    void guestStructuresOutsideItsRamRaiseStageTwoEventsOfTheirClass() {
        Run run = new Run(DefaultSubstream.SUBSTREAM_0);
        // TTB0 outside RAM: CLASS=TT, IPA = the table's
        long ttb = RAM + 0x4_0000L;
        run.cds.write(2, withTtb0(GuestContextDescriptor.forTable(run.pt0, 4), ttb));
        Fault tt = whole.translate(GVA, AccessType.READ, at(2)).fault();
        assertStage2Event(tt, 1, ttb + ((GVA >>> 39) & 0x1FF) * 8);
        // a leaf outside RAM: CLASS=IN, IPA = the output
        run.pt1.map(GVA + PAGE, RAM + 0x8_0000L, PAGE, Permissions.READ_WRITE);
        assertStage2Event(whole.translate(GVA + PAGE, AccessType.READ, at(1)).fault(), 2, RAM + 0x8_0000L);
        // the CD table itself outside RAM: CLASS=CD, IPA = the CD's
        run.container.detachPasidTable(whole);
        long table = RAM + 0x10_0000L;
        run.container.attachPasidTable(whole, new SmmuContextTableConfig(table, SmmuContextTableConfig.Format.LINEAR, CD_BITS,
                DefaultSubstream.SUBSTREAM_0));
        assertStage2Event(whole.translate(GVA, AccessType.READ, at(1)).fault(), 0, table + 64);
        run.container.close();
        finish(run, "after close");
    }

    @Test
    void closingTheContainerWithATableAndAPendingPageRequestTearsDownEverything() throws Exception {
        Run run = new Run(DefaultSubstream.SUBSTREAM_0);
        whole.enablePageRequests();
        HoldingHandler h = new HoldingHandler();
        Registration reg = whole.onPageRequest(h);
        CompletableFuture<DmaResult> dma = onDmaThread("dma", () -> whole.write(GVA + 4 * PAGE, pattern(5, 64), at(1)));
        PendingPageRequest p = h.awaitHeld();
        assertThat(p.pasid()).isEqualTo(1);
        assertThat(p.request().pageAddress()).isEqualTo(GVA + 4 * PAGE);
        assertThatThrownBy(reg::close).isInstanceOf(BusyException.class);
        run.container.close();
        assertThat(p.isAnswered()).isTrue();
        assertFailedWithResponse(await(dma), PageResponseCode.INVALID_REQUEST);
        assertThat(p.respond(PageResponseCode.SUCCESS)).isFalse();
        reg.close();
        whole.disablePageRequests();
        finish(run, "after close");
    }

    @Test
    void aGuestResolvesAPageRequestOfItsSubstream() throws Exception {
        Run run = new Run(DefaultSubstream.SUBSTREAM_0);
        whole.enablePageRequests();
        HoldingHandler h = new HoldingHandler();
        Registration reg = whole.onPageRequest(h);
        long missing = GVA + 4 * PAGE;
        CompletableFuture<DmaResult> dma = onDmaThread("dma", () -> whole.write(missing, pattern(6, 64), at(1)));
        PendingPageRequest p = h.awaitHeld();
        run.pt1.map(missing, SPARE, PAGE, Permissions.READ_WRITE);
        run.container.invalidateGuestCaches(whole, List.of(CacheInvalidation.asidRange(2, missing, PAGE, 1, true)));
        assertThat(p.respond(PageResponseCode.SUCCESS)).isTrue();
        DmaResult r = await(dma);
        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(run.guest.memory().read(SPARE, 64)).isEqualTo(pattern(6, 64));
        reg.close();
        whole.disablePageRequests();
        run.container.close();
        finish(run, "after close");
    }

    private void finish(Run run, String when) {
        run.guest.close();
        run.vmm.exit();
        assertThat(bus.containers()).as(when).isEmpty();
        assertThat(whole.domain()).as(when).isNull();
        assertThat(m.unit("smmu0").pagingDomains()).as(when).isEmpty();
        assertThat(m.unit("smmu0").nestedDomains()).as(when).isEmpty();
        assertThat(Usage.of(m)).as(when).isEqualTo(baseline);
    }

    // ---------------------------------------------------------------- every teardown order

    private enum Step { CLOSE, EXIT, DETACH_TABLE, GUEST_CLOSE }

    /**
     * Every order of container close, VMM exit, detaching the guest CD table and closing the guest
     * (UNMAP_DMA of its RAM), each started with the table attached and (with page requests) a
     * request of substream 1 held unanswered: DMA through the table works exactly while it is
     * attached and the guest RAM mapped, the request is answered by the detach or close, and
     * nothing is left once the order is done.
     */
    @TestFactory
    Stream<DynamicTest> everyTeardownOrderLeavesNothingBehind() {
        List<List<Step>> orders = new ArrayList<>();
        permutations(List.of(Step.values()), new ArrayList<>(), orders);
        return orders.stream().map(order -> DynamicTest.dynamicTest(order.toString(), () -> runOrder(order)));
    }

    private void runOrder(List<Step> order) throws Exception {
        Run run = new Run(DefaultSubstream.SUBSTREAM_0);
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
        HoldingHandler h = new HoldingHandler();
        Registration reg = null;
        CompletableFuture<DmaResult> dma = null;
        PendingPageRequest pending = null;
        if (pageRequests(whole)) {
            whole.enablePageRequests();
            reg = whole.onPageRequest(h);
            run.registration = reg;
            dma = onDmaThread("dma", () -> whole.read(GVA + 2 * PAGE, new byte[16], at(1)));
            pending = h.awaitHeld();
        }
        boolean closed = false;
        boolean attached = true;
        boolean guestGone = false;
        for (Step s : order) {
            String at = order + " at " + s;
            switch (s) {
                case CLOSE -> {
                    run.container.close();
                    closed = true;
                    assertThat(run.vmm.lockedBytes()).as(at).isZero();
                    assertThat(whole.domain()).as(at).isNull();
                }
                case EXIT -> run.vmm.exit();
                case DETACH_TABLE -> {
                    if (!closed) {
                        run.container.detachPasidTable(whole);
                        assertThat(whole.domain()).as(at).isNotNull().isNotInstanceOf(NestedDomain.class);
                    }
                    attached = false;
                }
                case GUEST_CLOSE -> {
                    run.guest.close();
                    guestGone = true;
                }
            }
            boolean live = !closed && attached;
            DmaResult d = whole.translate(GVA, AccessType.READ, at(1));
            if (live && !guestGone) {
                assertThat(d.physicalAddress()).as(at + ": " + d).isEqualTo(run.data2Hpa);
            } else {
                assertThat(d.faulted()).as(at + ": " + d).isTrue();
                if (live) {
                    assertThat(d.fault().stage()).as(at + ": guest RAM unmapped: " + d.fault()).isEqualTo(FaultStage.STAGE_2);
                }
            }
            DmaResult plain = whole.translate(DATA, AccessType.READ);
            if (!closed && !attached && !guestGone) {
                assertThat(plain.physicalAddress()).as(at + ": stage 2 alone: " + plain).isEqualTo(run.dataHpa);
            }
            if (pending != null) {
                assertThat(pending.isAnswered()).as(at + ": request answered").isEqualTo(!live);
                if (!live) {
                    assertFailedWithResponse(await(dma), PageResponseCode.INVALID_REQUEST);
                }
            }
        }
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
