package dev.iommukit.api;

import dev.iommukit.spi.DeviceInfo;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.RecordlessFault;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
import dev.iommukit.spi.memory.ExternalAbortException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A PCI device behind a unit: what it is attached to, with and without PASID, the DMA it issues,
 * and the handlers of its faults. Attach and detach are checked here for every backend alike.
 */
public final class Device {
    private static final System.Logger LOG = System.getLogger(Device.class.getName());
    private final Unit unit;
    private final RequesterId rid;
    private final int ridValue;
    private final DeviceInfo info;
    private final int requestedPasidBits;
    private Domain domain;
    private final TreeMap<Integer, Domain> pasidDomains = new TreeMap<>();
    private final CopyOnWriteArrayList<FaultHandler> handlers = new CopyOnWriteArrayList<>();
    private final Map<Domain, Integer> auxDomains = new java.util.LinkedHashMap<>();
    private final Map<Process, int[]> svaBindings = new java.util.LinkedHashMap<>();
    private boolean auxEnabled;
    /** Guards the page request state below; never held while calling out. */
    final Object pageRequests = new Object();
    private volatile boolean pageRequestsEnabled;
    private PageRequestHandler pageRequestHandler;
    private final Map<Long, PendingPageRequest> pendingRequests = new java.util.LinkedHashMap<>();
    private final Map<Long, List<PageRequest>> partialGroups = new java.util.HashMap<>();
    /** For {@link #drainPageRequests}: every PASID and the requests without one. */
    static final int ALL_PASIDS = Integer.MIN_VALUE;
    /** PASID (Pasid.NONE: requests without PASID; ALL_PASIDS: all) to the last queue sequence number drained for it. */
    private final Map<Integer, Long> drainedUpTo = new java.util.HashMap<>();
    private final ConcurrentHashMap<Long, CompletableFuture<PageResponseCode>> responseWaiters =
            new ConcurrentHashMap<>();
    /** Processes bound for SVA by PASID, readable without the machine lock. */
    private final ConcurrentHashMap<Integer, Process> svaByPasid = new ConcurrentHashMap<>();
    private final AtomicInteger nextGroupIndex = new AtomicInteger();
    /** PASIDs (Pasid.NONE: requests without PASID) attached to an identity domain: no ATS there, as Linux does. */
    private final java.util.Set<Integer> identityAttached = ConcurrentHashMap.newKeySet();
    private volatile long pageResponseTimeoutNanos = TimeUnit.SECONDS.toNanos(10);
    /** How many times one page of a transfer is retried after a successful page response. */
    private static final int PAGE_REQUEST_RETRIES = 3;

    Device(Unit unit, RequesterId rid, int requestedPasidBits, DeviceInfo info) {
        this.unit = unit;
        this.rid = rid;
        this.ridValue = rid.value();
        this.requestedPasidBits = requestedPasidBits;
        this.info = info;
    }

    public RequesterId rid() {
        return rid;
    }

    /** {@code 0000:BB:DD.F}. */
    public String name() {
        return rid.toString();
    }

    public Unit unit() {
        return unit;
    }

    /** The PASID width the unit honours for this device (0: no PASID support). */
    public int pasidBits() {
        return info.pasidBits();
    }

    /** The PASID width the device itself declared. */
    public int declaredPasidBits() {
        return requestedPasidBits;
    }

    public CapabilitySet capabilities() {
        return info.capabilities();
    }

    // ---------------------------------------------------------------- attach without PASID

    /**
     * Attaches {@code domain} for requests without PASID. Refused when another domain is attached
     * ({@link BusyException}: detach first or {@link #replace}) or this one already is
     * ({@link ConflictException}).
     */
    public void attach(Domain domain) {
        synchronized (unit.machine.lock) {
            checkDomain(domain);
            if (this.domain == domain) {
                throw new ConflictException("domain: " + domain + " is already attached to " + name());
            }
            if (this.domain != null) {
                throw new BusyException("device " + name() + " already has " + this.domain + " attached; detach it first or use replace()");
            }
            checkNoAuxDomains();
            checkAttachableWithoutPasid(domain);
            install(Pasid.NONE, domain);
        }
    }

