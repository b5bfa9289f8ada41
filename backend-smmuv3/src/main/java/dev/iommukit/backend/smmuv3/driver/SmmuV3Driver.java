package dev.iommukit.backend.smmuv3.driver;

import static dev.iommukit.backend.smmuv3.arch.SmmuRegisters.*;

import dev.iommukit.backend.smmuv3.arch.AtsCommand;
import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.backend.smmuv3.arch.ControlRegisters;
import dev.iommukit.backend.smmuv3.arch.Idr0;
import dev.iommukit.backend.smmuv3.arch.Idr1;
import dev.iommukit.backend.smmuv3.arch.Idr3;
import dev.iommukit.backend.smmuv3.arch.Idr5;
import dev.iommukit.backend.smmuv3.arch.QueueRegisters;
import dev.iommukit.backend.smmuv3.arch.StreamTableEntry;
import dev.iommukit.backend.smmuv3.arch.StreamTableRegisters;
import dev.iommukit.spi.DeviceInfo;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import dev.iommukit.spi.fault.FaultReporter;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageRequestReporter;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.Mmio;
import dev.iommukit.spi.nested.NestedConfig;
import dev.iommukit.spi.nested.NestedDomain;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The driver half of an SMMUv3 unit. It reaches the SMMU only through registers and memory, as
 * Linux's arm-smmu-v3 does: initialises it (CR0=0, stream table and queues, CMDQEN, CFGI_ALL and
 * TLBI_NSNH_ALL with CMD_SYNC, EVENTQEN, IRQ_CTRL, SMMUEN, each acknowledged), keeps every unused
 * StreamID on an abort STE, writes STEs and CDs in a tear-free order followed by CFGI + CMD_SYNC,
 * invalidates the TLB on unmap, and drains the event queue on the interrupt.
 */
public final class SmmuV3Driver implements IommuUnit {
    private static final int SPIN_LIMIT = 1_000_000;
    private static final String OWNER = "smmuv3 queues";

    private final String name;
    private final Mmio mmio;
    private final PhysicalMemory memory;
    private final PageAllocator allocator;
    private final DmaPort port;
    private final DriverOptions options;
    private final CapabilitySet capabilities;
    private final StreamTable streamTable;
    private final CommandQueue cmdq;
    private final EventQueueReader events;
    /** The PRI queue reader, or null when the SMMU has no PRI (IDR0.PRI=0). */
    private final PriQueueReader priq;
    private final long cmdqBase;
    private final long eventqBase;
    private final long priqBase;
    /** Serialises page responses from the core's worker thread with close(). */
    private final Object responseLock = new Object();
    private final boolean rangeInvalidation;
    private final StaticDomain blocked = StaticDomain.blocked();
    private final StaticDomain identity = StaticDomain.identity();
    private final Map<Integer, Device> devices = new ConcurrentHashMap<>();
    private final Set<PagingDomain> domains = new LinkedHashSet<>();
    private final Set<CpuSvaDomain> svaDomains = new LinkedHashSet<>();
    private final Set<NestedCdTableDomain> nestedDomains = new LinkedHashSet<>();
    private final BitSet asids = new BitSet();
    private final BitSet vmids = new BitSet();
    private volatile boolean eventsReady;
    private volatile boolean priqReady;
    private volatile boolean closed;

    /** One probed device: its StreamID, PASID width, what is attached and its CD table. */
    private static final class Device {
        final int sid;
        final int pasidBits;
        volatile BackendDomain rid;
        /** ATS and page requests enabled: STE.EATS=0b01 (full ATS) and PPAR=1 in every translating STE. */
        volatile boolean ats;
        final Map<Integer, BackendDomain> pasids = new ConcurrentHashMap<>();
        ContextDescriptorTable cds;

        Device(int sid, int pasidBits, BackendDomain rid) {
            this.sid = sid;
            this.pasidBits = pasidBits;
            this.rid = rid;
        }
    }

    /**
     * Initialises the SMMU behind {@code mmio}. Structures come from {@code allocator}; faults
     * read from the event queue go to {@code faults}.
     */
    public SmmuV3Driver(String name, Mmio mmio, PageAllocator allocator, FaultReporter faults, DmaPort port, DriverOptions options) {
        this(name, mmio, allocator, faults, request -> { }, port, options);
    }

