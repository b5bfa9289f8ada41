package dev.iommukit.it.sva;

import static dev.iommukit.it.sva.IopfFixtures.PAGE;
import static dev.iommukit.it.sva.IopfFixtures.assertFailedWithResponse;
import static dev.iommukit.it.sva.IopfFixtures.await;
import static dev.iommukit.it.sva.IopfFixtures.onDmaThread;
import static dev.iommukit.it.sva.IopfFixtures.pattern;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PageRequestHandler;
import dev.iommukit.api.PendingPageRequest;
import dev.iommukit.api.Process;
import dev.iommukit.api.Registration;
import dev.iommukit.it.sva.IopfFixtures.RecordingHandler;
import dev.iommukit.it.sva.IopfFixtures.Usage;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageResponseCode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

/**
 * SVA with I/O page faults end to end on one backend's preset machine: a process's lazily
 * populated memory bound to devices with ATS and page requests enabled; the device's transfers
 * fault pages in through the unit's page request queue and the SVA fault-in handler; pages
 * outside the process's mappings and munmapped pages are refused; and every teardown order (the
 * process exiting before unbind, unbind with requests pending, the machine closing under them)
 * answers every request and leaves no table page, process page or PASID behind.
 */
abstract class SvaPageFaultContract {
    private Machine m;
    private Device dev;
    private Device other;
    private Usage baseline;

    abstract String backend();

    /** The {@code queue} parameter of {@link Capability#PAGE_REQUEST} on this backend. */
    abstract String queueName();

    /** Checks the raw words of the queue entry {@code r} came from against the architecture's layout. */
    abstract void assertQueueEntry(PageRequest r, Device device);