    /** Attaches {@code domain} for requests without PASID, atomically replacing what was attached. */
    public void replace(Domain domain) {
        synchronized (unit.machine.lock) {
            checkDomain(domain);
            if (this.domain == domain) {
                return;
            }
            checkNoAuxDomains();
            checkAttachableWithoutPasid(domain);
            install(Pasid.NONE, domain);
        }
    }

    /** Blocks requests without PASID again; does nothing when nothing is attached. */
    public void detach() {
        synchronized (unit.machine.lock) {
            unit.machine.checkOpen();
            if (domain != null) {
                install(Pasid.NONE, null);
            }
        }
    }

    /** The domain serving requests without PASID, or {@code null} when they are blocked by default. */
    public Domain domain() {
        synchronized (unit.machine.lock) {
            return domain;
        }
    }

    // ---------------------------------------------------------------- attach at a PASID

    /**
     * Attaches {@code domain} at {@code pasid}: the generic operation aux domains and nesting build
     * on. Needs {@link Capability#PASID_ATTACH}; PASID 0 is reserved for requests without PASID.
     */
    public void attachPasid(int pasid, Domain domain) {
        synchronized (unit.machine.lock) {
            checkPasid(pasid);
            checkDomain(domain);
            checkAttachableAtPasid(domain);
            Domain current = pasidDomains.get(pasid);
            if (current == domain) {
                throw new ConflictException("domain: " + domain + " is already attached to " + name() + " at pasid " + pasid);
            }
            if (current != null) {
                throw new BusyException("pasid " + pasid + " of " + name() + " already has " + current + " attached; detach it first or use replacePasid()");
            }
            unit.machine.pasids.claim(pasid);
            try {
                install(pasid, domain);
            } catch (RuntimeException e) {
                unit.machine.pasids.release(pasid);
                throw e;
            }
        }
    }

    /** Attaches {@code domain} at {@code pasid}, atomically replacing what was attached there. */
    public void replacePasid(int pasid, Domain domain) {
        synchronized (unit.machine.lock) {
            checkPasid(pasid);
            checkDomain(domain);
            checkAttachableAtPasid(domain);
            checkNotAux(pasid);
            Domain current = pasidDomains.get(pasid);
            if (current == domain) {
                return;
            }
            if (current == null) {
                unit.machine.pasids.claim(pasid);
            }
            try {
                install(pasid, domain);
            } catch (RuntimeException e) {
                if (current == null) {
                    unit.machine.pasids.release(pasid);
                }
                throw e;
            }
        }
    }

    /** Removes what is attached at {@code pasid}; tagged requests with it fault afterwards. */
    public void detachPasid(int pasid) {
        synchronized (unit.machine.lock) {
            checkPasid(pasid);
            if (!pasidDomains.containsKey(pasid)) {
                throw new NotFoundException("pasid: nothing is attached to " + name() + " at pasid " + pasid);
            }
            checkNotAux(pasid);
            install(pasid, null);
            unit.machine.pasids.release(pasid);
        }
    }

    /** The domain at {@code pasid}, or {@code null}. */
    public Domain domainAt(int pasid) {
        synchronized (unit.machine.lock) {
            return pasidDomains.get(pasid);
        }
    }

    /** The PASIDs with a domain attached, and their domains. */
    public Map<Integer, Domain> pasidAttachments() {
        synchronized (unit.machine.lock) {
            return Collections.unmodifiableMap(new TreeMap<>(pasidDomains));
        }
    }

    // ---------------------------------------------------------------- aux domains

    /** Enables aux domains on this parent device; needs {@link Capability#AUX_DOMAIN}. Enabling twice does nothing. */
    public void enableAuxDomains() {
        synchronized (unit.machine.lock) {
            unit.machine.checkOpen();
            if (!info.capabilities().has(Capability.AUX_DOMAIN)) {
                throw new NotSupportedException("device " + name() + " on " + unit.name() + " does not advertise AUX_DOMAIN");
            }
            auxEnabled = true;
        }
    }

    /** Disables aux domains; refused with {@link BusyException} while any is attached. */
    public void disableAuxDomains() {
        synchronized (unit.machine.lock) {
            unit.machine.checkOpen();
            if (!auxDomains.isEmpty()) {
                throw new BusyException("device " + name() + " still has " + auxDomains.size()
                        + " aux domain(s) attached: " + auxDomains.keySet() + "; detach them first");
            }
            auxEnabled = false;
        }
    }