    /**
     * Initialises the SMMU behind {@code mmio}. Structures come from {@code allocator}; faults
     * read from the event queue go to {@code faults}, page requests read from the PRI queue (when
     * IDR0.PRI=1) to {@code pageRequests}.
     */
    public SmmuV3Driver(String name, Mmio mmio, PageAllocator allocator, FaultReporter faults, PageRequestReporter pageRequests,
                        DmaPort port, DriverOptions options) {
        this.name = name;
        this.mmio = mmio;
        this.allocator = allocator;
        this.memory = allocator.memory();
        this.port = port;
        this.options = options;
        long idr0Value = mmio.read32(IDR0) & 0xFFFF_FFFFL;
        boolean pri = Idr0.PRI.isSet(idr0Value) && Idr0.ATS.isSet(idr0Value);
        CapabilitySet caps = SmmuCapabilities.of(options.granule(), Idr0.CD2L.isSet(idr0Value),
                (int) Idr1.SSIDSIZE.get(mmio.read32(IDR1) & 0xFFFF_FFFFL));
        this.capabilities = pri ? caps : caps.without(Capability.PAGE_REQUEST);
        checkIdRegisters();
        this.rangeInvalidation = Idr3.RIL.isSet(mmio.read32(IDR3));

        writeCr0(0);
        mmio.write32(GBPA, (int) (ControlRegisters.GBPA_ABORT.of(1) | ControlRegisters.GBPA_UPDATE.of(1)));
        poll(() -> !ControlRegisters.GBPA_UPDATE.isSet(mmio.read32(GBPA) & 0xFFFF_FFFFL), "GBPA.UPDATE");
        long cacheAttrs = ControlRegisters.CR1_TABLE_SH.of(ControlRegisters.SH_ISH) | ControlRegisters.CR1_TABLE_OC.of(ControlRegisters.CACHE_WB)
                | ControlRegisters.CR1_TABLE_IC.of(ControlRegisters.CACHE_WB) | ControlRegisters.CR1_QUEUE_SH.of(ControlRegisters.SH_ISH)
                | ControlRegisters.CR1_QUEUE_OC.of(ControlRegisters.CACHE_WB) | ControlRegisters.CR1_QUEUE_IC.of(ControlRegisters.CACHE_WB);
        mmio.write32(CR1, (int) cacheAttrs);
        // REC_CFG_ATS (not set by Linux): configuration errors of ATS translation requests are recorded as for DMA
        mmio.write32(CR2, (int) (ControlRegisters.CR2_RECINVSID.of(1) | ControlRegisters.CR2_PTM.of(1)
                | ControlRegisters.CR2_REC_CFG_ATS.of(Idr0.ATSRECERR.isSet(idr0Value) ? 1 : 0)));

        this.cmdqBase = allocator.allocate((long) QueueRegisters.COMMAND_BYTES << CommandQueue.LOG2_ENTRIES, OWNER + " cmdq");
        long idr0 = mmio.read32(IDR0) & 0xFFFF_FFFFL;
        this.cmdq = new CommandQueue(mmio, memory, cmdqBase, Idr0.MSI.isSet(idr0) && Idr0.COHACC.isSet(idr0));
        this.eventqBase = allocator.allocate((long) QueueRegisters.EVENT_BYTES << EventQueueReader.LOG2_ENTRIES, OWNER + " eventq");
        this.events = new EventQueueReader(mmio, memory, eventqBase, faults, this::attachedAt);
        this.priqBase = pri ? allocator.allocate((long) QueueRegisters.PRI_BYTES << PriQueueReader.LOG2_ENTRIES, OWNER + " priq") : 0;
        this.priq = pri ? new PriQueueReader(mmio, memory, priqBase, pageRequests) : null;
        this.streamTable = new StreamTable(memory, allocator, cmdq, options.twoLevelStreamTable(), options.sidBits());

        mmio.write64(STRTAB_BASE, streamTable.base() | StreamTableRegisters.BASE_RA.of(1));
        mmio.write32(STRTAB_BASE_CFG, streamTable.baseCfg());
        mmio.write64(CMDQ_BASE, cmdqBase | QueueRegisters.BASE_RWA.of(1) | QueueRegisters.BASE_LOG2SIZE.of(CommandQueue.LOG2_ENTRIES));
        mmio.write32(CMDQ_PROD, 0);
        mmio.write32(CMDQ_CONS, 0);
        mmio.write64(EVENTQ_BASE, eventqBase | QueueRegisters.BASE_RWA.of(1) | QueueRegisters.BASE_LOG2SIZE.of(EventQueueReader.LOG2_ENTRIES));
        mmio.write32(EVENTQ_PROD, 0);
        mmio.write32(EVENTQ_CONS, 0);

        int cr0 = (int) ControlRegisters.CR0_CMDQEN.mask();
        writeCr0(cr0);
        cmdq.submitAndSync(Command.cfgiAll());
        cmdq.submitAndSync(Command.tlbiNsnhAll());
        cr0 |= (int) ControlRegisters.CR0_EVENTQEN.mask();
        writeCr0(cr0);
        eventsReady = true;
        if (priq != null) {
            mmio.write64(PRIQ_BASE, priqBase | QueueRegisters.BASE_RWA.of(1) | QueueRegisters.BASE_LOG2SIZE.of(PriQueueReader.LOG2_ENTRIES));
            mmio.write32(PRIQ_PROD, 0);
            mmio.write32(PRIQ_CONS, 0);
            cr0 |= (int) ControlRegisters.CR0_PRIQEN.mask();
            writeCr0(cr0);
            priqReady = true;
        }
        if (Idr0.ATS.isSet(idr0Value)) {
            cr0 |= (int) ControlRegisters.CR0_ATSCHK.mask();
            writeCr0(cr0);
        }
        int irq = (int) (ControlRegisters.IRQ_EVENTQ_IRQEN.mask() | ControlRegisters.IRQ_GERROR_IRQEN.mask()
                | (priq != null ? ControlRegisters.IRQ_PRIQ_IRQEN.mask() : 0));
        mmio.write32(IRQ_CTRL, irq);
        poll(() -> mmio.read32(IRQ_CTRLACK) == irq, "IRQ_CTRLACK");
        cr0 |= (int) ControlRegisters.CR0_SMMUEN.mask();
        writeCr0(cr0);
    }

