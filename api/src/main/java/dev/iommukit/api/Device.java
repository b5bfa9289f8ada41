package dev.iommukit.api;

import dev.iommukit.spi.DeviceInfo;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
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
import dev.iommukit.spi.memory.ExternalAbortException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;

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

    private void checkAttachableAtPasid(Domain domain) {
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
        if (pasid == Pasid.NONE) {
            domain = next;
        } else if (next == null) {
            pasidDomains.remove(pasid);
        } else {
            pasidDomains.put(pasid, next);
        }
    }

    void shutdown() {
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
            translate(new DmaRequest(ridValue, attributes.pasid(), a, chunk, access, attributes.execute(), attributes.privileged()), out);
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