    public boolean auxDomainsEnabled() {
        synchronized (unit.machine.lock) {
            return auxEnabled;
        }
    }

    /**
     * Attaches {@code domain} as an aux domain: the core allocates a PASID from the machine's PASID
     * space within this device's width and attaches the domain there. Returns that PASID, which
     * the device's DMA for this domain carries.
     */
    public int attachAuxDomain(Domain domain) {
        synchronized (unit.machine.lock) {
            unit.machine.checkOpen();
            if (!auxEnabled) {
                throw IommuException.invalid("device", "aux domains are not enabled on " + name() + "; call enableAuxDomains() first");
            }
            checkDomain(domain);
            if (domain.type() != DomainType.PAGING) {
                throw IommuException.invalid("domain", "an aux domain must be a paging domain, " + domain + " is " + domain.type());
            }
            checkAttachableAtPasid(domain);
            if (auxDomains.containsKey(domain)) {
                throw new ConflictException("domain: " + domain + " is already an aux domain of " + name()
                        + " at pasid " + auxDomains.get(domain));
            }
            int pasid = unit.machine.pasids.allocate(info.pasidBits(), "aux domain " + domain + " of " + name());
            try {
                install(pasid, domain);
            } catch (RuntimeException e) {
                unit.machine.pasids.release(pasid);
                throw e;
            }
            auxDomains.put(domain, pasid);
            return pasid;
        }
    }

    /** The PASID {@code domain} answers on as an aux domain of this device. */
    public int auxPasid(Domain domain) {
        synchronized (unit.machine.lock) {
            Integer pasid = auxDomains.get(domain);
            if (pasid == null) {
                throw new NotFoundException("domain: " + domain + " is not an aux domain of " + name());
            }
            return pasid;
        }
    }

    /** Detaches an aux domain; its PASID faults afterwards and returns to the machine once unreferenced. */
    public void detachAuxDomain(Domain domain) {
        synchronized (unit.machine.lock) {
            unit.machine.checkOpen();
            Integer pasid = auxDomains.get(domain);
            if (pasid == null) {
                throw new NotFoundException("domain: " + domain + " is not an aux domain of " + name());
            }
            install(pasid, null);
            auxDomains.remove(domain);
            unit.machine.pasids.release(pasid);
        }
    }

    /** The aux domains attached now, with their PASIDs. */
    public Map<Domain, Integer> auxDomains() {
        synchronized (unit.machine.lock) {
            return Collections.unmodifiableMap(new java.util.LinkedHashMap<>(auxDomains));
        }
    }

    // ---------------------------------------------------------------- shared virtual addressing

    /**
     * Binds {@code process}'s address space to this device and returns the PASID it answers on:
     * the process's PASID, the same on every device it is bound to. Binding again returns the
     * same PASID and counts one more binding. Needs {@link Capability#SVA} with the process's CPU
     * format.
     */
    public int bindSva(Process process) {
        synchronized (unit.machine.lock) {
            unit.machine.checkOpen();
            Objects.requireNonNull(process, "process");
            if (!process.isAlive()) {
                throw new dev.iommukit.spi.error.ClosedException("process: " + process + " has exited");
            }
            if (!info.capabilities().has(Capability.SVA)) {
                throw new NotSupportedException("device " + name() + " on " + unit.name() + " does not advertise SVA");
            }
            String format = info.capabilities().parameter(Capability.SVA, "cpuFormat").orElse("");
            if (!format.equals(process.cpu().formatName())) {
                throw new NotSupportedException("process: " + process + " has " + process.cpu().formatName()
                        + " page tables, but " + unit.name() + " walks " + format + " ones for SVA");
            }
            int[] binding = svaBindings.get(process);
            if (binding != null) {
                binding[1]++;
                return binding[0];
            }
            if (domain instanceof NestedDomain n && n.isContextTable()) {
                throw new BusyException("device " + name() + " has the guest CD table " + n + " attached; its substreams belong to the guest");
            }
            int pasid = process.acquirePasid(info.pasidBits(), "SVA of " + process);
            try {
                if (pasidDomains.containsKey(pasid)) {
                    throw new BusyException("pasid " + pasid + " of " + process + " is taken on " + name() + " by " + pasidDomains.get(pasid));
                }
                Domain domain = unit.svaDomain(process);
                try {
                    install(pasid, domain);
                } catch (RuntimeException e) {
                    unit.releaseSvaDomain(process);
                    throw e;
                }
            } catch (RuntimeException e) {
                process.releasePasid();
                throw e;
            }
            svaBindings.put(process, new int[] {pasid, 1});
            svaByPasid.put(pasid, process);
            return pasid;
        }
    }