    private void checkIdRegisters() {
        long idr0 = mmio.read32(IDR0) & 0xFFFF_FFFFL;
        long idr1 = mmio.read32(IDR1) & 0xFFFF_FFFFL;
        long idr5 = mmio.read32(IDR5) & 0xFFFF_FFFFL;
        if (!Idr0.S1P.isSet(idr0) || !Idr0.S2P.isSet(idr0)) {
            throw new NotSupportedException("smmuv3: the SMMU must implement stage 1 and stage 2 (IDR0.S1P/S2P)");
        }
        if ((Idr0.TTF.get(idr0) & Idr0.TTF_AARCH64) == 0) {
            throw new NotSupportedException("smmuv3: the SMMU must support AArch64 tables (IDR0.TTF)");
        }
        if (options.twoLevelStreamTable() && Idr0.ST_LEVEL.get(idr0) != Idr0.ST_LEVEL_2LVL) {
            throw new NotSupportedException("smmuv3: streamTable=2level needs IDR0.ST_LEVEL=1");
        }
        if (Idr1.SIDSIZE.get(idr1) < options.sidBits()) {
            throw IommuException.invalid("sidBits", "must be at most IDR1.SIDSIZE=" + Idr1.SIDSIZE.get(idr1) + ", was " + options.sidBits());
        }
        if (Idr1.TABLES_PRESET.isSet(idr1) || Idr1.QUEUES_PRESET.isSet(idr1) || Idr1.REL.isSet(idr1)) {
            throw new NotSupportedException("smmuv3: preset tables/queues and relative base addresses are not supported");
        }
        if (Idr5.addressBits((int) Idr5.OAS.get(idr5)) < PagingDomain.OUTPUT_BITS) {
            throw new NotSupportedException("smmuv3: IDR5.OAS is below 48 bits");
        }
        boolean granule = switch (options.granule()) {
            case G4K -> Idr5.GRAN4K.isSet(idr5);
            case G16K -> Idr5.GRAN16K.isSet(idr5);
            case G64K -> Idr5.GRAN64K.isSet(idr5);
        };
        if (!granule) {
            throw new NotSupportedException("granule: the SMMU does not support the " + options.granule().label() + " granule (IDR5)");
        }
    }

    private void writeCr0(int value) {
        mmio.write32(CR0, value);
        poll(() -> mmio.read32(CR0ACK) == value, "CR0ACK");
    }

    private static void poll(java.util.function.BooleanSupplier done, String what) {
        for (int i = 0; !done.getAsBoolean(); i++) {
            if (i > SPIN_LIMIT) {
                throw new IommuException(ErrorCode.INTERNAL, "smmuv3: " + what + " did not acknowledge");
            }
            Thread.onSpinWait();
        }
    }

    /** The event-queue interrupt handler: drains and reports every event. */
    public void onEventInterrupt() {
        if (eventsReady) {
            events.drain();
        }
    }

    /** The PRI queue interrupt handler: reads and reports every page request queued. */
    public void onPriqInterrupt() {
        if (priqReady) {
            priq.drain();
        }
    }

    /**
     * Enables ATS and page requests for {@code rid} in Linux's arm_smmu_enable_ats order: the STE
     * gets EATS=0b01 (full ATS) and PPAR=1 (the modelled function requires a PASID on PRG
     * responses to requests with one) through the tear-free STE update with CFGI_STE + CMD_SYNC,
     * then CMD_ATC_INV of the whole StreamID + CMD_SYNC before the endpoint may use ATS.
     */
    @Override
    public synchronized void enablePageRequests(RequesterId rid) {
        checkOpen();
        requirePri("enablePageRequests");
        Device d = device(rid);
        if (d.ats) {
            return;
        }
        d.ats = true;
        apply(d);
        cmdq.submitAndSync(AtsCommand.atcInvAll(d.sid, false, 0));
    }

