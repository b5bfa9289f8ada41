package dev.iommukit.backend.vtd.driver;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;

import dev.iommukit.backend.vtd.arch.CapabilityRegister;
import dev.iommukit.backend.vtd.arch.ExtendedCapabilityRegister;
import dev.iommukit.backend.vtd.arch.FaultReasonCode;
import dev.iommukit.backend.vtd.arch.FaultRecord;
import dev.iommukit.backend.vtd.arch.FaultStages;
import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.backend.vtd.arch.PasidDirectoryEntry;
import dev.iommukit.backend.vtd.arch.PasidTableEntry;
import dev.iommukit.backend.vtd.arch.RootEntry;
import dev.iommukit.backend.vtd.arch.ScalableContextEntry;
import dev.iommukit.spi.DeviceInfo;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.cap.PageSizes;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.Mmio;
import dev.iommukit.spi.nested.NestedConfig;
import dev.iommukit.spi.nested.NestedDomain;
import dev.iommukit.spi.pgtable.vtd.SecondLevelFormat;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The driver half of a VT-d unit in scalable mode. It reaches the hardware only through
 * {@link Mmio} and physical memory, the way the Linux intel-iommu driver does: root table and
 * RTADDR with TTM=01, SRTP, the invalidation queue (DW=1), global invalidation, TE; per device a
 * root-entry half, a scalable-mode context entry and a PASID directory with PASID tables made on
 * demand; after every entry change the invalidations of digest §11 Table 28 and an inv_wait whose
 * status word it polls. It drains the fault recording registers on the fault interrupt. For I/O
 * page faults it sets up the page request queue, sets DTE and PRE per device, reports page
 * requests on the page request interrupt, answers them with page group responses, drains them as
 * intel_svm_drain_prq does, and follows IOTLB invalidations of ATS devices with device-TLB ones.
 * Page request responses and drains may come from any thread; queue submission is serialised.
 */
public final class VtdDriver implements IommuUnit {
    /** The DID of the identity domain (Linux FLPT_DEFAULT_DID). */
    static final int IDENTITY_DID = 1;
    private static final int FIRST_PAGING_DID = 2;

    private final UnitContext context;
    private final Mmio mmio;
    private final DmaPort dmaPort;
    private final UnitOptions options;
    private final int hostAddressWidth;
    private final PhysicalMemory memory;
    private final PageAllocator allocator;
    private final CapabilityRegister cap;
    private final ExtendedCapabilityRegister ecap;
    private final CapabilitySet capabilities;
    private final Object faultLock = new Object();
    private final Map<Integer, DeviceState> devices = new TreeMap<>();
    private final Map<Integer, Long> contextTables = new HashMap<>();
    private final BitSet dids = new BitSet();
    private final FixedDomain blocked = FixedDomain.blocked();
    private final FixedDomain identity;
    private InvalidationQueue queue;
    private final DeviceTlbInvalidations deviceTlbs = new DeviceTlbInvalidations();
    private volatile PageRequestQueue pageRequestQueue;
    private volatile boolean open = true;
    private long rootTable;
    private boolean closed;

    /** Per probed device: its PASID width, directory and tables, and what is attached at each PASID. */
    private static final class DeviceState {
        final int rid;
        final int pasidBits;
        final int pdts;
        final long directory;
        final Map<Integer, Long> pasidTables = new TreeMap<>();
        final Map<Integer, DriverDomain> attached = new TreeMap<>();
        /** ATS and page requests enabled: SM context DTE=1 and PRE=1. */
        boolean pageRequests;

        DeviceState(int rid, int pasidBits, int pdts, long directory) {
            this.rid = rid;
            this.pasidBits = pasidBits;
            this.pdts = pdts;
            this.directory = directory;
        }
    }

