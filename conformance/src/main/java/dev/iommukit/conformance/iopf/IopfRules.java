package dev.iommukit.conformance.iopf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.PageRequestHandler;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.PendingPageRequest;
import dev.iommukit.api.Process;
import dev.iommukit.api.Registration;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.VendorFaultRecord;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageResponseCode;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * I/O page faults: a device with ATS and page requests enabled that touches a page its SVA
 * process has not populated yet ({@link Process#mmapLazy}) sends a page request; the unit queues
 * it in its architectural format and reports it; the device's handler resolves it and answers;
 * the device retries and its DMA completes. Everything is seen through DMA results, the process's
 * memory and the page requests the handler receives: a response that matches nothing is ignored,
 * a handler with requests pending cannot be unregistered, unbinding answers what is pending, and
 * where {@code PAGE_REQUEST} is not advertised enabling it is refused and changes nothing.
 */
public abstract class IopfRules extends ConformanceGroup {
    /** How long a page request may take to reach a handler or a DMA to finish once answered: a bound, never an assertion on time. */
    private static final long DELIVERY_BOUND_MILLIS = 10_000;

    protected IopfRules(KitSubject subject) {
        super(subject);
    }

    // ------------------------------------------------------------------ fixtures

    /** Skips, saying why, unless the unit and {@code d} advertise PAGE_REQUEST and SVA for the machine's CPU. */
    private void assumePageRequestsWithSva(Device d) {
        assumeAdvertised(Capability.PAGE_REQUEST);
        assumeAdvertised(Capability.SVA);
        Assumptions.assumeTrue(d.capabilities().has(Capability.PAGE_REQUEST),
                () -> "device " + d.name() + " of backend " + backendId() + " does not advertise PAGE_REQUEST");
        Assumptions.assumeTrue(d.capabilities().has(Capability.SVA),
                () -> "device " + d.name() + " of backend " + backendId() + " does not advertise SVA, which the page request rules resolve through");
        String format = caps().parameter(Capability.SVA, "cpuFormat").orElse("");
        Assumptions.assumeTrue(format.equals(machine.cpu().formatName()), () -> "backend " + backendId()
                + " advertises SVA for cpuFormat '" + format + "', which no CPU of the kit has (known: aarch64, x86-64)");
    }

    private static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 37 + i * 11 + (i >> 8) + 1);
        }
        return b;
    }

    /** A handler that keeps every request group it is given and passes it on to {@code delegate} (none: the test answers). */
    private static final class Recording implements PageRequestHandler {
        final List<PendingPageRequest> seen = new CopyOnWriteArrayList<>();
        private final PageRequestHandler delegate;

        Recording(PageRequestHandler delegate) {
            this.delegate = delegate;
        }

        @Override
        public void onPageRequest(PendingPageRequest request) {
            seen.add(request);
            if (delegate != null) {
                delegate.onPageRequest(request);
            }
        }

        /** The first request group for which {@code p} holds, waiting up to the delivery bound. */
        PendingPageRequest await(Predicate<PendingPageRequest> p, String what) {
            long deadline = System.nanoTime() + DELIVERY_BOUND_MILLIS * 1_000_000L;
            while (true) {
                for (PendingPageRequest r : seen) {
                    if (p.test(r)) {
                        return r;
                    }
                }
                if (System.nanoTime() - deadline > 0) {
                    return fail("no page request %s reached the handler within %d ms; it received %s", what, DELIVERY_BOUND_MILLIS, seen);
                }
                sleepBriefly();
            }
        }

        @Override
        public String toString() {
            return "kit recording handler" + (delegate == null ? " (answers later)" : " before " + delegate);
        }
    }

    private static void sleepBriefly() {
        try {
            Thread.sleep(1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting", e);
        }
    }

    private static boolean isFor(PendingPageRequest r, long va) {
        return r.request().pageAddress() == (va & -PAGE);
    }

    /** Runs DMA on its own thread, as a device's engine does while the test answers its page requests. */
    private static final class DmaThread implements AutoCloseable {
        private final ExecutorService executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "kit-iopf-dma");
            t.setDaemon(true);
            return t;
        });

        Future<DmaResult> start(Callable<DmaResult> dma) {
            return executor.submit(dma);
        }

        static DmaResult finish(Future<DmaResult> f, String what) {
            try {
                return f.get(DELIVERY_BOUND_MILLIS, TimeUnit.MILLISECONDS);
            } catch (TimeoutException e) {
                return fail("%s did not finish within %d ms after its page request was answered", what, DELIVERY_BOUND_MILLIS);
            } catch (ExecutionException e) {
                return fail(what + " threw instead of completing or faulting: " + e.getCause(), e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return fail("interrupted while waiting for " + what);
            }
        }

        @Override
        public void close() {
            executor.shutdownNow();
        }
    }

    private static void assertPageAbsent(Process p, long va) {
        assertThat(p.resolve(va)).as("%s has no page at 0x%x yet", p, va & -PAGE).isEqualTo(-1L);
    }

    private static void assertPagePresent(Process p, long va) {
        assertThat(p.resolve(va)).as("%s has a page at 0x%x", p, va & -PAGE).isNotNegative();
    }

    private static void assertTransferred(DmaResult r, int length, String what) {
        assertThat(r.ok()).withFailMessage("%s faulted after %d bytes: %s", what, r.bytesTransferred(), r.fault()).isTrue();
        assertThat(r.bytesTransferred()).as("bytes moved by %s", what).isEqualTo(length);
    }

    // ------------------------------------------------------------------ rules

    @Test
    @Rule(id = "IOPF-1")
    @DisplayName("PAGE_REQUEST is advertised with a queue name (priq, prq) and a positive queueEntries, and by devices only where the unit advertises it; enabling twice is refused with BUSY; where it is not advertised enablePageRequests is refused with NOT_SUPPORTED and changes nothing")
    public void pageRequestCapabilityShapeAndRefusal() {
        if (caps().has(Capability.PAGE_REQUEST)) {
            assertThat(caps().parameter(Capability.PAGE_REQUEST, "queue").orElse("")).as("PAGE_REQUEST queue of unit %s", unit.name())
                    .isNotBlank();
            String entries = caps().parameter(Capability.PAGE_REQUEST, "queueEntries").orElse("0");
            assertThat(Long.parseLong(entries)).as("PAGE_REQUEST queueEntries of unit %s", unit.name()).isPositive();
        }
        for (Device d : List.of(devA, devB, devNoPasid)) {
            State before = state(machine, Probe.read(d, 0x1000));
            if (d.capabilities().has(Capability.PAGE_REQUEST)) {
                assertThat(caps().has(Capability.PAGE_REQUEST)).as("device %s advertises PAGE_REQUEST though its unit does not", d.name())
                        .isTrue();
                assertThat(d.pageRequestsEnabled()).as("page requests of %s before enablePageRequests", d.name()).isFalse();
                d.enablePageRequests();
                assertThat(d.pageRequestsEnabled()).as("page requests of %s after enablePageRequests", d.name()).isTrue();
                assertRefused(BusyException.class, ErrorCode.BUSY, "enabled", d::enablePageRequests);
                d.disablePageRequests();
                assertThat(d.pageRequestsEnabled()).isFalse();
            } else {
                assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "PAGE_REQUEST", d::enablePageRequests);
                assertThat(d.pageRequestsEnabled()).as("page requests of %s after a refused enable", d.name()).isFalse();
            }
            assertUnchanged(machine, before, Probe.read(d, 0x1000));
        }
        assertThat(machine.pasidsInUse()).as("PASIDs in use").isZero();
    }

    @Test
    @Rule(id = "IOPF-2")
    @DisplayName("with an SVA binding and the svaFaultIn handler, a device write spanning pages the process has not populated yet completes after its page requests and the bytes are in the process's pages; a read of an untouched page completes with zeroes and populates it; pages not touched stay absent")
    public void pageRequestsPopulateTheProcessPages() {
        assumePageRequestsWithSva(devA);
        Process p = machine.newProcess("iopf2");
        long va = p.mmapLazy(6 * PAGE, Permissions.READ_WRITE);
        for (int i = 0; i < 6; i++) {
            assertPageAbsent(p, va + i * PAGE);
        }
        int pasid = devA.bindSva(p);
        devA.enablePageRequests();
        Recording handler = new Recording(PageRequestHandler.svaFaultIn());
        Registration reg = devA.onPageRequest(handler);
        byte[] data = pattern(2, (int) (2 * PAGE));
        long at = va + 0x800;
        assertTransferred(devA.write(at, data, DmaAttributes.pasid(pasid)), data.length,
                "a write of " + data.length + " bytes at 0x" + Long.toHexString(at) + " over three unpopulated pages");
        for (int i = 0; i < 3; i++) {
            assertPagePresent(p, va + i * PAGE);
        }
        assertThat(p.read(at, data.length)).as("what %s reads where the device wrote", p).isEqualTo(data);
        byte[] seen = new byte[128];
        long untouched = va + 4 * PAGE + 0x40;
        assertPageAbsent(p, untouched);
        assertTransferred(devA.read(untouched, seen, DmaAttributes.pasid(pasid)), seen.length,
                "a read at 0x" + Long.toHexString(untouched) + " of an unpopulated page");
        assertThat(seen).as("bytes read from a freshly populated page").containsOnly((byte) 0);
        assertPagePresent(p, untouched);
        assertPageAbsent(p, va + 3 * PAGE);
        assertPageAbsent(p, va + 5 * PAGE);
        byte[] back = new byte[data.length];
        assertTransferred(devA.read(at, back, DmaAttributes.pasid(pasid)), back.length, "a read of what the device wrote");
        assertThat(back).isEqualTo(data);
        for (long page : new long[] {va, va + PAGE, va + 2 * PAGE, va + 4 * PAGE}) {
            handler.await(r -> isFor(r, page), "for page 0x" + Long.toHexString(page));
        }
        assertThat(handler.seen).as("every request group the handler was given is answered").allMatch(PendingPageRequest::isAnswered);
        assertThat(devA.pendingPageRequests()).isEmpty();
        reg.close();
    }

    @Test
    @Rule(id = "IOPF-3")
    @DisplayName("a page request for an address outside every mapping, or a write to a read-only lazy mapping, is answered INVALID_REQUEST by svaFaultIn and the DMA faults without moving a byte, leaving the process's memory as it was")
    public void invalidRequestsFaultTheDma() {
        assumePageRequestsWithSva(devA);
        Process p = machine.newProcess("iopf3");
        long va = p.mmapLazy(2 * PAGE, Permissions.READ_WRITE);
        long readOnly = p.mmapLazy(PAGE, Permissions.READ);
        long hole = va + 0x40 * PAGE;
        int pasid = devA.bindSva(p);
        devA.enablePageRequests();
        Recording handler = new Recording(PageRequestHandler.svaFaultIn());
        Registration reg = devA.onPageRequest(handler);
        DmaResult w = devA.write(hole + 0x10, pattern(3, 64), DmaAttributes.pasid(pasid));
        assertThat(w.faulted()).as("a write at 0x%x, outside every mapping of %s", hole + 0x10, p).isTrue();
        assertThat(w.bytesTransferred()).isZero();
        PendingPageRequest asked = handler.await(r -> isFor(r, hole), "for the unmapped page 0x" + Long.toHexString(hole));
        assertThat(asked.isAnswered()).isTrue();
        assertThat(asked.respond(PageResponseCode.SUCCESS)).as("a second answer to a request svaFaultIn answered").isFalse();
        assertPageAbsent(p, hole);
        DmaResult r = devA.read(hole, new byte[16], DmaAttributes.pasid(pasid));
        assertThat(r.faulted()).as("a read at 0x%x, outside every mapping", hole).isTrue();
        DmaResult ro = devA.write(readOnly + 0x20, pattern(4, 32), DmaAttributes.pasid(pasid));
        assertThat(ro.faulted()).as("a write to the read-only lazy mapping at 0x%x", readOnly).isTrue();
        assertThat(ro.bytesTransferred()).isZero();
        handler.await(q -> isFor(q, readOnly) && q.request().write(), "asking write access to the read-only page");
        byte[] seen = new byte[32];
        assertTransferred(devA.read(readOnly + 0x20, seen, DmaAttributes.pasid(pasid)), seen.length,
                "a read of the read-only lazy mapping");
        assertThat(seen).as("the read-only page after a refused write").containsOnly((byte) 0);
        assertThat(p.read(readOnly, (int) PAGE)).containsOnly((byte) 0);
        assertTransferred(devA.write(va, pattern(5, 64), DmaAttributes.pasid(pasid)), 64, "a write to the read-write lazy mapping");
        assertThat(p.read(va, 64)).isEqualTo(pattern(5, 64));
        reg.close();
    }

    @Test
    @Rule(id = "IOPF-4")
    @Timeout(120)
    @DisplayName("a handler may answer later from another thread: the DMA waits while the request is pending (listed by pendingPageRequests, with the device's PASID, page and write access) and completes once the page is faulted in and SUCCESS sent; a second respond() returns false and is ignored")
    public void aDeferredAnswerCompletesTheDma() {
        assumePageRequestsWithSva(devA);
        Process p = machine.newProcess("iopf4");
        long va = p.mmapLazy(2 * PAGE, Permissions.READ_WRITE);
        int pasid = devA.bindSva(p);
        devA.enablePageRequests();
        Recording handler = new Recording(null);
        byte[] data = pattern(6, 256);
        long at = va + PAGE + 0x100;
        Registration reg = devA.onPageRequest(handler);
        try (DmaThread engine = new DmaThread()) {
            Future<DmaResult> dma = engine.start(() -> devA.write(at, data, DmaAttributes.pasid(pasid)));
            PendingPageRequest pending = handler.await(r -> true, "for the write at 0x" + Long.toHexString(at));
            PageRequest req = pending.request();
            assertThat(req.pageAddress()).as("page of the request").isEqualTo(at & -PAGE);
            assertThat(req.pasid()).as("PASID of the request").isEqualTo(pasid);
            assertThat(req.requester()).as("requester of the request").isEqualTo(devA.rid());
            assertThat(req.write()).as("the request asks for write access").isTrue();
            assertThat(req.last()).as("the request that expects the response is the last of its group").isTrue();
            assertThat(pending.device()).isSameAs(devA);
            assertThat(pending.svaProcess()).as("the SVA process at the request's PASID").containsSame(p);
            assertThat(pending.isAnswered()).isFalse();
            assertThat(devA.pendingPageRequests()).as("pending page requests of %s", devA.name()).containsExactly(pending);
            assertThat(dma.isDone()).as("the DMA completed before its page request was answered").isFalse();
            assertPageAbsent(p, at);
            assertThat(p.faultIn(req.pageAddress(), AccessType.WRITE, false)).as("%s faults the page in", p).isTrue();
            assertThat(pending.respond(PageResponseCode.SUCCESS)).as("the first answer").isTrue();
            DmaResult w = DmaThread.finish(dma, "the write at 0x" + Long.toHexString(at));
            assertTransferred(w, data.length, "the write whose page request was answered later");
            assertThat(p.read(at, data.length)).as("what %s reads where the device wrote", p).isEqualTo(data);
            assertThat(pending.respond(PageResponseCode.SUCCESS)).as("a second answer matches nothing").isFalse();
            assertThat(pending.respond(PageResponseCode.INVALID_REQUEST)).as("a third answer matches nothing").isFalse();
            assertThat(devA.pendingPageRequests()).isEmpty();
            assertThat(handler.seen).as("request groups given to the handler").hasSize(1);
            byte[] back = new byte[data.length];
            assertTransferred(devA.read(at, back, DmaAttributes.pasid(pasid)), back.length, "a read after the ignored answers");
            assertThat(back).isEqualTo(data);
        }
        reg.close();
    }

    @Test
    @Rule(id = "IOPF-5")
    @Timeout(120)
    @DisplayName("closing a handler's registration while a request it was given is unanswered is refused with BUSY and keeps the handler; once answered the registration closes, and closing it again does nothing")
    public void aHandlerWithPendingRequestsCannotBeUnregistered() {
        assumePageRequestsWithSva(devA);
        Process p = machine.newProcess("iopf5");
        long va = p.mmapLazy(PAGE, Permissions.READ_WRITE);
        int pasid = devA.bindSva(p);
        devA.enablePageRequests();
        Recording handler = new Recording(null);
        Registration reg = devA.onPageRequest(handler);
        try (DmaThread engine = new DmaThread()) {
            Future<DmaResult> dma = engine.start(() -> devA.write(va + 8, pattern(7, 8), DmaAttributes.pasid(pasid)));
            PendingPageRequest pending = handler.await(r -> true, "for the write at 0x" + Long.toHexString(va + 8));
            assertRefused(BusyException.class, ErrorCode.BUSY, "handler", reg::close);
            assertRefused(BusyException.class, ErrorCode.BUSY, "handler", () -> devA.onPageRequest(PageRequestHandler.svaFaultIn()));
            assertThat(devA.pendingPageRequests()).as("pending requests after the refused close").containsExactly(pending);
            assertThat(pending.isAnswered()).isFalse();
            assertThat(p.faultIn(va, AccessType.WRITE, false)).isTrue();
            assertThat(pending.respond(PageResponseCode.SUCCESS)).isTrue();
            assertTransferred(DmaThread.finish(dma, "the write"), 8, "the write answered after the refused close");
            reg.close();
            reg.close();
            Registration again = devA.onPageRequest(PageRequestHandler.svaFaultIn());
            again.close();
        }
        assertThat(p.read(va + 8, 8)).isEqualTo(pattern(7, 8));
    }

    @Test
    @Rule(id = "IOPF-6")
    @DisplayName("a DMA to an unpopulated page faults when no handler is registered (the request is answered invalid) and when page requests are not enabled (no request reaches the handler); the page stays absent either way, and once enabled with a handler the same DMA completes")
    public void withoutHandlerOrEnableTheDmaFaults() {
        assumePageRequestsWithSva(devA);
        Process p = machine.newProcess("iopf6");
        long va = p.mmapLazy(2 * PAGE, Permissions.READ_WRITE);
        int pasid = devA.bindSva(p);
        Recording handler = new Recording(PageRequestHandler.svaFaultIn());
        Registration reg = devA.onPageRequest(handler);
        DmaResult notEnabled = devA.write(va, pattern(8, 64), DmaAttributes.pasid(pasid));
        assertThat(notEnabled.faulted()).as("a write to an unpopulated page with page requests not enabled").isTrue();
        assertThat(notEnabled.bytesTransferred()).isZero();
        assertPageAbsent(p, va);
        reg.close();
        assertThat(handler.seen).as("page requests given to the handler while page requests were not enabled").isEmpty();
        devA.enablePageRequests();
        DmaResult noHandler = devA.write(va, pattern(8, 64), DmaAttributes.pasid(pasid));
        assertThat(noHandler.faulted()).as("a write to an unpopulated page with no handler registered").isTrue();
        assertThat(noHandler.bytesTransferred()).isZero();
        assertPageAbsent(p, va);
        assertThat(devA.read(va + PAGE, new byte[8], DmaAttributes.pasid(pasid)).faulted())
                .as("a read of an unpopulated page with no handler registered").isTrue();
        assertPageAbsent(p, va + PAGE);
        assertThat(handler.seen).isEmpty();
        Registration again = devA.onPageRequest(handler);
        assertTransferred(devA.write(va, pattern(8, 64), DmaAttributes.pasid(pasid)), 64, "the write once a handler is registered");
        assertThat(p.read(va, 64)).isEqualTo(pattern(8, 64));
        again.close();
    }

    @Test
    @Rule(id = "IOPF-7")
    @Timeout(120)
    @DisplayName("unbinding the SVA process while a page request is pending answers it: the DMA faults, a late respond() from the handler returns false, nothing is faulted in, and the PASID stays in use until the unbind, which frees it")
    public void unbindAnswersPendingRequestsBeforeFreeingThePasid() {
        assumePageRequestsWithSva(devA);
        Process p = machine.newProcess("iopf7");
        long va = p.mmapLazy(PAGE, Permissions.READ_WRITE);
        int pasid = devA.bindSva(p);
        devA.enablePageRequests();
        Recording handler = new Recording(null);
        Registration reg = devA.onPageRequest(handler);
        try (DmaThread engine = new DmaThread()) {
            Future<DmaResult> dma = engine.start(() -> devA.write(va + 0x30, pattern(9, 16), DmaAttributes.pasid(pasid)));
            PendingPageRequest pending = handler.await(r -> true, "for the write at 0x" + Long.toHexString(va + 0x30));
            assertThat(machine.pasidsInUse()).as("PASIDs in use while a request of the binding is pending").isEqualTo(1);
            assertThat(p.pasid()).isEqualTo(pasid);
            devA.unbindSva(p);
            DmaResult w = DmaThread.finish(dma, "the write pending at unbind");
            assertThat(w.faulted()).as("the write whose page request was pending when its PASID was unbound").isTrue();
            assertThat(w.bytesTransferred()).isZero();
            assertThat(pending.isAnswered()).as("the pending request after unbind").isTrue();
            assertThat(pending.respond(PageResponseCode.SUCCESS)).as("the handler's late answer after unbind").isFalse();
            assertThat(devA.pendingPageRequests()).isEmpty();
            assertThat(machine.pasidsInUse()).as("PASIDs in use after unbind").isZero();
            assertThat(p.pasid()).as("the PASID of %s after unbind", p).isEqualTo(dev.iommukit.spi.device.Pasid.NONE);
            assertPageAbsent(p, va);
            reg.close();
        }
        assertFaults(devA, pasid, va, AccessType.WRITE);
    }

    @Test
    @Rule(id = "IOPF-8")
    @DisplayName("disablePageRequests is refused with BUSY while a handler is registered and page requests keep working; once the handler is gone it disables them, and a DMA to an unpopulated page then faults without a page request")
    public void disableIsRefusedWhileAHandlerIsRegistered() {
        assumePageRequestsWithSva(devA);
        Process p = machine.newProcess("iopf8");
        long va = p.mmapLazy(2 * PAGE, Permissions.READ_WRITE);
        int pasid = devA.bindSva(p);
        devA.enablePageRequests();
        Recording handler = new Recording(PageRequestHandler.svaFaultIn());
        Registration reg = devA.onPageRequest(handler);
        assertRefused(BusyException.class, ErrorCode.BUSY, "handler", devA::disablePageRequests);
        assertThat(devA.pageRequestsEnabled()).as("page requests after the refused disable").isTrue();
        assertTransferred(devA.write(va, pattern(10, 64), DmaAttributes.pasid(pasid)), 64, "a write after the refused disable");
        reg.close();
        devA.disablePageRequests();
        assertThat(devA.pageRequestsEnabled()).isFalse();
        int asked = handler.seen.size();
        Registration again = devA.onPageRequest(handler);
        DmaResult w = devA.write(va + PAGE, pattern(11, 64), DmaAttributes.pasid(pasid));
        assertThat(w.faulted()).as("a write to an unpopulated page after disablePageRequests").isTrue();
        assertPageAbsent(p, va + PAGE);
        assertThat(handler.seen).as("page requests after disablePageRequests").hasSize(asked);
        again.close();
        assertThat(p.read(va, 64)).isEqualTo(pattern(10, 64));
    }

    @Test
    @Rule(id = "IOPF-9")
    @Timeout(600)
    @DisplayName("several threads writing distinct unpopulated pages of one process at once all complete through their page requests, and every page holds what its thread wrote")
    public void concurrentPageRequestsAllComplete() throws InterruptedException {
        assumePageRequestsWithSva(devA);
        int threads = 4;
        int pagesEach = 6;
        Process p = machine.newProcess("iopf9");
        long va = p.mmapLazy((long) threads * pagesEach * PAGE, Permissions.READ_WRITE);
        int pasid = devA.bindSva(p);
        devA.enablePageRequests();
        List<String> problems = new CopyOnWriteArrayList<>();
        CountDownLatch start = new CountDownLatch(1);
        Registration reg = devA.onPageRequest(PageRequestHandler.svaFaultIn());
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread w = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < pagesEach; i++) {
                        long page = va + (long) (i * threads + id) * PAGE;
                        DmaResult r = devA.write(page + 0x10 * id, pattern(100 + id * pagesEach + i, 512), DmaAttributes.pasid(pasid));
                        if (!r.ok() || r.bytesTransferred() != 512) {
                            problems.add("thread " + id + " page 0x" + Long.toHexString(page) + ": " + r);
                        }
                    }
                } catch (RuntimeException e) {
                    problems.add("thread " + id + " threw " + e);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }, "kit-iopf-" + t);
            w.setDaemon(true);
            workers.add(w);
            w.start();
        }
        start.countDown();
        for (Thread w : workers) {
            w.join(TimeUnit.MINUTES.toMillis(5));
            assertThat(w.isAlive()).as("%s finished", w.getName()).isFalse();
        }
        reg.close();
        assertThat(problems).as("writes that did not complete").isEmpty();
        for (int t = 0; t < threads; t++) {
            for (int i = 0; i < pagesEach; i++) {
                long page = va + (long) (i * threads + t) * PAGE;
                assertThat(p.read(page + 0x10 * t, 512)).as("page 0x%x written by thread %d", page, t)
                        .isEqualTo(pattern(100 + t * pagesEach + i, 512));
            }
        }
        assertThat(devA.pendingPageRequests()).isEmpty();
    }

    @Test
    @Rule(id = "IOPF-10")
    @DisplayName("every page request reported carries the unit's record of its queue entry (a format, a name and non-empty raw words) and its decoded fields: the device's requester id, the binding's PASID, the page asked for and the access")
    public void pageRequestsCarryTheArchitecturalRecord() {
        assumePageRequestsWithSva(devA);
        Process p = machine.newProcess("iopf10");
        long va = p.mmapLazy(4 * PAGE, Permissions.READ_WRITE);
        int pasid = devA.bindSva(p);
        devA.enablePageRequests();
        Recording handler = new Recording(PageRequestHandler.svaFaultIn());
        Registration reg = devA.onPageRequest(handler);
        assertTransferred(devA.write(va + 0x10, pattern(12, 32), DmaAttributes.pasid(pasid)), 32, "a write");
        assertTransferred(devA.read(va + 2 * PAGE, new byte[32], DmaAttributes.pasid(pasid)), 32, "a read");
        reg.close();
        Set<Long> pages = new TreeSet<>();
        for (PendingPageRequest pending : handler.seen) {
            for (PageRequest r : pending.group()) {
                VendorFaultRecord rec = r.record();
                assertThat(rec).as("record of %s", r).isNotNull();
                assertThat(rec.format()).as("record format of %s", r).isNotBlank();
                assertThat(rec.name()).as("record name of %s", r).isNotBlank();
                assertThat(rec.words()).as("raw words of the queue entry of %s", r).isNotEmpty();
                assertThat(r.requester()).as("requester of %s", r).isEqualTo(devA.rid());
                assertThat(r.pasid()).as("PASID of %s", r).isEqualTo(pasid);
                assertThat(r.pageAddress() & (PAGE - 1)).as("page address of %s is 4 KiB aligned", r).isZero();
                pages.add(r.pageAddress());
                if (r.pageAddress() == va) {
                    assertThat(r.write()).as("the write's request asks for write access").isTrue();
                }
                if (r.pageAddress() == va + 2 * PAGE) {
                    assertThat(r.read()).as("the read's request asks for read access").isTrue();
                    assertThat(r.write()).as("the read's request asks for no write access").isFalse();
                }
            }
            assertThat(pending.request().last()).as("the last request of %s", pending).isTrue();
        }
        assertThat(pages).as("pages asked for").contains(va, va + 2 * PAGE);
    }

    @Test
    @Rule(id = "IOPF-11")
    @DisplayName("a page fault resolved through a page request is not reported as a fault: the ATS translation request that found no access is not recorded, so the device's fault handler hears nothing of the binding's PASID, while a later fault without PASID (a sentinel) does reach it")
    public void resolvedPageFaultsAreNotReportedAsFaults() {
        assumePageRequestsWithSva(devA);
        PagingDomain own = newPagingDomain();
        long sentinel = iova(own, 0x20 * PAGE);
        devA.attach(own);
        List<Fault> faults = new CopyOnWriteArrayList<>();
        Registration onFault = devA.onFault(faults::add);
        Process p = machine.newProcess("iopf11");
        long va = p.mmapLazy(3 * PAGE, Permissions.READ_WRITE);
        int pasid = devA.bindSva(p);
        devA.enablePageRequests();
        Registration reg = devA.onPageRequest(PageRequestHandler.svaFaultIn());
        assertTransferred(devA.write(va + 0x40, pattern(13, (int) PAGE), DmaAttributes.pasid(pasid)), (int) PAGE,
                "a write over two unpopulated pages");
        assertTransferred(devA.read(va + 2 * PAGE, new byte[64], DmaAttributes.pasid(pasid)), 64, "a read of an unpopulated page");
        reg.close();
        assertFaults(devA, sentinel);
        long deadline = System.nanoTime() + DELIVERY_BOUND_MILLIS * 1_000_000L;
        while (faults.stream().noneMatch(f -> f.pasid() == dev.iommukit.spi.device.Pasid.NONE && f.address() >>> 12 == sentinel >>> 12)) {
            if (System.nanoTime() - deadline > 0) {
                fail("the fault of a read without PASID at 0x%x (a sentinel after the page requests) did not reach the handler of %s"
                        + " within %d ms; received %s", sentinel, devA.name(), DELIVERY_BOUND_MILLIS, faults);
            }
            sleepBriefly();
        }
        onFault.close();
        assertThat(faults.stream().filter(f -> f.pasid() == pasid).toList())
                .as("faults reported for pasid %d whose page faults page requests resolved", pasid).isEmpty();
    }
}