    /** Drops one binding of {@code process}; the last one detaches its PASID, which returns to the machine once unused. */
    public void unbindSva(Process process) {
        synchronized (unit.machine.lock) {
            unit.machine.checkOpen();
            int[] binding = svaBindings.get(process);
            if (binding == null) {
                throw new NotFoundException("process: " + process + " is not bound to " + name());
            }
            if (--binding[1] > 0) {
                return;
            }
            releaseSva(process, binding[0]);
        }
    }

    private void releaseSva(Process process, int pasid) {
        svaBindings.remove(process);
        svaByPasid.remove(pasid);
        install(pasid, null);
        unit.releaseSvaDomain(process);
        process.releasePasid();
    }

    /** The processes bound for SVA now, with their PASIDs. */
    public Map<Process, Integer> svaBindings() {
        synchronized (unit.machine.lock) {
            Map<Process, Integer> out = new java.util.LinkedHashMap<>();
            svaBindings.forEach((p, b) -> out.put(p, b[0]));
            return Collections.unmodifiableMap(out);
        }
    }

    private void checkNoAuxDomains() {
        if (!auxDomains.isEmpty()) {
            throw new BusyException("device " + name() + " has aux domains attached " + auxDomains.keySet()
                    + "; a whole-device attach is refused until they are detached");
        }
    }

    private void checkNotAux(int pasid) {
        if (auxDomains.containsValue(pasid)) {
            throw new BusyException("pasid " + pasid + " of " + name() + " belongs to an aux domain; use detachAuxDomain()");
        }
        for (int[] b : svaBindings.values()) {
            if (b[0] == pasid) {
                throw new BusyException("pasid " + pasid + " of " + name() + " belongs to an SVA binding; use unbindSva()");
            }
        }
    }

    private void checkPasid(int pasid) {
        unit.machine.checkOpen();
        if (!info.capabilities().has(Capability.PASID_ATTACH)) {
            throw new NotSupportedException("pasid: device " + name() + " on " + unit.name()
                    + " does not advertise PASID_ATTACH (PASID width " + info.pasidBits() + ")");
        }
        if (pasid == 0) {
            throw IommuException.invalid("pasid", "PASID 0 is reserved for requests without PASID; use attach()");
        }
        Pasid.check(pasid, info.pasidBits());
    }

    private void checkDomain(Domain domain) {
        unit.machine.checkOpen();
        Objects.requireNonNull(domain, "domain");
        if (domain.unit != unit) {
            throw IommuException.invalid("domain", domain + " belongs to unit " + domain.unit.name() + ", but device "
                    + name() + " is behind unit " + unit.name());
        }
        domain.checkOpen("domain");
    }

    private void checkAttachableWithoutPasid(Domain domain) {
        if (domain instanceof NestedDomain n) {
            if (n.attachesAtPasid()) {
                throw IommuException.invalid("domain", n + " is a guest first level; it is attached at a PASID (guest PASID bind)");
            }
            if (n.isContextTable() && !pasidDomains.isEmpty()) {
                throw new BusyException("device " + name() + " has domains attached at PASIDs " + pasidDomains.keySet()
                        + "; a guest CD table takes every substream, detach them first");
            }
        }
    }

    private void checkAttachableAtPasid(Domain domain) {
        if (domain instanceof NestedDomain n && n.isContextTable()) {
            throw IommuException.invalid("domain", n + " is a guest CD table; it is attached without PASID (PASID-table bind)");
        }
        if (this.domain instanceof NestedDomain n && n.isContextTable()) {
            throw new BusyException("device " + name() + " has the guest CD table " + n + " attached; its substreams belong to the guest");
        }
        if (domain.type() == DomainType.BLOCKED) {
            throw IommuException.invalid("domain", "a blocked domain is not attached at a PASID; use detachPasid()");
        }
        if (!domain.info().attachableAtPasid()) {
            throw new NotSupportedException("domain: " + domain + " (" + domain.info().translation()
                    + ") cannot be attached at a PASID on " + unit.backendId());
        }
    }