    @BeforeEach
    void setUp() {
        m = Machine.preset(backend()).build();
        dev = m.device("00:03.0");
        other = m.device("00:04.0");
        baseline = warmUp(m);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    /** One bind, enable, fault-in and teardown on both devices, so that structures made once per device are counted. */
    private static Usage warmUp(Machine machine) {
        Process warm = machine.newProcess("warm-up");
        long va = warm.mmapLazy(PAGE, Permissions.READ_WRITE);
        for (Device d : List.of(machine.device("00:03.0"), machine.device("00:04.0"))) {
            int pasid = d.bindSva(warm);
            d.enablePageRequests();
            Registration r = d.onPageRequest(PageRequestHandler.svaFaultIn());
            assertThat(d.write(va, new byte[8], DmaAttributes.pasid(pasid)).ok()).as("warm-up DMA on " + d).isTrue();
            r.close();
            d.disablePageRequests();
            d.unbindSva(warm);
        }
        warm.exit();
        Usage u = Usage.of(machine);
        assertThat(u.pasids()).isZero();
        assertThat(u.processPages()).isZero();
        return u;
    }

    private static DmaAttributes at(int pasid) {
        return DmaAttributes.pasid(pasid);
    }

    @Test
    void unitAndDevicesAdvertisePageRequestsOnTheArchitecturesQueue() {
        var caps = dev.unit().capabilities();
        assertThat(caps.has(Capability.PAGE_REQUEST)).isTrue();
        assertThat(caps.parameter(Capability.PAGE_REQUEST, "queue")).contains(queueName());
        assertThat(caps.parameter(Capability.PAGE_REQUEST, "queueEntries")).hasValueSatisfying(
                n -> assertThat(Integer.parseInt(n)).isPositive());
        assertThat(dev.capabilities().has(Capability.PAGE_REQUEST)).isTrue();
        assertThat(caps.has(Capability.SVA)).isTrue();
    }

    @Test
    void deviceWritesAndReadsFaultLazyPagesInAndTheProcessSeesTheData() {
        Process app = m.newProcess("app");
        long va = app.mmapLazy(16 * PAGE, Permissions.READ_WRITE);
        int pasid = dev.bindSva(app);
        List<Fault> faults = new CopyOnWriteArrayList<>();
        dev.onFault(faults::add);
        // an untranslated request does not ask for the page: it faults, reported as a stage-1 fault
        DmaResult plain = dev.translate(va + 8 * PAGE, AccessType.WRITE, at(pasid));
        assertThat(plain.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(plain.fault().stage()).isEqualTo(FaultStage.STAGE_1);
        assertThat(faults).singleElement().satisfies(f -> assertThat(f.pasid()).isEqualTo(pasid));
        assertThat(app.resolve(va + 8 * PAGE)).as("no page appears without a page request").isEqualTo(-1);
        faults.clear();

        dev.enablePageRequests();
        RecordingHandler h = new RecordingHandler();
        Registration reg = dev.onPageRequest(h);
        byte[] data = pattern(1, (int) (3 * PAGE - 0x20));
        DmaResult w = dev.write(va + 0x10, data, at(pasid));
        assertThat(w.ok()).as(w.toString()).isTrue();
        assertThat(w.bytesTransferred()).isEqualTo(data.length);
        assertThat(w.physicalAddress()).isEqualTo(app.resolve(va + 0x10));
        assertThat(app.read(va + 0x10, data.length)).as("what the device wrote, the process reads").isEqualTo(data);
        for (int i = 0; i < 3; i++) {
            assertThat(h.requestsFor(va + i * PAGE)).as("page requests for page " + i).isEqualTo(1);
        }
        assertThat(h.seen).hasSize(3).allSatisfy(r -> {
            assertThat(r.requester()).isEqualTo(dev.rid());
            assertThat(r.hasPasid()).isTrue();
            assertThat(r.pasid()).isEqualTo(pasid);
            assertThat(r.write()).isTrue();
            assertThat(r.last()).isTrue();
            assertThat(r.privileged()).isFalse();
            assertThat(r.execute()).isFalse();
            assertQueueEntry(r, dev);
        });
        assertThat(app.resolve(va + 3 * PAGE)).as("untouched pages stay unpopulated").isEqualTo(-1);
        assertThat(faults).as("page requests are not faults").isEmpty();

        byte[] zeros = new byte[100];
        DmaResult r = dev.read(va + 5 * PAGE + 7, zeros, at(pasid));
        assertThat(r.ok()).as(r.toString()).isTrue();
        assertThat(zeros).containsOnly(0);
        PageRequest readRequest = h.seen.get(3);
        assertThat(readRequest.pageAddress()).isEqualTo(va + 5 * PAGE);
        assertThat(readRequest.read()).isTrue();
        assertThat(readRequest.write()).isFalse();
        assertQueueEntry(readRequest, dev);

        int before = h.seen.size();
        byte[] back = new byte[data.length];
        assertThat(dev.read(va + 0x10, back, at(pasid)).ok()).isTrue();
        assertThat(back).isEqualTo(data);
        app.write(va + 6 * PAGE, pattern(2, 64));
        byte[] fromCpu = new byte[64];
        assertThat(dev.read(va + 6 * PAGE, fromCpu, at(pasid)).ok()).isTrue();
        assertThat(fromCpu).as("what the process wrote, the device reads").isEqualTo(pattern(2, 64));
        assertThat(h.seen).as("present pages need no page request").hasSize(before);
        reg.close();
        dev.disablePageRequests();
        dev.unbindSva(app);
        app.exit();
        assertThat(Usage.of(m)).isEqualTo(baseline);
    }

    @Test
    void pagesOutsideTheMappingsOrWithoutTheAccessAreRefused() {
        Process app = m.newProcess("app");
        long va = app.mmapLazy(4 * PAGE, Permissions.READ_WRITE);
        long ro = app.mmapLazy(2 * PAGE, Permissions.READ);
        int pasid = dev.bindSva(app);
        dev.enablePageRequests();
        RecordingHandler h = new RecordingHandler();
        Registration reg = dev.onPageRequest(h);
        long hole = va + 4 * PAGE;
        DmaResult r = dev.write(hole, pattern(3, 64), at(pasid));
        assertFailedWithResponse(r, PageResponseCode.INVALID_REQUEST);
        assertThat(r.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(r.bytesTransferred()).isZero();
        assertThat(h.requestsFor(hole)).as("the device asked").isPositive();
        assertThat(app.resolve(hole)).as("nothing appears outside a mapping").isEqualTo(-1);

        assertFailedWithResponse(dev.read(0x1000, new byte[8], at(pasid)), PageResponseCode.INVALID_REQUEST);

        // a transfer running off the end of the mapping moves the bytes inside it, then stops
        byte[] data = pattern(4, 0x200);
        DmaResult across = dev.write(hole - 0x100, data, at(pasid));
        assertThat(across.ok()).isFalse();
        assertThat(across.bytesTransferred()).isEqualTo(0x100);
        assertThat(app.read(hole - 0x100, 0x100)).isEqualTo(java.util.Arrays.copyOf(data, 0x100));

        byte[] buf = new byte[16];
        assertThat(dev.read(ro, buf, at(pasid)).ok()).as("reading a read-only page faults it in").isTrue();
        DmaResult denied = dev.write(ro, pattern(5, 16), at(pasid));
        assertFailedWithResponse(denied, PageResponseCode.INVALID_REQUEST);
        assertThat(denied.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(app.read(ro, 16)).as("a read-only page keeps its bytes").containsOnly(0);
        DmaResult deniedFresh = dev.write(ro + PAGE, pattern(5, 16), at(pasid));
        assertFailedWithResponse(deniedFresh, PageResponseCode.INVALID_REQUEST);
        assertThat(app.permissionsAt(ro + PAGE) & Permissions.WRITE).isZero();
        reg.close();
        dev.disablePageRequests();
        dev.unbindSva(app);
        app.exit();
        assertThat(Usage.of(m)).isEqualTo(baseline);
    }

    @Test
    void requestsWithoutAHandlerAreAnsweredInvalid() {
        Process app = m.newProcess("app");
        long va = app.mmapLazy(PAGE, Permissions.READ_WRITE);
        int pasid = dev.bindSva(app);
        dev.enablePageRequests();
        assertFailedWithResponse(dev.write(va, new byte[8], at(pasid)), PageResponseCode.INVALID_REQUEST);
        assertThat(app.resolve(va)).isEqualTo(-1);
        Registration reg = dev.onPageRequest(PageRequestHandler.svaFaultIn());
        assertThatThrownBy(() -> dev.onPageRequest(PageRequestHandler.svaFaultIn())).isInstanceOf(BusyException.class);
        assertThatThrownBy(dev::disablePageRequests).as("disable with a handler registered").isInstanceOf(BusyException.class);
        assertThat(dev.write(va, new byte[8], at(pasid)).ok()).isTrue();
        reg.close();
        dev.disablePageRequests();
        dev.unbindSva(app);
        app.exit();
        assertThat(Usage.of(m)).isEqualTo(baseline);
    }

    @Test
    void munmapAfterATouchMakesDmaAskForThePageAgain() {
        Process app = m.newProcess("app");
        long va = app.mmapLazy(4 * PAGE, Permissions.READ_WRITE);
        int pasid = dev.bindSva(app);
        dev.enablePageRequests();
        RecordingHandler h = new RecordingHandler();
        Registration reg = dev.onPageRequest(h);
        assertThat(dev.write(va, pattern(6, (int) (4 * PAGE)), at(pasid)).ok()).isTrue();
        assertThat(h.seen).hasSize(4);
        long gone = va + PAGE;
        long oldPa = app.resolve(gone);
        app.munmap(gone, PAGE);
        assertThat(dev.translate(gone, AccessType.READ, at(pasid)).fault().reason())
                .as("munmap is seen before it returns").isEqualTo(FaultReason.NOT_MAPPED);
        assertFailedWithResponse(dev.read(gone, new byte[8], at(pasid)), PageResponseCode.INVALID_REQUEST);
        assertThat(h.requestsFor(gone)).as("the device asked for the page again").isEqualTo(2);
        assertThat(app.resolve(gone)).isEqualTo(-1);
        byte[] neighbour = new byte[(int) PAGE];
        assertThat(dev.read(va + 2 * PAGE, neighbour, at(pasid)).ok()).isTrue();
        assertThat(neighbour).isEqualTo(java.util.Arrays.copyOfRange(pattern(6, (int) (4 * PAGE)), (int) (2 * PAGE), (int) (3 * PAGE)));
        assertThat(h.seen).as("the neighbours stay present").hasSize(5);

        app.map(gone, PAGE, Permissions.READ_WRITE);
        app.write(gone, pattern(7, (int) PAGE));
        assertThat(app.resolve(gone)).isNotEqualTo(-1);
        byte[] fresh = new byte[(int) PAGE];
        DmaResult r = dev.read(gone, fresh, at(pasid));
        assertThat(r.ok()).isTrue();
        assertThat(fresh).as("the new page, never the old one at 0x" + Long.toHexString(oldPa)).isEqualTo(pattern(7, (int) PAGE));
        assertThat(r.physicalAddress()).isEqualTo(app.resolve(gone));

        app.munmap(va, 4 * PAGE);
        for (long p = va; p < va + 4 * PAGE; p += PAGE) {
            assertFailedWithResponse(dev.write(p, new byte[8], at(pasid)), PageResponseCode.INVALID_REQUEST);
        }
        reg.close();
        dev.disablePageRequests();
        dev.unbindSva(app);
        app.exit();
        assertThat(Usage.of(m)).isEqualTo(baseline);
    }

    @Test
    void twoDevicesOnSeveralThreadsFaultDistinctPagesIn() throws Exception {
        Process app = m.newProcess("app");
        int pages = 48;
        int threads = 4;
        long va = app.mmapLazy(pages * PAGE, Permissions.READ_WRITE);
        int pasid = dev.bindSva(app);
        assertThat(other.bindSva(app)).isEqualTo(pasid);
        RecordingHandler h1 = new RecordingHandler();
        RecordingHandler h2 = new RecordingHandler();
        dev.enablePageRequests();
        other.enablePageRequests();
        Registration r1 = dev.onPageRequest(h1);
        Registration r2 = other.onPageRequest(h2);
        List<CompletableFuture<DmaResult>> work = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int first = t;
            Device d = t % 2 == 0 ? dev : other;
            work.add(onDmaThread("dma-" + t, () -> {
                for (int p = first; p < pages; p += threads) {
                    DmaResult r = d.write(va + p * PAGE, pattern(p, (int) PAGE), at(pasid));
                    if (!r.ok()) {
                        return r;
                    }
                }
                return new DmaResult(va, 0, 0, null);
            }));
        }
        for (CompletableFuture<DmaResult> f : work) {
            DmaResult r = await(f);
            assertThat(r.ok()).as(r.toString()).isTrue();
        }
        for (int p = 0; p < pages; p++) {
            assertThat(app.read(va + p * PAGE, (int) PAGE)).as("page " + p).isEqualTo(pattern(p, (int) PAGE));
        }
        assertThat(h1.seen.size() + h2.seen.size()).as("one page request per page").isEqualTo(pages);
        r2.close();
        r1.close();
        dev.disablePageRequests();
        other.disablePageRequests();
        dev.unbindSva(app);
        other.unbindSva(app);
        app.exit();
        assertThat(Usage.of(m)).isEqualTo(baseline);
    }

    // ---------------------------------------------------------------- teardown

    @Test
    void theProcessExitingBeforeUnbindMakesDmaFaultQuietlyUntilUnbind() {
        Process app = m.newProcess("app");
        long va = app.mmapLazy(4 * PAGE, Permissions.READ_WRITE);
        int pasid = dev.bindSva(app);
        assertThat(other.bindSva(app)).isEqualTo(pasid);
        dev.enablePageRequests();
        List<Fault> faults = new CopyOnWriteArrayList<>();
        dev.onFault(faults::add);
        other.onFault(faults::add);
        RecordingHandler h = new RecordingHandler();
        Registration reg = dev.onPageRequest(h);
        assertThat(dev.write(va, pattern(8, 64), at(pasid)).ok()).isTrue();

        app.exit();
        assertThat(dev.translate(va, AccessType.READ, at(pasid)).faulted()).isTrue();
        assertThat(other.translate(va, AccessType.WRITE, at(pasid)).faulted()).isTrue();
        assertThat(other.write(va + PAGE, new byte[8], at(pasid)).faulted()).isTrue();
        DmaResult asking = dev.read(va + 2 * PAGE, new byte[8], at(pasid));
        assertThat(asking.faulted()).as("nothing faults a page in for an exited process").isTrue();
        assertThat(asking.bytesTransferred()).isZero();
        DmaResult touched = dev.read(va, new byte[8], at(pasid));
        assertThat(touched.faulted()).as("the exited process's pages are gone").isTrue();
        assertThat(faults).as("quiet until unbind").isEmpty();
        assertThat(m.pasidsInUse()).as("the PASID lives until unbind").isEqualTo(1);
        assertThat(dev.pendingPageRequests()).isEmpty();

        dev.unbindSva(app);
        assertThat(m.pasidsInUse()).as("still bound on the other device").isEqualTo(1);
        other.unbindSva(app);
        assertThat(m.pasidsInUse()).isZero();
        reg.close();
        dev.disablePageRequests();
        assertThat(Usage.of(m)).isEqualTo(baseline);
    }

    @Test
    void unbindAnswersPendingRequestsThenFreesThePasidAndALateResponseIsIgnored() throws Exception {
        Process app = m.newProcess("app");
        long va = app.mmapLazy(4 * PAGE, Permissions.READ_WRITE);
        int pasid = dev.bindSva(app);
        dev.enablePageRequests();
        RecordingHandler h = new RecordingHandler();
        h.hold.set(true);
        Registration reg = dev.onPageRequest(h);
        CompletableFuture<DmaResult> dma = onDmaThread("dma", () -> dev.write(va + 2 * PAGE, pattern(9, 64), at(pasid)));
        PendingPageRequest p = h.awaitHeld();
        assertThat(p.pasid()).isEqualTo(pasid);
        assertThat(p.request().pageAddress()).isEqualTo(va + 2 * PAGE);
        assertThat(p.svaProcess()).contains(app);
        assertThat(p.isAnswered()).isFalse();
        assertThat(dev.pendingPageRequests()).containsExactly(p);
        assertThatThrownBy(reg::close).as("unregistering with a request pending").isInstanceOf(BusyException.class);
        assertThat(dma).as("the device waits for its page response").isNotDone();

        dev.unbindSva(app);
        assertThat(p.isAnswered()).as("drained at unbind").isTrue();
        assertThat(dev.pendingPageRequests()).isEmpty();
        assertFailedWithResponse(await(dma), PageResponseCode.INVALID_REQUEST);
        assertThat(m.pasidsInUse()).as("freed after the drain").isZero();
        assertThat(p.respond(PageResponseCode.SUCCESS)).as("a late response matches nothing").isFalse();
        assertThat(app.resolve(va + 2 * PAGE)).isEqualTo(-1);

        // the PASID is reused by a new binding, and the stale response still changes nothing
        h.hold.set(false);
        int again = dev.bindSva(app);
        assertThat(p.respond(PageResponseCode.SUCCESS)).isFalse();
        assertThat(dev.write(va + 2 * PAGE, pattern(9, 64), at(again)).ok()).isTrue();
        assertThat(app.read(va + 2 * PAGE, 64)).isEqualTo(pattern(9, 64));
        dev.unbindSva(app);
        reg.close();
        dev.disablePageRequests();
        app.exit();
        assertThat(Usage.of(m)).isEqualTo(baseline);
    }

    @Test
    void unbindDrainsOnlyItsOwnPasid() throws Exception {
        Process a = m.newProcess("a");
        Process b = m.newProcess("b");
        long vaA = a.mmapLazy(PAGE, Permissions.READ_WRITE);
        long vaB = b.mmapLazy(PAGE, Permissions.READ_WRITE);
        int pasidA = dev.bindSva(a);
        int pasidB = dev.bindSva(b);
        assertThat(pasidA).isNotEqualTo(pasidB);
        dev.enablePageRequests();
        RecordingHandler h = new RecordingHandler();
        h.hold.set(true);
        Registration reg = dev.onPageRequest(h);
        CompletableFuture<DmaResult> dmaA = onDmaThread("dma-a", () -> dev.write(vaA, pattern(10, 64), at(pasidA)));
        PendingPageRequest pa = h.awaitHeld();
        CompletableFuture<DmaResult> dmaB = onDmaThread("dma-b", () -> dev.write(vaB, pattern(11, 64), at(pasidB)));
        PendingPageRequest pb = h.awaitHeld();
        assertThat(dev.pendingPageRequests()).containsExactlyInAnyOrder(pa, pb);

        dev.unbindSva(a);
        assertFailedWithResponse(await(dmaA), PageResponseCode.INVALID_REQUEST);
        assertThat(pa.isAnswered()).isTrue();
        assertThat(pb.isAnswered()).as("another PASID's request stays pending").isFalse();
        assertThat(dev.pendingPageRequests()).containsExactly(pb);
        assertThat(b.faultIn(vaB, AccessType.WRITE, false)).isTrue();
        assertThat(pb.respond(PageResponseCode.SUCCESS)).isTrue();
        DmaResult rb = await(dmaB);
        assertThat(rb.ok()).as(rb.toString()).isTrue();
        assertThat(b.read(vaB, 64)).isEqualTo(pattern(11, 64));
        assertThat(pb.respond(PageResponseCode.SUCCESS)).as("answered twice").isFalse();

        reg.close();
        dev.unbindSva(b);
        dev.disablePageRequests();
        a.exit();
        b.exit();
        assertThat(Usage.of(m)).isEqualTo(baseline);
    }

    @Test
    void closingTheMachineWithRequestsPendingAnswersThemAndFreesEverything() throws Exception {
        Process app = m.newProcess("app");
        long va = app.mmapLazy(4 * PAGE, Permissions.READ_WRITE);
        int pasid = dev.bindSva(app);
        dev.enablePageRequests();
        dev.setPageResponseTimeout(Duration.ofSeconds(2));
        RecordingHandler h = new RecordingHandler();
        h.hold.set(true);
        dev.onPageRequest(h);
        assertThat(other.bindSva(app)).isEqualTo(pasid);
        CompletableFuture<DmaResult> dma = onDmaThread("dma", () -> dev.write(va + PAGE, pattern(12, 64), at(pasid)));
        PendingPageRequest p = h.awaitHeld();

        m.close();
        assertThat(p.isAnswered()).as("answered while closing").isTrue();
        DmaResult r = await(dma);
        assertThat(r.faulted()).as(r.toString()).isTrue();
        assertThat(p.respond(PageResponseCode.SUCCESS)).isFalse();
        assertThat(m.tablePagesInUse()).isZero();
        assertThat(m.processPagesInUse()).isZero();
        assertThat(m.pasidsInUse()).isZero();
    }

    private enum Step { EXIT, UNBIND, UNREGISTER, DISABLE }

    /**
     * Every order of process exit, unbind, handler unregistration and disabling page requests,
     * each with a page request held unanswered by the handler when it starts: unregistering and
     * disabling are refused while they would drop it, unbind answers it, and each order ends with
     * the DMA failed, the PASID freed and the machine as before.
     */
    @TestFactory
    Stream<DynamicTest> everyTeardownOrderWithARequestPendingLeavesNothingBehind() {
        List<List<Step>> orders = new ArrayList<>();
        permutations(List.of(Step.values()), new ArrayList<>(), orders);
        return orders.stream().map(order -> DynamicTest.dynamicTest(order.toString(), () -> runOrder(order)));
    }

    private void runOrder(List<Step> order) throws Exception {
        try (Machine machine = Machine.preset(backend()).build()) {
            Usage empty = warmUp(machine);
            Device d = machine.device("00:03.0");
            Process app = machine.newProcess("app");
            long va = app.mmapLazy(2 * PAGE, Permissions.READ_WRITE);
            int pasid = d.bindSva(app);
            d.enablePageRequests();
            RecordingHandler h = new RecordingHandler();
            Registration reg = d.onPageRequest(h);
            assertThat(d.write(va, new byte[8], at(pasid)).ok()).isTrue();
            h.hold.set(true);
            CompletableFuture<DmaResult> dma = onDmaThread("dma", () -> d.write(va + PAGE, pattern(13, 64), at(pasid)));
            PendingPageRequest p = h.awaitHeld();
            boolean unbound = false;
            boolean unregistered = false;
            for (Step s : order) {
                switch (s) {
                    case EXIT -> {
                        app.exit();
                        assertThat(machine.pasidsInUse()).as(order + ": exit frees no PASID").isEqualTo(unbound ? 0 : 1);
                        if (!unbound) {
                            assertThat(p.isAnswered()).as(order + ": exit leaves the request to unbind").isFalse();
                        }
                    }
                    case UNBIND -> {
                        d.unbindSva(app);
                        unbound = true;
                        assertThat(p.isAnswered()).as(order + ": unbind drains").isTrue();
                        assertFailedWithResponse(await(dma), PageResponseCode.INVALID_REQUEST);
                        assertThat(machine.pasidsInUse()).isZero();
                    }
                    case UNREGISTER -> {
                        if (unbound) {
                            reg.close();
                            unregistered = true;
                        } else {
                            assertThatThrownBy(reg::close).as(order + ": unregister with a request pending").isInstanceOf(BusyException.class);
                        }
                    }
                    case DISABLE -> {
                        if (unregistered) {
                            d.disablePageRequests();
                            assertThat(d.pageRequestsEnabled()).isFalse();
                        } else {
                            assertThatThrownBy(d::disablePageRequests).as(order + ": disable with a handler").isInstanceOf(BusyException.class);
                            assertThat(d.pageRequestsEnabled()).isTrue();
                        }
                    }
                }
            }
            assertThat(p.respond(PageResponseCode.SUCCESS)).as(order + ": late response").isFalse();
            reg.close();
            if (d.pageRequestsEnabled()) {
                d.disablePageRequests();
            }
            assertThat(d.pendingPageRequests()).isEmpty();
            assertThat(d.svaBindings()).isEmpty();
            assertThat(Usage.of(machine)).as(order.toString()).isEqualTo(empty);
        }
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