    /**
     * Disables ATS and page requests for {@code rid} (Linux arm_smmu_disable_ats order): the
     * endpoint stopped using ATS, CMD_ATC_INV of the StreamID + CMD_SYNC, then the STE loses EATS.
     */
    @Override
    public synchronized void disablePageRequests(RequesterId rid) {
        checkOpen();
        requirePri("disablePageRequests");
        Device d = device(rid);
        if (!d.ats) {
            return;
        }
        cmdq.submitAndSync(AtsCommand.atcInvAll(d.sid, false, 0));
        d.ats = false;
        apply(d);
    }

    /**
     * Consumes the PRI queue up to PRIQ_PROD as read now, reporting every request in it (of every
     * device: the queue is shared), so that each request the SMMU accepted before the call has been
     * reported when it returns. Safe from any thread.
     */
    @Override
    public void drainPageRequests(RequesterId rid, int pasid) {
        requirePri("drainPageRequests");
        if (!closed && priqReady) {
            priq.drain();
        }
    }

    /**
     * CMD_PRI_RESP (SID, SSV and SSID from the request, PRGIndex, Resp: Success 2, InvalidRequest 1,
     * ResponseFailure 0) + CMD_SYNC. Safe from any thread; ignored once the unit is closed.
     */
    @Override
    public void respondPageRequest(PageRequest request, PageResponseCode code) {
        requirePri("respondPageRequest");
        int resp = switch (code) {
            case SUCCESS -> AtsCommand.RESP_SUCCESS;
            case INVALID_REQUEST -> AtsCommand.RESP_INVALID;
            case RESPONSE_FAILURE -> AtsCommand.RESP_FAILURE;
        };
        long[] command = AtsCommand.priResp(request.requester().value(), request.hasPasid(),
                request.hasPasid() ? request.pasid() : 0, request.groupIndex(), resp);
        synchronized (responseLock) {
            if (!closed) {
                cmdq.submitAndSync(command);
            }
        }
    }

    private void requirePri(String what) {
        if (priq == null) {
            throw new NotSupportedException(what + ": unit " + name + " has no PCIe page request interface (IDR0.PRI=0)");
        }
    }

    /**
     * CMD_ATC_INV for every ATS-enabled device that reaches {@code domain} (without PASID: SSV=0,
     * which also covers a stage 1 RID domain at CD 0; at a PASID: SSV=1), over
     * {@code [iova, iova + size)} ({@code size} 0: everything), then CMD_SYNC. Called after the TLB
     * invalidation of the range completed, as Linux's arm_smmu_atc_inv_domain is.
     */
    private void invalidateAtcs(BackendDomain domain, long iova, long size) {
        List<long[]> commands = new ArrayList<>();
        for (Device d : devices.values()) {
            if (!d.ats) {
                continue;
            }
            if (d.rid == domain) {
                commands.add(AtsCommand.atcInvRange(d.sid, false, 0, iova, size));
            } else if (d.rid instanceof NestedCdTableDomain n && n.stage2() == domain) {
                // a stage 2 change under a guest CD table: the ATC holds guest addresses of any substream
                commands.add(AtsCommand.atcInvAll(d.sid, false, 0));
            }
            for (Map.Entry<Integer, BackendDomain> e : d.pasids.entrySet()) {
                if (e.getValue() == domain) {
                    commands.add(AtsCommand.atcInvRange(d.sid, true, e.getKey(), iova, size));
                }
            }
        }
        if (!commands.isEmpty()) {
            cmdq.submitAndSync(commands.toArray(long[][]::new));
        }
    }

    /** After an attach changed what {@code d} reaches at {@code pasid}: the ATC of that context is flushed. */
    private void flushAtc(Device d, int pasid) {
        if (d.ats) {
            cmdq.submitAndSync(AtsCommand.atcInvAll(d.sid, pasid != Pasid.NONE, pasid == Pasid.NONE ? 0 : pasid));
        }
    }

    /** Whether ATS is enabled (STE.EATS) for StreamID {@code sid}. */
    private boolean atsEnabled(int sid) {
        Device d = devices.get(sid);
        return d != null && d.ats;
    }