    /** Programs the unit, then the bookkeeping; {@code domain == null} means blocked. */
    private void install(int pasid, Domain next) {
        Domain target = next != null ? next : unit.internalBlocked();
        unit.driver.attach(rid, pasid, target.backend);
        Domain previous = pasid == Pasid.NONE ? domain : pasidDomains.get(pasid);
        if (previous != null) {
            previous.attachments.remove(new Domain.Attachment(this, pasid));
        }
        if (next != null) {
            next.attachments.add(new Domain.Attachment(this, pasid));
        }
        if (next != null && next.type() == DomainType.IDENTITY) {
            identityAttached.add(pasid);
        } else {
            identityAttached.remove(pasid);
        }
        if (pasid == Pasid.NONE) {
            domain = next;
            if (pageRequestsEnabled && previous instanceof NestedDomain n && n.isContextTable()) {
                // every substream (and the requests without one) belonged to the guest's CD table
                drainPageRequests(ALL_PASIDS);
            } else if (pageRequestsEnabled && previous != null && previous != next) {
                // the requests without PASID were asked of the domain that is gone (as iommufd does)
                drainPageRequests(Pasid.NONE);
            }
        } else if (next == null) {
            pasidDomains.remove(pasid);
            if (pageRequestsEnabled) {
                drainPageRequests(pasid);
            }
        } else {
            pasidDomains.put(pasid, next);
        }
    }

    void shutdown() {
        if (pageRequestsEnabled) {
            drainPageRequests(ALL_PASIDS);
            pageRequestsEnabled = false;
            unit.driver.disablePageRequests(rid);
        }
        // Requests still queued for the page request thread are answered there only after the
        // driver closed (or never, once the thread stops): end the transfers waiting for them now.
        responseWaiters.values().forEach(w -> w.complete(PageResponseCode.INVALID_REQUEST));
        for (Process p : List.copyOf(svaBindings.keySet())) {
            releaseSva(p, svaBindings.get(p)[0]);
        }
        for (int pasid : List.copyOf(pasidDomains.keySet())) {
            install(pasid, null);
            unit.machine.pasids.release(pasid);
        }
        auxDomains.clear();
        if (domain != null) {
            install(Pasid.NONE, null);
        }
        unit.driver.releaseDevice(rid);
        unit.devicesByRid.remove(ridValue);
    }

    // ---------------------------------------------------------------- DMA

    /** Translates one unprivileged data request without PASID. */
    public DmaResult translate(long address, AccessType access) {
        return translate(address, access, DmaAttributes.DEFAULT);
    }

    /** Translates one request with {@code attributes}; the result holds the address reached or the fault. */
    public DmaResult translate(long address, AccessType access, DmaAttributes attributes) {
        TranslationOutcome out = new TranslationOutcome();
        translate(new DmaRequest(ridValue, attributes.pasid(), address, 1, access, attributes.execute(), attributes.privileged()), out);
        return new DmaResult(address, out.physicalAddress(), 0, out.fault());
    }

    /**
     * The allocation-free path: {@code request} must carry this device's requester id; the unit
     * fills {@code out}. Safe from many threads.
     */
    public void translate(DmaRequest request, TranslationOutcome out) {
        if (request.rid() != ridValue) {
            throw IommuException.invalid("request", "carries requester id 0x" + Integer.toHexString(request.rid())
                    + ", not this device's 0x" + Integer.toHexString(ridValue));
        }
        unit.driver.dmaPort().translate(request, out);
    }

    /** Reads {@code into.length} bytes from {@code address} without PASID. */
    public DmaResult read(long address, byte[] into) {
        return transfer(address, into, AccessType.READ, DmaAttributes.DEFAULT);
    }

    public DmaResult read(long address, byte[] into, DmaAttributes attributes) {
        return transfer(address, into, AccessType.READ, attributes);
    }

    /** Writes {@code from} to {@code address} without PASID. */
    public DmaResult write(long address, byte[] from) {
        return transfer(address, from, AccessType.WRITE, DmaAttributes.DEFAULT);
    }

    public DmaResult write(long address, byte[] from, DmaAttributes attributes) {
        return transfer(address, from, AccessType.WRITE, attributes);
    }

