package dev.iommukit.conformance.reference;

import dev.iommukit.spi.DeviceInfo;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
import dev.iommukit.spi.iopf.PageResponseReceiver;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One reference unit: a context per device (a domain for untagged requests and one per PASID),
 * and a TLB of 4 KiB translations. TLB fills and invalidations take one lock, so a fill that read
 * a translation an unmap has removed is always withdrawn before the unmap returns.
 */
final class ReferenceUnit implements IommuUnit, DmaPort {
    /** What a device is attached to. */
    private static final class Context {
        final int pasidBits;
        volatile boolean pageRequests;
        volatile BackendDomain untagged;
        final Map<Integer, BackendDomain> tagged = new ConcurrentHashMap<>();

        Context(int pasidBits) {
            this.pasidBits = pasidBits;
        }
    }

    private record TlbKey(int rid, int pasid, long page) {}

    private record TlbEntry(long paPage, int permissions) {}

    private final UnitContext context;
    private final CapabilitySet capabilities;
    final Set<Flaw> flaws;
    private final long rootPage;
    private final Map<Integer, Context> devices = new ConcurrentHashMap<>();
    private final Map<TlbKey, TlbEntry> tlb = new ConcurrentHashMap<>();
    /** Fair, so that an invalidation is not starved by a stream of misses. */
    private final ReentrantLock tlbLock = new ReentrantLock(true);
    private volatile PageResponseReceiver responses;

    ReferenceUnit(UnitContext context, CapabilitySet capabilities, Set<Flaw> flaws) {
        if (!context.options().isEmpty()) {
            throw IommuException.invalid("options", "the reference backend takes no options, was " + context.options());
        }
        this.context = context;
        this.capabilities = capabilities;
        this.flaws = flaws;
        this.rootPage = context.tableAllocator().allocatePage(context.name() + " root");
    }

    UnitContext context() {
        return context;
    }

    @Override
    public String name() {
        return context.name();
    }

    @Override
    public CapabilitySet capabilities() {
        return capabilities;
    }

    @Override
    public DeviceInfo probeDevice(RequesterId rid, int pasidBits) {
        int honoured = capabilities.has(Capability.PASID_ATTACH) ? Math.min(pasidBits, ReferenceBackend.PASID_BITS) : 0;
        devices.put(rid.value(), new Context(honoured));
        CapabilitySet without = capabilities.without(Capability.PASID_ATTACH).without(Capability.AUX_DOMAIN).without(Capability.SVA);
        if (honoured == 0) {
            if (flaws.contains(Flaw.SVA_WITHOUT_PASIDS) && capabilities.has(Capability.SVA)) {
                return new DeviceInfo(0, CapabilitySet.builder().addAll(without).add(Capability.SVA, "cpuFormat",
                        ReferenceSvaDomain.CPU_FORMAT, "addressBits", Integer.toString(ReferenceSvaDomain.ADDRESS_BITS), "pasidBits", "0").build());
            }
            return new DeviceInfo(0, without);
        }
        String bits = Integer.toString(honoured);
        CapabilitySet.Builder b = CapabilitySet.builder().addAll(without).add(Capability.PASID_ATTACH, "pasidBits", bits);
        if (capabilities.has(Capability.AUX_DOMAIN)) {
            b.add(Capability.AUX_DOMAIN, "level", ReferenceBackend.AUX_LEVEL, "pasidBits", bits);
        }
        if (capabilities.has(Capability.SVA)) {
            b.add(Capability.SVA, "cpuFormat", ReferenceSvaDomain.CPU_FORMAT, "addressBits",
                    Integer.toString(ReferenceSvaDomain.ADDRESS_BITS), "pasidBits", bits);
        }
        return new DeviceInfo(honoured, b.build());
    }

    @Override
    public void releaseDevice(RequesterId rid) {
        devices.remove(rid.value());
        invalidateAll();
    }

    @Override
    public BackendDomain allocateDomain(DomainType type, DomainOptions options) {
        if (type == DomainType.IDENTITY && flaws.contains(Flaw.OVER_ADVERTISES)) {
            throw new NotSupportedException("identity domains are not implemented");
        }
        return new ReferenceDomain(this, type);
    }