    private boolean attachedAt(int sid, int ssid) {
        Device d = devices.get(sid);
        if (d == null) {
            return false;
        }
        if (d.rid instanceof NestedCdTableDomain n) {
            return n.guestCdValid(ssid);
        }
        return ssid == 0 ? d.rid instanceof PagingDomain : d.pasids.containsKey(ssid);
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public CapabilitySet capabilities() {
        return capabilities;
    }

    @Override
    public synchronized DeviceInfo probeDevice(RequesterId rid, int pasidBits) {
        checkOpen();
        int sid = rid.value();
        if (sid >>> options.sidBits() != 0) {
            throw IommuException.invalid("rid", rid + " is StreamID 0x" + Integer.toHexString(sid) + ", outside this unit's "
                    + options.sidBits() + "-bit StreamID space");
        }
        int bits = Math.max(0, Math.min(pasidBits, SmmuCapabilities.PASID_BITS));
        Device existing = devices.get(sid);
        if (existing == null) {
            streamTable.acquire(sid);
            streamTable.write(sid, StreamTable.abortSte());
            existing = new Device(sid, bits, blocked);
            devices.put(sid, existing);
        }
        return new DeviceInfo(existing.pasidBits, SmmuCapabilities.forDevice(capabilities, existing.pasidBits));
    }

    @Override
    public synchronized void releaseDevice(RequesterId rid) {
        checkOpen();
        Device d = device(rid);
        BackendDomain previous = d.rid;
        d.rid = blocked;
        d.pasids.clear();
        apply(d);
        ridChanged(d, previous);
        streamTable.release(d.sid);
        devices.remove(d.sid);
    }

    @Override
    public synchronized BackendDomain allocateDomain(DomainType type, DomainOptions options) {
        checkOpen();
        return switch (type) {
            case BLOCKED -> blocked;
            case IDENTITY -> identity;
            case PAGING -> paging(options != null && options.nestingParent());
            case SVA -> throw IommuException.invalid("type", "SVA domains are allocated with allocateSvaDomain()");
            case NESTED -> throw IommuException.invalid("type", "nested domains are allocated with allocateNestedDomain()");
        };
    }

    private PagingDomain paging(boolean stage2) {
        BitSet ids = stage2 ? vmids : asids;
        int id = ids.nextClearBit(1);
        if (id > 0xFFFF) {
            throw new ResourceExhaustedException((stage2 ? "VMIDs" : "ASIDs") + ": all 65535 are in use");
        }
        VmsaFormat format = stage2 ? VmsaFormat.stage2(options.granule(), PagingDomain.INPUT_BITS)
                : VmsaFormat.stage1(options.granule(), PagingDomain.INPUT_BITS);
        PagingDomain domain = new PagingDomain(stage2, id, format, allocator, cmdq, rangeInvalidation, released -> {
            synchronized (this) {
                ids.clear(released);
                domains.removeIf(PagingDomain::isFreed);
            }
        }, this::invalidateAtcs);
        ids.set(id);
        domains.add(domain);
        return domain;
    }

    /**
     * An SVA domain over {@code space} (AArch64, 48-bit VA only) with an ASID of its own; attached
     * at a PASID it installs the SVA CD of {@link CpuSvaDomain#liveCd}.
     */
    @Override
    public synchronized SvaDomain allocateSvaDomain(CpuAddressSpace space) {
        checkOpen();
        CpuSvaDomain.check(space);
        if (!Idr5.GRAN4K.isSet(mmio.read32(IDR5) & 0xFFFF_FFFFL)) {
            throw new NotSupportedException("allocateSvaDomain: the SMMU does not support the 4 KiB granule the CPU tables use (IDR5.GRAN4K)");
        }
        int id = asids.nextClearBit(1);
        if (id > 0xFFFF) {
            throw new ResourceExhaustedException("ASIDs: all 65535 are in use");
        }
        CpuSvaDomain domain = new CpuSvaDomain(id, space, memory, cmdq, this::rewriteCds, released -> {
            synchronized (this) {
                asids.clear(released);
                svaDomains.removeIf(CpuSvaDomain::isFreed);
            }
        }, this::invalidateAtcs);
        asids.set(id);
        svaDomains.add(domain);
        return domain;
    }

    /** Rewrites the CD of every PASID {@code domain} is attached at (quiesce). */
    private synchronized void rewriteCds(CpuSvaDomain domain) {
        for (Device d : devices.values()) {
            for (Map.Entry<Integer, BackendDomain> e : d.pasids.entrySet()) {
                if (e.getValue() == domain) {
                    d.cds.install(e.getKey(), domain.cd());
                }
            }
        }
    }

    @Override
    public synchronized void attach(RequesterId rid, int pasid, BackendDomain domain) {
        checkOpen();
        Device d = device(rid);
        if (pasid == Pasid.NONE) {
            if (domain instanceof CpuSvaDomain) {
                throw new NotSupportedException("attach: an SVA domain lives at a PASID; it cannot be attached to " + rid
                        + " for requests without PASID");
            }
            if (isStage2(domain) && !d.pasids.isEmpty()) {
                throw new NotSupportedException("attach: a stage 2 (nesting parent) domain cannot be attached to " + rid
                        + " while PASIDs are attached: the STE cannot be stage 2 and hold a CD table");
            }
            if (domain instanceof NestedDomain) {
                checkNested(domain, rid, d);
            }
            BackendDomain previous = d.rid;
            d.rid = domain;
            apply(d);
            ridChanged(d, previous);
            flushAtc(d, pasid);
            return;
        }
        if (domain instanceof NestedDomain) {
            throw IommuException.invalid("domain", "a nested domain (guest CD table) is attached to " + rid
                    + " without PASID; it cannot be attached at PASID " + pasid);
        }
        if (d.rid instanceof NestedCdTableDomain && domain.info().type() != DomainType.BLOCKED) {
            throw new dev.iommukit.spi.error.BusyException("pasid " + pasid + " of " + rid
                    + ": the device's substreams belong to the guest CD table attached to it");
        }
        if (domain.info().type() == DomainType.BLOCKED) {
            d.pasids.remove(pasid);
            if (d.cds != null) {
                d.cds.remove(pasid);
            }
            apply(d);
            flushAtc(d, pasid);
            return;
        }
        boolean sva = domain instanceof CpuSvaDomain;
        if (!sva && (!(domain instanceof PagingDomain p) || p.isStage2())) {
            throw new NotSupportedException("attach: only stage 1 paging and SVA domains can be attached at a PASID; this "
                    + domain.info().type() + " domain is not attachable at a PASID (" + domain.info().translation() + ")");
        }
        if (isStage2(d.rid)) {
            throw new NotSupportedException("attach: PASID " + pasid + " of " + rid
                    + " cannot take a domain while the device has a stage 2 domain without PASID");
        }
        if (pasid <= 0 || pasid >>> d.pasidBits != 0) {
            throw IommuException.invalid("pasid", "must be in 1.." + ((1 << d.pasidBits) - 1) + " for " + rid + ", was " + pasid);
        }
        ensureCdTable(d);
        d.cds.install(pasid, sva ? ((CpuSvaDomain) domain).cd() : cd((PagingDomain) domain));
        d.pasids.put(pasid, domain);
        apply(d);
        flushAtc(d, pasid);
    }

    /** A nested domain to attach without PASID must be this unit's, live, on a live parent, with no PASID attached. */
    private void checkNested(BackendDomain domain, RequesterId rid, Device d) {
        if (!(domain instanceof NestedCdTableDomain n) || !nestedDomains.contains(n)) {
            throw IommuException.invalid("domain", "the nested domain was not allocated by unit " + name);
        }
        if (n.isFreed() || n.stage2().isFreed()) {
            throw new ClosedException("domain " + n.info().translation() + " (or its parent) was freed");
        }
        if (!d.pasids.isEmpty()) {
            throw new dev.iommukit.spi.error.BusyException("device " + rid + " has domains attached at PASIDs " + d.pasids.keySet()
                    + "; a guest CD table takes every substream");
        }
    }

    /**
     * After the STE of {@code d} changed from {@code previous}: entering, leaving or changing a
     * nested configuration also removes the stage 1 (combined) entries of the VMIDs involved with
     * TLBI_NH_ALL + CMD_SYNC, so that no guest translation survives the change.
     */
    private void ridChanged(Device d, BackendDomain previous) {
        if (previous == d.rid) {
            return;
        }
        Set<Integer> vmids = new java.util.TreeSet<>();
        if (previous instanceof NestedCdTableDomain old) {
            old.detached(d.sid);
            vmids.add(old.vmid());
        }
        if (d.rid instanceof NestedCdTableDomain now) {
            now.attached(d.sid);
            vmids.add(now.vmid());
        }
        if (!vmids.isEmpty()) {
            cmdq.submitAndSync(vmids.stream().map(Command::tlbiNhAll).toArray(long[][]::new));
        }
    }

    /**
     * A nested domain: the guest CD table of {@code config} on {@code parent}, which must be a
     * stage 2 (nesting parent) paging domain of this unit. LINEAR tables always; 2-level ones only
     * with IDR0.CD2L; S1CDMax up to IDR1.SSIDSIZE.
     */
    @Override
    public synchronized NestedDomain allocateNestedDomain(BackendDomain parent, NestedConfig config) {
        checkOpen();
        if (!(parent instanceof PagingDomain p) || !domains.contains(p) || !p.isStage2() || p.isFreed()) {
            throw IommuException.invalid("parent", "must be a live stage 2 (nesting parent) paging domain of unit " + name + ", was "
                    + (parent == null ? "null" : parent.info().translation()));
        }
        if (!(config instanceof SmmuContextTableConfig cfg)) {
            throw new NotSupportedException("config: unit " + name + " nests only an SMMUv3 guest CD table ("
                    + SmmuContextTableConfig.STAGE1 + "), not " + (config == null ? "null" : config.stage1()));
        }
        long idr0 = mmio.read32(IDR0) & 0xFFFF_FFFFL;
        int ssidBits = (int) Idr1.SSIDSIZE.get(mmio.read32(IDR1) & 0xFFFF_FFFFL);
        if (cfg.format() != SmmuContextTableConfig.Format.LINEAR && !Idr0.CD2L.isSet(idr0)) {
            throw new NotSupportedException("format: " + cfg.format() + " needs 2-level CD tables (IDR0.CD2L=0 on unit " + name + ")");
        }
        if (cfg.cdMaxBits() > ssidBits) {
            throw IommuException.invalid("cdMaxBits", cfg.cdMaxBits() + " exceeds IDR1.SSIDSIZE=" + ssidBits + " of unit " + name);
        }
        if (cfg.contextTableAddress() >>> PagingDomain.INPUT_BITS != 0) {
            throw IommuException.invalid("contextTableAddress", "0x" + Long.toHexString(cfg.contextTableAddress())
                    + " is outside the parent's " + PagingDomain.INPUT_BITS + "-bit IPA space");
        }
        NestedCdTableDomain n = new NestedCdTableDomain(p, cfg, memory, cmdq, rangeInvalidation, this::atsEnabled, released -> {
            synchronized (this) {
                nestedDomains.remove(released);
            }
        });
        nestedDomains.add(n);
        return n;
    }

    private static boolean isStage2(BackendDomain domain) {
        return domain instanceof PagingDomain p && p.isStage2();
    }

    private static boolean isStage1(BackendDomain domain) {
        return domain instanceof PagingDomain p && !p.isStage2();
    }

    private void ensureCdTable(Device d) {
        if (d.cds == null) {
            d.cds = new ContextDescriptorTable(memory, allocator, cmdq, d.sid, d.pasidBits);
        }
    }

    private long[] cd(PagingDomain p) {
        VmsaFormat f = p.format();
        return ContextDescriptorTable.stage1Cd(p.tag(), p.root(), f.txsz(), f.granule().tg0(), VmsaFormat.MAIR);
    }

    /** Brings the device's STE (and CD 0) in line with what is attached. */
    private void apply(Device d) {
        boolean ridStage1 = isStage1(d.rid);
        boolean needCds = ridStage1 || !d.pasids.isEmpty();
        long[] target;
        ContextDescriptorTable retired = null;
        if (needCds) {
            if (ridStage1 && d.pasids.isEmpty() && d.cds != null && d.cds.holdsOther(0, cd((PagingDomain) d.rid))) {
                // hitless replacement of a live CD 0: a fresh table, then one STE dword (S1ContextPtr) switches
                retired = d.cds;
                d.cds = null;
            }
            ensureCdTable(d);
            if (ridStage1) {
                d.cds.install(0, cd((PagingDomain) d.rid));
            }
            int s1dss = ridStage1 ? StreamTableEntry.S1DSS_SSID0
                    : d.rid.info().type() == DomainType.IDENTITY ? StreamTableEntry.S1DSS_BYPASS : StreamTableEntry.S1DSS_TERMINATE;
            target = StreamTable.stage1Ste(d.cds.base(), d.cds.s1Fmt(), d.cds.cdMax(), s1dss);
        } else if (d.rid.info().type() == DomainType.IDENTITY) {
            target = StreamTable.bypassSte();
        } else if (d.rid instanceof NestedCdTableDomain n) {
            target = n.ste();
        } else if (d.rid instanceof PagingDomain p) {
            VmsaFormat f = p.format();
            target = StreamTable.stage2Ste(p.tag(), p.root(), f.txsz(), f.s2sl0(), f.granule().tg0(), Idr5.OAS_48);
        } else {
            target = StreamTable.abortSte();
        }
        streamTable.write(d.sid, d.ats ? withAts(target) : target);
        if (retired != null) {
            retired.free();
        }
        if (d.cds != null && !ridStage1) {
            d.cds.remove(0);
        }
        if (!needCds && d.cds != null) {
            d.cds.free();
            d.cds = null;
        }
    }

    /** A translating STE (Config 101/110/111) with EATS=0b01 and PPAR=1; abort and bypass STEs unchanged. */
    private static long[] withAts(long[] ste) {
        int config = (int) StreamTableEntry.CONFIG.get(ste[0]);
        if (config <= StreamTableEntry.CONFIG_BYPASS) {
            return ste;
        }
        long[] t = ste.clone();
        t[1] |= StreamTableEntry.EATS.of(StreamTableEntry.EATS_FULL) | StreamTableEntry.PPAR.of(1);
        return t;
    }

    private Device device(RequesterId rid) {
        Device d = devices.get(rid.value());
        if (d == null) {
            throw new NotFoundException("device " + rid + " was not probed on unit " + name);
        }
        return d;
    }

    @Override
    public DmaPort dmaPort() {
        return port;
    }

    @Override
    public Map<String, Long> registers() {
        Map<String, Long> r = new LinkedHashMap<>();
        r.put("IDR0", u32(IDR0));
        r.put("IDR1", u32(IDR1));
        r.put("IDR2", u32(IDR2));
        r.put("IDR3", u32(IDR3));
        r.put("IDR4", u32(IDR4));
        r.put("IDR5", u32(IDR5));
        r.put("IIDR", u32(IIDR));
        r.put("AIDR", u32(AIDR));
        r.put("CR0", u32(CR0));
        r.put("CR0ACK", u32(CR0ACK));
        r.put("CR1", u32(CR1));
        r.put("CR2", u32(CR2));
        r.put("STATUSR", u32(STATUSR));
        r.put("GBPA", u32(GBPA));
        r.put("IRQ_CTRL", u32(IRQ_CTRL));
        r.put("IRQ_CTRLACK", u32(IRQ_CTRLACK));
        r.put("GERROR", u32(GERROR));
        r.put("GERRORN", u32(GERRORN));
        r.put("GERROR_IRQ_CFG0", mmio.read64(GERROR_IRQ_CFG0));
        r.put("GERROR_IRQ_CFG1", u32(GERROR_IRQ_CFG1));
        r.put("GERROR_IRQ_CFG2", u32(GERROR_IRQ_CFG2));
        r.put("STRTAB_BASE", mmio.read64(STRTAB_BASE));
        r.put("STRTAB_BASE_CFG", u32(STRTAB_BASE_CFG));
        r.put("CMDQ_BASE", mmio.read64(CMDQ_BASE));
        r.put("CMDQ_PROD", u32(CMDQ_PROD));
        r.put("CMDQ_CONS", u32(CMDQ_CONS));
        r.put("EVENTQ_BASE", mmio.read64(EVENTQ_BASE));
        r.put("EVENTQ_IRQ_CFG0", mmio.read64(EVENTQ_IRQ_CFG0));
        r.put("EVENTQ_IRQ_CFG1", u32(EVENTQ_IRQ_CFG1));
        r.put("EVENTQ_IRQ_CFG2", u32(EVENTQ_IRQ_CFG2));
        if (priq != null) {
            r.put("PRIQ_BASE", mmio.read64(PRIQ_BASE));
            r.put("PRIQ_IRQ_CFG0", mmio.read64(PRIQ_IRQ_CFG0));
            r.put("PRIQ_IRQ_CFG1", u32(PRIQ_IRQ_CFG1));
            r.put("PRIQ_IRQ_CFG2", u32(PRIQ_IRQ_CFG2));
        }
        r.put("EVENTQ_PROD", u32(EVENTQ_PROD));
        r.put("EVENTQ_CONS", u32(EVENTQ_CONS));
        if (priq != null) {
            r.put("PRIQ_PROD", u32(PRIQ_PROD));
            r.put("PRIQ_CONS", u32(PRIQ_CONS));
        }
        return r;
    }

    private long u32(int offset) {
        return mmio.read32(offset) & 0xFFFF_FFFFL;
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        events.drain();
        eventsReady = false;
        priqReady = false;
        mmio.write32(IRQ_CTRL, 0);
        poll(() -> mmio.read32(IRQ_CTRLACK) == 0, "IRQ_CTRLACK");
        synchronized (responseLock) {
            writeCr0(0);
            closed = true;
        }
        for (Device d : devices.values()) {
            if (d.cds != null) {
                d.cds.free();
            }
        }
        devices.clear();
        for (PagingDomain p : List.copyOf(domains)) {
            p.discard();
        }
        domains.clear();
        for (CpuSvaDomain s : List.copyOf(svaDomains)) {
            s.discard();
        }
        svaDomains.clear();
        for (NestedCdTableDomain n : List.copyOf(nestedDomains)) {
            n.discard();
        }
        nestedDomains.clear();
        streamTable.free();
        allocator.free(cmdqBase);
        allocator.free(eventqBase);
        if (priq != null) {
            allocator.free(priqBase);
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new ClosedException("smmuv3 unit " + name + " is closed");
        }
    }
}