    /**
     * Moves bytes page by page as a DMA engine does: each 4 KiB piece is translated, then copied;
     * the first fault stops the transfer, and the bytes before it have moved.
     */
    private DmaResult transfer(long address, byte[] buffer, AccessType access, DmaAttributes attributes) {
        TranslationOutcome out = new TranslationOutcome();
        long firstPa = -1;
        int done = 0;
        while (done < buffer.length) {
            long a = address + done;
            int chunk = (int) Math.min(buffer.length - done, 4096 - (a & 0xFFF));
            DmaRequest request = new DmaRequest(ridValue, attributes.pasid(), a, chunk, access, attributes.execute(), attributes.privileged());
            if (pageRequestsEnabled && !identityAttached.contains(request.pasid())) {
                translateWithPageRequests(request, out);
            } else {
                translate(request, out);
            }
            if (!out.isTranslated()) {
                return new DmaResult(address, firstPa, done, out.fault());
            }
            long pa = out.physicalAddress();
            try {
                if (access == AccessType.READ) {
                    unit.machine.memory().read(pa, buffer, done, chunk);
                } else {
                    unit.machine.memory().write(pa, buffer, done, chunk);
                }
            } catch (ExternalAbortException e) {
                return new DmaResult(address, firstPa, done, new Fault(rid, attributes.pasid(), a, access,
                        FaultReason.EXTERNAL_ABORT,
                        new RecordlessFault("iommukit-bus", "EXTERNAL_ABORT", Map.of("address", e.address()))));
            }
            if (firstPa < 0) {
                firstPa = pa;
            }
            done += chunk;
        }
        return new DmaResult(address, firstPa, done, null);
    }

    // ---------------------------------------------------------------- I/O page faults

    /**
     * Enables ATS and page requests (PCIe PRI) for this device: from now on its transfers
     * ({@link #read}, {@link #write}) ask the IOMMU for translations first and send a page request
     * for a page that is missing or lacks the access, then retry once the response says success.
     * {@link #translate} stays an untranslated request, and so do transfers at an identity domain
     * (no ATS there, as Linux does). Needs {@link Capability#PAGE_REQUEST}.
     */
    public void enablePageRequests() {
        synchronized (unit.machine.lock) {
            unit.machine.checkOpen();
            if (!info.capabilities().has(Capability.PAGE_REQUEST)) {
                throw new NotSupportedException("device " + name() + " on " + unit.name() + " does not advertise PAGE_REQUEST");
            }
            if (pageRequestsEnabled) {
                throw new BusyException("device " + name() + ": page requests are already enabled");
            }
            unit.driver.enablePageRequests(rid);
            pageRequestsEnabled = true;
        }
    }

    /**
     * Disables page requests: drains them first (every request still queued or pending is answered
     * as an invalid request). Refused while a handler is registered.
     */
    public void disablePageRequests() {
        synchronized (unit.machine.lock) {
            unit.machine.checkOpen();
            if (!pageRequestsEnabled) {
                throw new NotFoundException("device " + name() + ": page requests are not enabled");
            }
            synchronized (pageRequests) {
                if (pageRequestHandler != null) {
                    throw new BusyException("device " + name() + ": a page request handler is registered; close its registration first");
                }
            }
            drainPageRequests(ALL_PASIDS);
            pageRequestsEnabled = false;
            unit.driver.disablePageRequests(rid);
        }
    }

    public boolean pageRequestsEnabled() {
        return pageRequestsEnabled;
    }

    /**
     * Registers the handler for this device's page requests; one at a time. Closing the
     * registration is refused with {@link BusyException} while a request it was given is still
     * unanswered. Requests that arrive while no handler is registered are answered as invalid.
     */
    public Registration onPageRequest(PageRequestHandler handler) {
        Objects.requireNonNull(handler, "handler");
        synchronized (pageRequests) {
            if (pageRequestHandler != null) {
                throw new BusyException("device " + name() + ": a page request handler is registered already (" + pageRequestHandler + ")");
            }
            pageRequestHandler = handler;
        }
        return new Registration() {
            private boolean closed;

            @Override
            public void close() {
                synchronized (pageRequests) {
                    if (closed) {
                        return;
                    }
                    if (!pendingRequests.isEmpty()) {
                        throw new BusyException("handler: " + pendingRequests.size() + " page request(s) of " + name()
                                + " are still unanswered: " + pendingRequests.values());
                    }
                    closed = true;
                    pageRequestHandler = null;
                }
            }
        };
    }