    @Override
    public SvaDomain allocateSvaDomain(CpuAddressSpace space) {
        if (!capabilities.has(Capability.SVA) || !ReferenceSvaDomain.CPU_FORMAT.equals(space.cpuFormat())) {
            throw new NotSupportedException("space: the reference backend walks only " + ReferenceSvaDomain.CPU_FORMAT
                    + " tables for SVA, not " + space.cpuFormat());
        }
        return new ReferenceSvaDomain(this, space);
    }

    @Override
    public void attach(RequesterId rid, int pasid, BackendDomain domain) {
        Context c = devices.get(rid.value());
        if (c == null) {
            throw IommuException.invalid("rid", rid + " was not probed");
        }
        BackendDomain d = domain;
        if (pasid == Pasid.NONE) {
            c.untagged = d;
        } else if (d.info().type() == DomainType.BLOCKED) {
            if (!flaws.contains(Flaw.DETACHED_PASID_STAYS_LIVE)) {
                c.tagged.remove(pasid);
            }
        } else {
            if (flaws.contains(Flaw.OVER_ADVERTISES)) {
                throw new NotSupportedException("PASID attach is not implemented");
            }
            c.tagged.put(pasid, d);
        }
        invalidateAll();
    }

    /** Drops every TLB entry; returns once no later request can hit one. */
    void invalidateAll() {
        tlbLock.lock();
        try {
            tlb.clear();
        } finally {
            tlbLock.unlock();
        }
    }

    @Override
    public DmaPort dmaPort() {
        return this;
    }

    @Override
    public void translate(DmaRequest r, TranslationOutcome out) {
        translate(r, out, false);
    }

    @Override
    public void translateAts(DmaRequest r, TranslationOutcome out) {
        Context c = devices.get(r.rid());
        if (c != null && !c.pageRequests) {
            fault(r, out, FaultReason.BAD_CONFIGURATION, "ATS_DISABLED", 7);
            return;
        }
        translate(r, out, true);
    }

    /** {@code ats}: a missing translation or one lacking the access is answered without being reported. */
    private void translate(DmaRequest r, TranslationOutcome out, boolean ats) {
        try {
            Context c = devices.get(r.rid());
            if (c == null) {
                fault(r, out, FaultReason.UNKNOWN_REQUESTER, "UNKNOWN_RID", 1);
                return;
            }
            TlbKey key = new TlbKey(r.rid(), r.pasid(), r.address() >>> 12);
            TlbEntry e = tlb.get(key);
            if (e == null) {
                tlbLock.lock();
                try {
                    BackendDomain d = domainFor(c, r);
                    DomainType type = d == null ? DomainType.BLOCKED : d.info().type();
                    if (type == DomainType.BLOCKED) {
                        fault(r, out, FaultReason.BLOCKED, "BLOCKED", 2);
                        return;
                    }
                    if (type == DomainType.IDENTITY) {
                        out.translated(r.address());
                        return;
                    }
                    ReferenceDomain.Leaf leaf;
                    if (d instanceof ReferenceSvaDomain sva) {
                        if (sva.isQuiesced()) {
                            quietFault(r, out);
                            return;
                        }
                        leaf = sva.walk(r.address());
                    } else {
                        leaf = ((ReferenceDomain) d).lookup(r.address());
                    }
                    if (leaf == null) {
                        fault(r, out, FaultReason.NOT_MAPPED, "NOT_PRESENT", 3, ats);
                        return;
                    }
                    e = new TlbEntry(leaf.pa() + ((r.address() & ~0xFFFL) - leaf.iova()), leaf.permissions());
                    tlb.put(key, e);
                } finally {
                    tlbLock.unlock();
                }
            }
            int needed = r.isWrite() ? Permissions.WRITE : Permissions.READ;
            if ((e.permissions() & needed) == 0 || (r.execute() && (e.permissions() & Permissions.EXECUTE) == 0)) {
                fault(r, out, FaultReason.PERMISSION, "PERMISSION", 4, ats);
                return;
            }
            out.translated(e.paPage() | (r.address() & 0xFFF));
        } catch (RuntimeException ex) {
            fault(r, out, FaultReason.BAD_CONFIGURATION, "INTERNAL", 5);
        }
    }