    /**
     * @param hostAddressWidth the platform's host address width (the ACPI DMAR table's HAW)
     */
    public VtdDriver(UnitContext context, Mmio mmio, DmaPort dmaPort, UnitOptions options, int hostAddressWidth) {
        this.context = context;
        this.mmio = mmio;
        this.dmaPort = dmaPort;
        this.options = options;
        this.hostAddressWidth = hostAddressWidth;
        this.memory = context.memory();
        this.allocator = context.tableAllocator();
        this.cap = CapabilityRegister.decode(mmio.read64(CAP_REG));
        this.ecap = ExtendedCapabilityRegister.decode(mmio.read64(ECAP_REG));
        if (!ecap.smts() || !ecap.qi() || !ecap.pasid() || !ecap.pt()) {
            throw new IommuException(ErrorCode.NOT_SUPPORTED, "the unit lacks scalable mode, queued invalidation, PASID or pass-through");
        }
        int aw = SecondLevelFormat.awCode(options.addressWidth());
        if (!cap.supportsAw(aw)) {
            throw IommuException.invalid(UnitOptions.ADDRESS_WIDTH, options.addressWidth() + " is not in CAP.SAGAW");
        }
        if (options.firstLevel() && !ecap.flts()) {
            throw IommuException.invalid(UnitOptions.PAGING_LEVEL, "first level needs ECAP.FLTS");
        }
        this.identity = FixedDomain.identity(aw, IDENTITY_DID, ecap.smpwcs());
        CapabilitySet advertised = capabilities(options, outputBits(), Math.min(ecap.pasidBits(), Pasid.MAX_WIDTH));
        // SVA walks CPU tables whose A/D hardware sets: it needs first level and snooped A/D updates.
        advertised = ecap.flts() && ecap.smpwcs() ? advertised : advertised.without(Capability.SVA);
        // I/O page faults need ATS (ECAP.DT) and page requests (ECAP.PRS).
        advertised = ecap.dt() && ecap.prs() ? advertised : advertised.without(Capability.PAGE_REQUEST);
        this.capabilities = NestingCapabilities.add(advertised, cap, ecap, Math.min(ecap.pasidBits(), Pasid.MAX_WIDTH));
        dids.set(0, FIRST_PAGING_DID);
    }

    private int outputBits() {
        return Math.min(hostAddressWidth, cap.mgaw() + 1);
    }

    /** What a unit with {@code options} advertises. */
    public static CapabilitySet capabilities(UnitOptions options, int outputBits, int pasidBits) {
        String sl = "second level";
        String level = options.firstLevel() ? "first level" : sl;
        String pagingInput = options.firstLevel() ? "48" : Integer.toString(options.addressWidth());
        String sizes = PageSizes.format((1L << 12) | (1L << 21) | (1L << 30));
        return CapabilitySet.builder()
                .add(Capability.BLOCKED_DOMAIN)
                .add(Capability.IDENTITY_DOMAIN, "mechanism", "PASID entry pass-through", "atPasid", "true")
                .add(Capability.PAGING_DOMAIN, "pageSizes", sizes, "inputBits", pagingInput, "outputBits", Integer.toString(outputBits),
                        "level", level)
                .add(Capability.NESTING_PARENT_DOMAIN, "pageSizes", sizes, "inputBits", Integer.toString(options.addressWidth()),
                        "outputBits", Integer.toString(outputBits), "level", sl)
                .add(Capability.PASID_ATTACH, "pasidBits", Integer.toString(pasidBits))
                .add(Capability.AUX_DOMAIN, "level", options.firstLevel() ? "first" : "second", "pasidBits", Integer.toString(pasidBits))
                .add(Capability.SVA, "cpuFormat", SharedVirtualDomain.CPU_FORMAT, "addressBits",
                        Integer.toString(SharedVirtualDomain.ADDRESS_BITS), "pasidBits", Integer.toString(pasidBits))
                .add(Capability.PAGE_REQUEST, "queue", "prq", "queueEntries", Integer.toString(PageRequestQueue.ENTRIES))
                .build();
    }