    /** The page request groups handed to the handler and not answered yet, oldest first. */
    public List<PendingPageRequest> pendingPageRequests() {
        synchronized (pageRequests) {
            return List.copyOf(pendingRequests.values());
        }
    }

    /** How long a transfer waits for a page response before giving up (default 10 s). */
    public void setPageResponseTimeout(java.time.Duration timeout) {
        if (timeout.isNegative() || timeout.isZero()) {
            throw IommuException.invalid("timeout", "must be positive, was " + timeout);
        }
        // beyond what a long of nanoseconds holds (292 years) is forever in practice
        pageResponseTimeoutNanos = timeout.compareTo(java.time.Duration.ofNanos(Long.MAX_VALUE)) >= 0 ? Long.MAX_VALUE : timeout.toNanos();
    }

    private static long groupKey(int pasid, int groupIndex) {
        return ((long) (pasid + 1) << 9) | groupIndex;
    }

    /** Called on the page request thread for each request the driver reported. */
    void pageRequestArrived(PageRequest request, long sequence) {
        long key = groupKey(request.pasid(), request.groupIndex());
        PendingPageRequest pending;
        PageRequestHandler handler;
        synchronized (pageRequests) {
            long drained = Math.max(drainedUpTo.getOrDefault(request.pasid(), -1L), drainedUpTo.getOrDefault(ALL_PASIDS, -1L));
            if (sequence <= drained) {
                partialGroups.remove(key);
                pending = null;
                handler = null;
            } else if (!request.last()) {
                partialGroups.computeIfAbsent(key, k -> new ArrayList<>()).add(request);
                return;
            } else {
                List<PageRequest> group = partialGroups.remove(key);
                group = group == null ? new ArrayList<>() : group;
                group.add(request);
                handler = pageRequestsEnabled ? pageRequestHandler : null;
                pending = new PendingPageRequest(this, group, request.hasPasid() ? svaByPasid.get(request.pasid()) : null);
                if (handler != null) {
                    PendingPageRequest clash = pendingRequests.put(key, pending);
                    if (clash != null) {
                        clash.answered = true;
                    }
                }
            }
        }
        if (handler == null) {
            if (request.last()) {
                sendResponse(request, PageResponseCode.INVALID_REQUEST);
            }
            return;
        }
        try {
            handler.onPageRequest(pending);
        } catch (RuntimeException | Error e) {
            // an Error escaping here would end the machine's page request thread and every later request with it
            LOG.log(System.Logger.Level.WARNING, "page request handler of " + name() + " threw; answering invalid request", e);
            pending.respond(PageResponseCode.INVALID_REQUEST);
        }
    }

    boolean respond(PendingPageRequest pending, PageResponseCode code) {
        synchronized (pageRequests) {
            if (pending.answered) {
                return false;
            }
            pending.answered = true;
            pendingRequests.remove(groupKey(pending.pasid(), pending.request().groupIndex()), pending);
        }
        sendResponse(pending.request(), code);
        return true;
    }

    private void sendResponse(PageRequest request, PageResponseCode code) {
        unit.respond(request, code);
    }

    /**
     * Drains the page requests at {@code pasid} ({@link Pasid#NONE}: those without PASID;
     * {@link #ALL_PASIDS}: all of the device's): the hardware's queue is
     * read up to now, and every request of that PASID still queued here or unanswered by the
     * handler is answered as invalid; a later answer from the handler matches nothing.
     */
    void drainPageRequests(int pasid) {
        boolean all = pasid == ALL_PASIDS;
        // the unit drains per PASID, or the whole device (which also covers requests without PASID)
        unit.driver.drainPageRequests(rid, all ? Pasid.NONE : pasid);
        List<PendingPageRequest> toAnswer = new ArrayList<>();
        synchronized (pageRequests) {
            drainedUpTo.put(pasid, unit.machine.pageRequestQueue().nextSequence() - 1);
            for (var it = pendingRequests.values().iterator(); it.hasNext(); ) {
                PendingPageRequest p = it.next();
                if (all || p.pasid() == pasid) {
                    p.answered = true;
                    toAnswer.add(p);
                    it.remove();
                }
            }
            partialGroups.keySet().removeIf(k -> all || (int) (k >>> 9) - 1 == pasid);
        }
        for (PendingPageRequest p : toAnswer) {
            sendResponse(p.request(), PageResponseCode.INVALID_REQUEST);
        }
        // those still queued for the page request thread are answered now, not once that thread gets to them
        for (PageRequest r : unit.queuedPageRequests) {
            if (r.requester().value() == ridValue && (all || r.pasid() == pasid)
                    && unit.queuedPageRequests.remove(r) && r.last()) {
                sendResponse(r, PageResponseCode.INVALID_REQUEST);
            }
        }
    }