    private BackendDomain domainFor(Context c, DmaRequest r) {
        if (!r.hasPasid()) {
            return c.untagged;
        }
        if (flaws.contains(Flaw.PASID_FALLS_BACK_TO_UNTAGGED)) {
            return c.tagged.getOrDefault(r.pasid(), c.untagged);
        }
        if (r.pasid() < 0 || r.pasid() >= (1 << c.pasidBits)) {
            return null;
        }
        BackendDomain tagged = c.tagged.get(r.pasid());
        if (tagged != null && c.untagged != null && flaws.contains(Flaw.PASID_IGNORED_WITH_RID_DOMAIN)) {
            return c.untagged;
        }
        return tagged;
    }

    /** The PASID of an exited process: the request faults, and nothing is reported. */
    private void quietFault(DmaRequest r, TranslationOutcome out) {
        if (flaws.contains(Flaw.SVA_EXIT_FAULTS_REPORTED)) {
            fault(r, out, FaultReason.BLOCKED, "EXITED", 6);
            return;
        }
        out.faulted(new Fault(RequesterId.of(r.rid()), r.pasid(), r.address(), r.access(), FaultReason.BLOCKED,
                new ReferenceFaultRecord("EXITED", 6, r.rid(), r.pasid(), r.address())));
    }

    private void fault(DmaRequest r, TranslationOutcome out, FaultReason reason, String name, int code) {
        fault(r, out, reason, name, code, false);
    }

    /** {@code quiet}: an ATS answer of no access, which is not a fault the unit records. */
    private void fault(DmaRequest r, TranslationOutcome out, FaultReason reason, String name, int code, boolean quiet) {
        Fault f = new Fault(RequesterId.of(r.rid()), r.pasid(), r.address(), r.access(), reason,
                new ReferenceFaultRecord(name, code, r.rid(), r.pasid(), r.address()));
        if (!quiet || flaws.contains(Flaw.ATS_NO_ACCESS_REPORTED)) {
            context.faults().report(f);
        }
        out.faulted(f);
    }

    // ------------------------------------------------------------------ page requests

    @Override
    public void enablePageRequests(RequesterId rid) {
        pageRequestContext(rid).pageRequests = true;
    }

    @Override
    public void disablePageRequests(RequesterId rid) {
        pageRequestContext(rid).pageRequests = false;
        invalidateAll();
    }

    private Context pageRequestContext(RequesterId rid) {
        if (!capabilities.has(Capability.PAGE_REQUEST)) {
            throw new NotSupportedException("page requests are not advertised by " + name());
        }
        Context c = devices.get(rid.value());
        if (c == null) {
            throw IommuException.invalid("rid", rid + " was not probed");
        }
        return c;
    }

    /** Page requests are reported as they arrive, so every one accepted before a drain has been reported already. */
    @Override
    public void drainPageRequests(RequesterId rid, int pasid) {
        pageRequestContext(rid);
    }

    @Override
    public void pageRequest(PageRequestMessage m) {
        Context c = devices.get(m.rid());
        if (c == null || !c.pageRequests) {
            if (m.last()) {
                respond(m.rid(), m.pasid(), m.groupIndex(), PageResponseCode.INVALID_REQUEST);
            }
            return;
        }
        context.pageRequests().report(new PageRequest(RequesterId.of(m.rid()), m.pasid(), m.pageAddress(), m.read(), m.write(),
                m.execute(), m.privileged(), m.groupIndex(), m.last(), ReferencePageRequestRecord.of(m)));
    }

    @Override
    public void connectPageResponses(PageResponseReceiver receiver) {
        this.responses = receiver;
    }

    @Override
    public void respondPageRequest(PageRequest request, PageResponseCode code) {
        respond(request.requester().value(), request.pasid(), request.groupIndex(), code);
    }

    private void respond(int rid, int pasid, int group, PageResponseCode code) {
        PageResponseReceiver r = responses;
        if (r != null) {
            r.receive(new PageResponseMessage(rid, pasid, group, code));
        }
    }

    @Override
    public Map<String, Long> registers() {
        return Map.of("ROOT", rootPage, "DEVICES", (long) devices.size());
    }

    @Override
    public void close() {
        invalidateAll();
        context.tableAllocator().free(rootPage);
    }
}