    /**
     * Brings the unit up as Linux does: root table, RTADDR (TTM=01), SRTP, invalidation queue,
     * global context/PASID/IOTLB invalidation, fault event unmasked, then TE.
     */
    public synchronized void initialize() {
        rootTable = allocator.allocatePage(context.name() + " vtd root table");
        mmio.write64(RTADDR_REG, rootTable | (long) TTM_SCALABLE << RTADDR_TTM_SHIFT);
        Registers.command(mmio, GCMD_SRTP, true);
        Registers.pollStatus(mmio, GSTS_RTPS, true);
        queue = new InvalidationQueue(mmio, allocator);
        queue.enable();
        queue.trackDeviceTlbs(deviceTlbs);
        queue.submitAndWait(List.of(
                InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_GLOBAL, 0, 0, 0),
                InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_GLOBAL, 0, 0),
                InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, 0, 0, false)));
        if (capabilities.has(Capability.PAGE_REQUEST)) {
            pageRequestQueue = new PageRequestQueue(mmio, allocator, context.pageRequests(), context.name());
            pageRequestQueue.enable();
        }
        mmio.write32(FEDATA_REG, 0x4021);
        mmio.write32(FEADDR_REG, 0xFEE0_0000);
        mmio.write32(FEUADDR_REG, 0);
        mmio.write32(FECTL_REG, 0);
        Registers.command(mmio, GCMD_TE, true);
        Registers.pollStatus(mmio, GSTS_TES, true);
    }

    /**
     * The fault interrupt handler: reads every FRCD with F set, starting at FSTS.FRI, clears its F (RW1C)
     * and PFO, then reports each fault once through the unit's FaultReporter (outside any lock).
     */
    public void onFaultInterrupt() {
        List<FaultRecord> drained = new ArrayList<>();
        synchronized (faultLock) {
            int n = cap.faultRecordCount();
            for (int round = 0; round < 4; round++) {
                int fsts = mmio.read32(FSTS_REG);
                if ((fsts & (FSTS_PPF | FSTS_PFO)) == 0) {
                    break;
                }
                if ((fsts & FSTS_PPF) != 0) {
                    int first = (fsts & FSTS_FRI_MASK) >>> FSTS_FRI_SHIFT;
                    for (int k = 0; k < n; k++) {
                        int off = frcd(cap.fro(), (first + k) % n);
                        long hi = mmio.read64(off + 8);
                        if ((hi & FaultRecord.F) == 0) {
                            continue; // scan all of them: a record may land behind FRI while others drain
                        }
                        long lo = mmio.read64(off);
                        mmio.write32(off + 12, 1 << 31);
                        drained.add(new FaultRecord(lo, hi));
                    }
                }
                if ((fsts & FSTS_PFO) != 0) {
                    mmio.write32(FSTS_REG, FSTS_PFO);
                }
            }
        }
        for (FaultRecord r : drained) {
            context.faults().report(toFault(r));
        }
    }

    private Fault toFault(FaultRecord r) {
        FaultReasonCode code = FaultReasonCode.of(r.faultReason());
        FaultReason reason = code == null ? FaultReason.BAD_CONFIGURATION : code.reason();
        FaultStage stage = code == null ? FaultStage.NONE : FaultStages.of(code);
        if (stage == null) {
            stage = writeFaultStage(r);
        }
        return new Fault(RequesterId.of(r.sid()), r.pasidPresent() ? r.pasidValue() : Pasid.NONE, r.faultInfo(),
                r.isWrite() ? AccessType.WRITE : AccessType.READ, reason, r, stage);
    }

    /**
     * SGN.6 (write denied) belongs to the level that denied it: the second level for a
     * second-level domain, the first level for a first-level or SVA one, and for a nested PASID
     * whichever the guest's tables say (the driver walks them as software). Called without the
     * fault lock held.
     */
    private FaultStage writeFaultStage(FaultRecord r) {
        DriverDomain d;
        synchronized (this) {
            DeviceState dev = devices.get(r.sid());
            d = dev == null ? null : dev.attached.get(r.pasidPresent() ? r.pasidValue() : 0);
        }
        if (d instanceof PagingDomain p && !p.firstLevel()) {
            return FaultStage.STAGE_2;
        }
        if (d instanceof NestedFirstLevelDomain n) {
            return n.writeFaultStage(r.faultInfo(), r.priv());
        }
        return FaultStage.STAGE_1;
    }

    @Override
    public String name() {
        return context.name();
    }

    @Override
    public CapabilitySet capabilities() {
        return capabilities;
    }

    private void checkOpen() {
        if (closed) {
            throw new ClosedException("vtd unit " + context.name() + " is closed");
        }
    }

    @Override
    public synchronized DeviceInfo probeDevice(RequesterId rid, int pasidBits) {
        checkOpen();
        int sid = rid.value();
        if (devices.containsKey(sid)) {
            throw new ConflictException("device " + rid + " is already probed");
        }
        int bits = Math.max(0, Math.min(pasidBits, Math.min(ecap.pasidBits(), Pasid.MAX_WIDTH)));
        int pdts = ScalableContextEntry.pdtsFor(bits);
        int half = rid.devfn() < 0x80 ? 0 : 1;
        int key = rid.bus() << 1 | half;
        Long ctxTable = contextTables.get(key);
        long directory = allocator.allocate((long) PasidDirectoryEntry.SIZE << (pdts + 7), context.name() + " pasid directory " + rid);
        if (ctxTable == null) {
            ctxTable = allocator.allocatePage(context.name() + " context table bus " + rid.bus());
            contextTables.put(key, ctxTable);
            long rootSlot = RootEntry.address(rootTable, rid.bus()) + RootEntry.halfOffset(rid.devfn());
            memory.write64(rootSlot, ctxTable | 1);
        }
        DeviceState dev = new DeviceState(sid, bits, pdts, directory);
        ScalableContextEntry ce = new ScalableContextEntry(true, false, false, bits > 0, false, pdts, directory, 0, false);
        writeEntry(ScalableContextEntry.address(ctxTable, rid.devfn()), ce.encode());
        devices.put(sid, dev);
        queue.submitAndWait(List.of(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, sid, 0)));
        CapabilitySet caps = bits > 0
                ? CapabilitySet.builder().addAll(capabilities)
                        .add(Capability.PASID_ATTACH, "pasidBits", Integer.toString(bits))
                        .add(Capability.AUX_DOMAIN, "level", capabilities.parameter(Capability.AUX_DOMAIN, "level").orElseThrow(),
                                "pasidBits", Integer.toString(bits))
                        .build()
                : capabilities.without(Capability.PASID_ATTACH).without(Capability.AUX_DOMAIN).without(Capability.SVA);
        if (bits > 0 && capabilities.has(Capability.SVA)) {
            caps = CapabilitySet.builder().addAll(caps)
                    .add(Capability.SVA, "cpuFormat", SharedVirtualDomain.CPU_FORMAT, "addressBits",
                            Integer.toString(SharedVirtualDomain.ADDRESS_BITS), "pasidBits", Integer.toString(bits))
                    .build();
        }
        return new DeviceInfo(bits, NestingCapabilities.forDevice(caps, bits));
    }

    /** Writes a multi-qword entry with qword 0 (holding P) last. */
    private void writeEntry(long pa, long[] qwords) {
        for (int i = qwords.length - 1; i >= 0; i--) {
            memory.write64(pa + 8L * i, qwords[i]);
        }
    }

    private DeviceState device(RequesterId rid) {
        DeviceState dev = devices.get(rid.value());
        if (dev == null) {
            throw new NotFoundException("device " + rid + " was not probed on unit " + context.name());
        }
        return dev;
    }

    @Override
    public synchronized void releaseDevice(RequesterId rid) {
        checkOpen();
        DeviceState dev = device(rid);
        for (int pasid : new ArrayList<>(dev.attached.keySet())) {
            detach(dev, pasid);
        }
        int half = rid.devfn() < 0x80 ? 0 : 1;
        int key = rid.bus() << 1 | half;
        long ctxTable = contextTables.get(key);
        long slot = ScalableContextEntry.address(ctxTable, rid.devfn());
        for (int i = 0; i < 4; i++) {
            memory.write64(slot + 8L * i, 0);
        }
        devices.remove(dev.rid);
        deviceTlbs.released(dev.rid);
        // SM context entry change: cc device-selective (no DID is used under it any more), and the
        // device TLB of a device that had ATS enabled.
        List<long[]> release = new ArrayList<>();
        release.add(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, dev.rid, 0));
        if (dev.pageRequests) {
            long whole = InvalidationDescriptor.DEVICE_TLB_WHOLE_RANGE;
            release.add(InvalidationDescriptor.deviceTlb(dev.rid, dev.rid, 0, whole, true));
            release.add(InvalidationDescriptor.pasidDeviceTlb(dev.rid, dev.rid, 0, 0, true, whole, true));
        }
        queue.submitAndWait(release);
        for (long table : dev.pasidTables.values()) {
            allocator.free(table);
        }
        allocator.free(dev.directory);
        boolean halfInUse = devices.keySet().stream().anyMatch(s -> (s >>> 8) == rid.bus() && ((s & 0xFF) < 0x80 ? 0 : 1) == half);
        if (!halfInUse) {
            memory.write64(RootEntry.address(rootTable, rid.bus()) + RootEntry.halfOffset(rid.devfn()), 0);
            // SM root entry change: cc global, pc global, iotlb global.
            queue.submitAndWait(List.of(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_GLOBAL, 0, 0, 0),
                    InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_GLOBAL, 0, 0),
                    InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, 0, 0, false)));
            allocator.free(ctxTable);
            contextTables.remove(key);
        }
    }

    @Override
    public synchronized BackendDomain allocateDomain(DomainType type, DomainOptions options) {
        checkOpen();
        return switch (type) {
            case BLOCKED -> blocked;
            case IDENTITY -> identity;
            case SVA -> throw IommuException.invalid("type", "SVA domains are allocated with allocateSvaDomain()");
            case NESTED -> throw IommuException.invalid("type", "nested domains are allocated with allocateNestedDomain()");
            case PAGING -> {
                int did = allocateDid();
                boolean first = this.options.firstLevel() && !options.nestingParent();
                try {
                    yield new PagingDomain(first, this.options.addressWidth(), outputBits(), did, cap.mamv(), ecap.smpwcs(), allocator,
                            queue, () -> releaseDid(did));
                } catch (RuntimeException e) {
                    dids.clear(did);
                    throw e;
                }
            }
        };
    }

    private int allocateDid() {
        int did = dids.nextClearBit(FIRST_PAGING_DID);
        if (did >= cap.domainCount()) {
            throw new ResourceExhaustedException("domain ids: all " + cap.domainCount() + " DIDs of CAP.ND are in use");
        }
        dids.set(did);
        return did;
    }

    /**
     * A native SVA bind through {@code space} (digest §14) with its own DID: x86-64 4-level CPU
     * tables only, whose root must be a 4 KiB-aligned address the unit can reach.
     */
    @Override
    public synchronized SvaDomain allocateSvaDomain(CpuAddressSpace space) {
        checkOpen();
        if (space == null) {
            throw IommuException.invalid("space", "must not be null");
        }
        String rule = SharedVirtualDomain.unsupported(space);
        if (rule != null) {
            throw IommuException.invalid("space", rule);
        }
        long root = space.pageTableRoot();
        if ((root & 0xFFF) != 0 || root < 0 || (root >>> hostAddressWidth) != 0) {
            throw IommuException.invalid("space", String.format("pageTableRoot must be 4 KiB aligned and below 2^%d (FLPTPTR), was 0x%x",
                    hostAddressWidth, root));
        }
        if (!capabilities.has(Capability.SVA)) {
            throw new NotSupportedException("unit " + name() + ": SVA needs ECAP.FLTS and ECAP.SMPWCS");
        }
        int did = allocateDid();
        return new SharedVirtualDomain(space, did, outputBits(), cap.mamv(), memory, queue, this::quiesce, () -> releaseDid(did));
    }

    /**
     * A guest PASID bind's domain (digest §9, §14): {@code config} (a VT-d guest first level) on
     * {@code parent}, a second-level paging domain of this unit, whose DID it shares.
     */
    @Override
    public synchronized NestedDomain allocateNestedDomain(BackendDomain parent, NestedConfig config) {
        checkOpen();
        return NestedFirstLevelDomain.create(parent, config, name(), queue, memory, cap, ecap, this::deviceTlbEnabled);
    }

    /** Whether the SM context entry of {@code sid} has DTE set (ATS enabled), as this driver wrote it. */
    private synchronized boolean deviceTlbEnabled(int sid) {
        if (!devices.containsKey(sid)) {
            return false;
        }
        int bus = sid >>> 8;
        int devfn = sid & 0xFF;
        Long table = contextTables.get(bus << 1 | (devfn < 0x80 ? 0 : 1));
        return table != null && ScalableContextEntry.decode(memory.read64(ScalableContextEntry.address(table, devfn)), 0).dte();
    }

    /**
     * Process exit: every PASID entry bound to {@code domain} becomes P=0 with FPD=1 (qword 0
     * first, so no walker sees a half-cleared present entry), then pc_inv PASID-selective and
     * p_iotlb_inv PASID-selective for each (digest §11 Table 28, P 1 to 0) and inv_wait. The
     * PASIDs stay attached until the core detaches them.
     */
    private synchronized void quiesce(SharedVirtualDomain domain) {
        checkOpen();
        domain.markQuiesced();
        PasidTableEntry silent = domain.pasidEntry();
        int did = domain.did();
        List<long[]> descriptors = new ArrayList<>();
        for (DeviceState dev : devices.values()) {
            for (Map.Entry<Integer, DriverDomain> a : dev.attached.entrySet()) {
                if (a.getValue() != domain) {
                    continue;
                }
                int pasid = a.getKey();
                long slot = PasidTableEntry.address(dev.pasidTables.get(PasidDirectoryEntry.index(pasid)), pasid);
                long[] q = silent.encode();
                for (int i = 0; i < q.length; i++) {
                    memory.write64(slot + 8L * i, q[i]);
                }
                descriptors.add(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, did, pasid));
                descriptors.add(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, did, pasid, 0, 0, false));
            }
        }
        queue.submitAndWait(descriptors);
    }

    private synchronized void releaseDid(int did) {
        dids.clear(did);
    }

    @Override
    public synchronized void attach(RequesterId rid, int pasid, BackendDomain domain) {
        checkOpen();
        DeviceState dev = device(rid);
        if (!(domain instanceof DriverDomain d)) {
            throw IommuException.invalid("domain", "was not allocated by a vtd unit");
        }
        if (pasid == Pasid.NONE && d instanceof SharedVirtualDomain) {
            throw new NotSupportedException("attach: an SVA domain serves a PASID, not requests without PASID (RID_PASID)");
        }
        if (d instanceof NestedFirstLevelDomain n && (pasid == Pasid.NONE || !n.ownedBy(queue))) {
            throw IommuException.invalid("domain", pasid == Pasid.NONE ? "a guest first level (nested domain) is attached at a PASID"
                    + " (guest PASID bind), not for requests without PASID" : "the nested domain belongs to another unit");
        }
        int hwPasid = pasid == Pasid.NONE ? 0 : pasid;
        if (pasid != Pasid.NONE) {
            Pasid.check(pasid, dev.pasidBits);
        }
        if (dev.attached.containsKey(hwPasid)) {
            detach(dev, hwPasid);
        }
        if (d == blocked) {
            return;
        }
        PasidTableEntry entry = d.pasidEntry();
        int did = d.invalidationTags().did();
        long table = pasidTable(dev, hwPasid);
        writeEntry(PasidTableEntry.address(table, hwPasid), entry.encode());
        dev.attached.put(hwPasid, d);
        d.attached(dev.rid, hwPasid);
        deviceTlbs.attached(dev.rid, hwPasid, did);
        // New PASID entry: pc PASID-selective and p_iotlb PASID-selective (Linux pasid_flush_caches).
        queue.submitAndWait(List.of(
                InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, did, hwPasid),
                InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, did, hwPasid, 0, 0, false)));
    }

    /** The PASID table for {@code pasid}, allocated and published in the directory on first use. */
    private long pasidTable(DeviceState dev, int pasid) {
        int index = PasidDirectoryEntry.index(pasid);
        Long table = dev.pasidTables.get(index);
        if (table == null) {
            table = allocator.allocatePage(context.name() + " pasid table " + RequesterId.of(dev.rid) + " dir " + index);
            dev.pasidTables.put(index, table);
            memory.write64(PasidDirectoryEntry.address(dev.directory, pasid), new PasidDirectoryEntry(true, false, table).encode());
        }
        return table;
    }

    /** Clears the PASID entry and invalidates as Table 28 says for P 1 to 0. */
    private void detach(DeviceState dev, int pasid) {
        DriverDomain old = dev.attached.remove(pasid);
        if (old == null) {
            return;
        }
        long table = dev.pasidTables.get(PasidDirectoryEntry.index(pasid));
        long slot = PasidTableEntry.address(table, pasid);
        memory.write64(slot, 0);
        for (int i = 1; i < 8; i++) {
            memory.write64(slot + 8L * i, 0);
        }
        PasidTableEntry e = old.invalidationTags();
        long[] tlb = e.pgtt() == PasidTableEntry.PGTT_FIRST_LEVEL
                ? InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, e.did(), pasid, 0, 0, false)
                : InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, e.did(), 0, 0, false);
        queue.submitAndWait(List.of(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, e.did(), pasid), tlb));
        old.detached(dev.rid, pasid);
        deviceTlbs.detached(dev.rid, pasid);
        releaseEmptyPasidTable(dev, pasid);
    }

    /**
     * Gives back the PASID table that held {@code pasid} once none of its 64 entries is present:
     * the directory entry goes non-present first, then a global PASID-cache invalidation (Table 28
     * asks for PASID-selective ones per PASID of the table; one global one covers all 64) makes
     * sure no cached entry still points into the page before it returns to the allocator.
     */
    private void releaseEmptyPasidTable(DeviceState dev, int pasid) {
        int index = PasidDirectoryEntry.index(pasid);
        for (int live : dev.attached.keySet()) {
            if (PasidDirectoryEntry.index(live) == index) {
                return;
            }
        }
        Long table = dev.pasidTables.remove(index);
        if (table == null) {
            return;
        }
        memory.write64(PasidDirectoryEntry.address(dev.directory, pasid), 0);
        queue.submitAndWait(List.of(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_GLOBAL, 0, 0),
                InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, 0, 0, false)));
        allocator.free(table);
    }

    // ---------------------------------------------------------------- I/O page faults

    /** The page request interrupt handler: reads and reports every queued page request. */
    public void onPageRequestInterrupt() {
        PageRequestQueue q = pageRequestQueue;
        if (q != null) {
            q.consume();
        }
    }

    private long contextSlot(RequesterId rid) {
        long ctxTable = contextTables.get(rid.bus() << 1 | (rid.devfn() < 0x80 ? 0 : 1));
        return ScalableContextEntry.address(ctxTable, rid.devfn());
    }

    private void checkPageRequests() {
        if (pageRequestQueue == null) {
            throw new NotSupportedException("unit " + name() + ": page requests need ECAP.DT and ECAP.PRS");
        }
    }

    /**
     * Sets DTE and PRE in the device's SM context entry (read-modify-write of qword 0), then the
     * invalidations of digest §11 Table 28 for an SM context entry: cc device-selective, pc and
     * iotlb domain-selective for every DID used under it, and the device's whole device TLB.
     */
    @Override
    public synchronized void enablePageRequests(RequesterId rid) {
        checkOpen();
        checkPageRequests();
        DeviceState dev = device(rid);
        if (dev.pageRequests) {
            return;
        }
        setContextAts(rid, dev, true);
        dev.pageRequests = true;
        Map<Integer, Integer> served = new TreeMap<>();
        for (Map.Entry<Integer, DriverDomain> a : dev.attached.entrySet()) {
            served.put(a.getKey(), a.getValue().invalidationTags().did());
        }
        deviceTlbs.enable(dev.rid, served);
    }

    /** Clears PRE and DTE again, with the same invalidations; the core drained the device's page requests first. */
    @Override
    public synchronized void disablePageRequests(RequesterId rid) {
        checkOpen();
        checkPageRequests();
        DeviceState dev = device(rid);
        if (!dev.pageRequests) {
            return;
        }
        deviceTlbs.disable(dev.rid);
        setContextAts(rid, dev, false);
        dev.pageRequests = false;
    }

    private void setContextAts(RequesterId rid, DeviceState dev, boolean on) {
        long slot = contextSlot(rid);
        long qw0 = memory.read64(slot);
        long bits = ScalableContextEntry.DTE | ScalableContextEntry.PRE;
        memory.write64(slot, on ? qw0 | bits : qw0 & ~bits);
        List<long[]> descriptors = new ArrayList<>();
        descriptors.add(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, dev.rid, 0));
        Set<Integer> dids = new TreeSet<>();
        for (DriverDomain d : dev.attached.values()) {
            dids.add(d.invalidationTags().did());
        }
        for (int did : dids) {
            descriptors.add(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_DOMAIN, did, 0));
        }
        for (int did : dids) {
            descriptors.add(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did, 0, 0, false));
        }
        descriptors.add(InvalidationDescriptor.deviceTlb(dev.rid, dev.rid, 0, InvalidationDescriptor.DEVICE_TLB_WHOLE_RANGE, true));
        descriptors.add(InvalidationDescriptor.pasidDeviceTlb(dev.rid, dev.rid, 0, 0, true, InvalidationDescriptor.DEVICE_TLB_WHOLE_RANGE,
                true));
        queue.submitAndWait(descriptors);
    }

    /**
     * Drains the page requests of {@code rid} at {@code pasid} the way Linux intel_svm_drain_prq
     * does: the queue is consumed; then an inv_wait with FN=1, the IOTLB invalidation for the PASID
     * (p_iotlb PASID-selective; for all of the device's, iotlb domain-selective of its RID_PASID
     * DID) and the matching device-TLB invalidation (p_dev_tlb; dev_tlb and p_dev_tlb G=1), closed
     * by an inv_wait with PD=1 and SW=1; then the queue is consumed again, and the whole is
     * repeated while PRS.PRO says requests were dropped. Safe from any thread.
     */
    @Override
    public void drainPageRequests(RequesterId rid, int pasid) {
        PageRequestQueue q = pageRequestQueue;
        if (q == null || !open) {
            return;
        }
        q.consume();
        int sid = rid.value();
        if (!deviceTlbs.enabled(sid)) {
            return;
        }
        for (int attempt = 0; attempt < 4; attempt++) {
            List<long[]> descriptors = new ArrayList<>();
            descriptors.add(InvalidationDescriptor.invWait(false, false, true, 0, 0));
            long whole = InvalidationDescriptor.DEVICE_TLB_WHOLE_RANGE;
            if (pasid == Pasid.NONE) {
                int did = deviceTlbs.servingDid(sid, 0);
                if (did >= 0) {
                    descriptors.add(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did, 0, 0, false));
                }
                descriptors.add(InvalidationDescriptor.deviceTlb(sid, sid, 0, whole, true));
                descriptors.add(InvalidationDescriptor.pasidDeviceTlb(sid, sid, 0, 0, true, whole, true));
            } else {
                int did = deviceTlbs.servingDid(sid, pasid);
                if (did >= 0) {
                    descriptors.add(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, did, pasid, 0, 0, false));
                }
                descriptors.add(InvalidationDescriptor.pasidDeviceTlb(sid, sid, pasid, 0, false, whole, true));
            }
            queue.submitAndDrainPageRequests(descriptors);
            q.consume();
            if (!q.overflowed()) {
                return;
            }
        }
    }

    /**
     * Sends the page group response for {@code request} (type 9: RID, PP and PASID, PRGI, LPIG of
     * the request; RC 0 success, 1 invalid request, 0xF response failure) and waits for its
     * inv_wait. Safe from any thread.
     */
    @Override
    public void respondPageRequest(PageRequest request, PageResponseCode code) {
        checkPageRequests();
        if (!open) {
            throw new ClosedException("vtd unit " + context.name() + " is closed");
        }
        int rc = switch (code) {
            case SUCCESS -> InvalidationDescriptor.RC_SUCCESS;
            case INVALID_REQUEST -> InvalidationDescriptor.RC_INVALID_REQUEST;
            case RESPONSE_FAILURE -> InvalidationDescriptor.RC_RESPONSE_FAILURE;
        };
        queue.submitAndWait(List.<long[]>of(InvalidationDescriptor.pageGroupResponse(request.requester().value(), request.hasPasid(),
                request.hasPasid() ? request.pasid() : 0, rc, request.last(), request.groupIndex())));
    }

    /** Physical address of the page request queue, or -1 without one. */
    public long pageRequestQueueBase() {
        return pageRequestQueue == null ? -1 : pageRequestQueue.base();
    }

    @Override
    public DmaPort dmaPort() {
        return dmaPort;
    }

    @Override
    public Map<String, Long> registers() {
        return Registers.dump(mmio, cap.fro(), ecap.iro(), cap.faultRecordCount());
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        for (int sid : new ArrayList<>(devices.keySet())) {
            releaseDevice(RequesterId.of(sid));
        }
        if (pageRequestQueue != null) {
            pageRequestQueue.consume();
            pageRequestQueue.disable();
            pageRequestQueue.free();
        }
        open = false;
        Registers.command(mmio, GCMD_TE, false);
        Registers.pollStatus(mmio, GSTS_TES, false);
        queue.disable();
        queue.free();
        allocator.free(rootTable);
        closed = true;
    }

    /** Physical address of the root table (for dumps and tests). */
    public long rootTable() {
        return rootTable;
    }

    /** Physical address of the invalidation queue. */
    public long invalidationQueue() {
        return queue.base();
    }

    /** Unit options this driver runs with. */
    public UnitOptions options() {
        return options;
    }
}