    /** Called by the hardware (through the unit) when a page request group response reaches this device. */
    void pageResponseArrived(PageResponseMessage response) {
        var waiter = responseWaiters.remove(groupKey(response.pasid(), response.groupIndex()));
        if (waiter == null && response.pasid() == Pasid.NONE) {
            for (var e : responseWaiters.entrySet()) {
                if ((e.getKey() & 0x1FF) == response.groupIndex() && responseWaiters.remove(e.getKey(), e.getValue())) {
                    waiter = e.getValue();
                    break;
                }
            }
        }
        if (waiter != null) {
            waiter.complete(response.code());
        }
    }

    /**
     * ATS translation, then on no access a page request and a wait for its response, retried a
     * few times: what a device with ATS and PRI does for each page it touches.
     */
    private void translateWithPageRequests(DmaRequest request, TranslationOutcome out) {
        DmaPort port = unit.driver.dmaPort();
        for (int attempt = 0; ; attempt++) {
            port.translateAts(request, out);
            if (out.isTranslated() || attempt == PAGE_REQUEST_RETRIES || !recoverable(out.fault())) {
                return;
            }
            Fault noAccess = out.fault();
            PageResponseCode code = requestPage(port, request);
            if (code != PageResponseCode.SUCCESS) {
                out.faulted(new Fault(rid, request.pasid(), request.address(), request.access(), noAccess.reason(),
                        new RecordlessFault("pcie-prg-response", code.name(),
                                Map.of("responseCode", (long) code.ordinal())), noAccess.stage()));
                return;
            }
        }
    }

    private static boolean recoverable(Fault f) {
        return f.reason() == FaultReason.NOT_MAPPED || f.reason() == FaultReason.PERMISSION || f.reason() == FaultReason.ACCESS_FLAG;
    }

    private PageResponseCode requestPage(DmaPort port, DmaRequest request) {
        int group = -1;
        long key = 0;
        var waiter = new CompletableFuture<PageResponseCode>();
        for (int i = 0; i <= PageRequestMessage.MAX_GROUP_INDEX; i++) {
            int candidate = nextGroupIndex.getAndIncrement() & PageRequestMessage.MAX_GROUP_INDEX;
            key = groupKey(request.pasid(), candidate);
            if (responseWaiters.putIfAbsent(key, waiter) == null) {
                group = candidate;
                break;
            }
        }
        if (group < 0) {
            return PageResponseCode.RESPONSE_FAILURE;
        }
        try {
            port.pageRequest(new PageRequestMessage(ridValue, request.pasid(), request.address() & -4096L,
                    !request.isWrite(), request.isWrite(), request.execute(), request.privileged(), group, true));
            return waiter.get(pageResponseTimeoutNanos, TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            return PageResponseCode.RESPONSE_FAILURE;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return PageResponseCode.RESPONSE_FAILURE;
        } catch (ExecutionException e) {
            return PageResponseCode.RESPONSE_FAILURE;
        } finally {
            responseWaiters.remove(key, waiter);
        }
    }

    // ---------------------------------------------------------------- faults

    /** Registers {@code handler} for this device's faults; close the registration to remove it. */
    public Registration onFault(FaultHandler handler) {
        Objects.requireNonNull(handler, "handler");
        handlers.add(handler);
        return () -> handlers.remove(handler);
    }

    void dispatch(Fault fault) {
        for (FaultHandler h : handlers) {
            try {
                h.onFault(fault);
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "fault handler of " + name() + " threw", e);
            }
        }
    }

    @Override
    public String toString() {
        return name() + " on " + unit.name();
    }
}
