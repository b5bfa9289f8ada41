package dev.iommukit.backend.smmuv3.hw;

import dev.iommukit.backend.smmuv3.arch.ContextDescriptor;
import dev.iommukit.backend.smmuv3.arch.ControlRegisters;
import dev.iommukit.backend.smmuv3.arch.EventRecord;
import dev.iommukit.backend.smmuv3.arch.EventType;
import dev.iommukit.backend.smmuv3.arch.L1ContextDescriptor;
import dev.iommukit.backend.smmuv3.arch.L1StreamTableDescriptor;
import dev.iommukit.backend.smmuv3.arch.StreamTableEntry;
import dev.iommukit.backend.smmuv3.arch.StreamTableRegisters;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.tlb.TlbEntry;
import java.util.List;
import java.util.concurrent.locks.ReadWriteLock;

/**
 * The translation path of the SMMU. A request whose STE, CD and TLB entry are all cached is served
 * without a lock or an allocation; anything else takes the read side of the walk lock (which
 * CMD_SYNC waits for), fetches and decodes STE/CD into the configuration cache, walks the tables
 * and fills the TLB, in the fault priority order of spec §6.2, and reports faults per §4.4 and §6.
 */
final class TranslationEngine implements DmaPort {
    private static final int IAS_BITS = 48;
    private static final int OAS_BITS = 48;

    private final RegisterFile regs;
    private final PhysicalMemory memory;
    private final ConfigCache configs;
    private final Iotlb tlb;
    private final TableWalker walker;
    private final EventQueueWriter events;
    private final ReadWriteLock walkLock;
    private final int sidBits;
    private final int ssidBits;

    TranslationEngine(RegisterFile regs, PhysicalMemory memory, ConfigCache configs, Iotlb tlb, EventQueueWriter events,
                      ReadWriteLock walkLock, int sidBits, int ssidBits) {
        this.regs = regs;
        this.memory = memory;
        this.configs = configs;
        this.tlb = tlb;
        this.walker = new TableWalker(memory);
        this.events = events;
        this.walkLock = walkLock;
        this.sidBits = sidBits;
        this.ssidBits = ssidBits;
    }

    /** A fault found on the slow path: what the device gets, and the event record if one is written. */
    private record Failure(Fault fault, long[] event, boolean recorded) {}

    @Override
    public void translate(DmaRequest request, TranslationOutcome out) {
        if (fastPath(request, out)) {
            return;
        }
        slowPath(request, out, ordinaryWalk);
    }

    /** How the slow path resolves a request: the ordinary walk, or the one for ATS translation requests. */
    @FunctionalInterface
    private interface Resolver {
        Failure resolve(DmaRequest request, TranslationOutcome out);
    }

    private final Resolver ordinaryWalk = this::resolve;
    private final Resolver atsWalk = this::resolveAts;

    /** Resolves under the walk lock, then records the event (if any) and fills {@code out} with the fault. */
    private void slowPath(DmaRequest request, TranslationOutcome out, Resolver resolver) {
        Failure failure;
        walkLock.readLock().lock();
        try {
            failure = resolver.resolve(request, out);
        } catch (RuntimeException e) {
            failure = internal(request, e);
        } finally {
            walkLock.readLock().unlock();
        }
        if (failure != null) {
            if (failure.recorded) {
                events.record(failure.event);
            }
            out.faulted(failure.fault);
        }
    }

    /**
     * A PCIe ATS translation request (spec 3.9.1.2): SMMUEN=0, STE Config bypass or an effective
     * EATS of 0b00 refuse it with F_BAD_ATS_TREQ (recorded); Config abort refuses it silently;
     * configuration errors abort it and are recorded only with CR2.REC_CFG_ATS=1 (C_BAD_STREAMID
     * also needs RECINVSID); an F_TRANSLATION, F_ADDR_SIZE, F_ACCESS or F_PERMISSION at either stage
     * answers "no access" without any event: the outcome is faulted with the reason and stage and
     * a record naming the event with no words. Otherwise the same walk as {@link #translate}.
     */
    @Override
    public void translateAts(DmaRequest request, TranslationOutcome out) {
        slowPath(request, out, atsWalk);
    }

    private Failure resolveAts(DmaRequest r, TranslationOutcome out) {
        if (!regs.smmuEnabled()) {
            return badAtsRequest(r);
        }
        boolean recordConfig = ControlRegisters.CR2_REC_CFG_ATS.isSet(regs.cr2);
        int sid = r.rid();
        if (sid >= 0 && (sid >>> streamLimitBits()) == 0) {
            StreamConfig sc = configs.get(sid);
            if (sc == null) {
                long epoch = configs.epoch();
                long[] ste = new long[StreamTableEntry.DWORDS];
                Failure f = fetchSte(r, sid, ste);
                if (f != null) {
                    return asAts(f, recordConfig);
                }
                sc = StreamConfig.decode(sid, ste, ssidBits);
                configs.fill(sc, epoch);
            }
            switch (sc.kind) {
                case ABORT -> {
                    return silent(r, "STE_ABORT");
                }
                case BYPASS -> {
                    return badAtsRequest(r);
                }
                case STAGE1, STAGE2, NESTED -> {
                    if (sc.eats != StreamTableEntry.EATS_FULL) {
                        return badAtsRequest(r);
                    }
                }
                default -> { }
            }
        }
        Failure f = resolve(r, out);
        return f == null ? null : asAts(f, recordConfig);
    }

    /** F_BAD_ATS_TREQ: dword 1 as for a transaction (PnU, InD, RnW) and InputAddr (R/W/Span positions unconfirmed). */
    private static Failure badAtsRequest(DmaRequest r) {
        long[] words = {
            EventRecord.dword0(EventType.F_BAD_ATS_TREQ, r.rid(), r.hasPasid(), r.pasid()),
            EventRecord.dword1(r.privileged(), r.execute() && !r.isWrite(), !r.isWrite(), false, 0),
            r.address(),
            0,
        };
        Fault fault = new Fault(requester(r), r.pasid(), r.address(), r.access(), EventType.F_BAD_ATS_TREQ.reason(),
                EventRecord.of(words));
        return new Failure(fault, words, true);
    }

    /** A failure of an ordinary translation as an ATS translation request sees it. */
    private static Failure asAts(Failure f, boolean recordConfig) {
        if (f.event == null) {
            return f;
        }
        EventType type = EventType.of((int) EventRecord.TYPE.get(f.event[0]));
        if (type == EventType.F_TRANSLATION || type == EventType.F_ADDR_SIZE || type == EventType.F_ACCESS
                || type == EventType.F_PERMISSION) {
            Fault x = f.fault;
            FaultStage stage = EventRecord.S2.isSet(f.event[1]) ? FaultStage.STAGE_2 : FaultStage.STAGE_1;
            return new Failure(new Fault(x.requester(), x.pasid(), x.address(), x.access(), x.reason(),
                    new EventRecord(type.name(), type.code(), List.of()), stage), null, false);
        }
        return new Failure(f.fault, f.event, f.recorded && recordConfig);
    }

    /**
     * Looks up STE.PPAR for an automatic PRG response to a page request discarded on PRI queue
     * overflow (spec 8.1): 1 or 0, or -1 when the STE is inaccessible or invalid (SMMUEN=0, StreamID
     * out of range, fetch abort, V=0 or ILLEGAL), recording C_BAD_STREAMID (with RECINVSID),
     * F_STE_FETCH or C_BAD_STE when CR2.REC_CFG_ATS=1.
     */
    int responsePasidRequired(PageRequestMessage m) {
        DmaRequest r = DmaRequest.of(m.rid(), m.pasid(), m.pageAddress(), 1, m.write() ? AccessType.WRITE : AccessType.READ);
        Failure failure = null;
        int ppar = -1;
        walkLock.readLock().lock();
        try {
            if (regs.smmuEnabled()) {
                boolean recordConfig = ControlRegisters.CR2_REC_CFG_ATS.isSet(regs.cr2);
                int sid = r.rid();
                if (sid < 0 || (sid >>> streamLimitBits()) != 0) {
                    failure = event(r, EventType.C_BAD_STREAMID, recordConfig && ControlRegisters.CR2_RECINVSID.isSet(regs.cr2),
                            0, 0, true);
                } else {
                    StreamConfig sc = configs.get(sid);
                    if (sc == null) {
                        long epoch = configs.epoch();
                        long[] ste = new long[StreamTableEntry.DWORDS];
                        failure = fetchSte(r, sid, ste);
                        if (failure != null) {
                            failure = new Failure(failure.fault, failure.event, failure.recorded && recordConfig);
                        } else {
                            sc = StreamConfig.decode(sid, ste, ssidBits);
                            configs.fill(sc, epoch);
                        }
                    }
                    if (sc != null && (sc.kind == StreamConfig.Kind.INVALID || sc.kind == StreamConfig.Kind.ILLEGAL)) {
                        failure = event(r, EventType.C_BAD_STE, recordConfig, 0, 0, true);
                    } else if (sc != null) {
                        ppar = sc.ppar ? 1 : 0;
                    }
                }
            }
        } catch (RuntimeException e) {
            failure = null;
            ppar = -1;
        } finally {
            walkLock.readLock().unlock();
        }
        if (failure != null && failure.recorded) {
            events.record(failure.event);
        }
        return ppar;
    }

    private int streamLimitBits() {
        return Math.min((int) StreamTableRegisters.CFG_LOG2SIZE.get(regs.strtabBaseCfg), sidBits);
    }

    private boolean fastPath(DmaRequest r, TranslationOutcome out) {
        if (!regs.smmuEnabled()) {
            return false;
        }
        int sid = r.rid();
        if (sid < 0 || (sid >>> streamLimitBits()) != 0) {
            return false;
        }
        StreamConfig sc = configs.get(sid);
        if (sc == null) {
            return false;
        }
        long addr = r.address();
        boolean write = r.isWrite();
        boolean instruction = r.execute() && !write;
        switch (sc.kind) {
            case BYPASS -> {
                if ((addr >>> OAS_BITS) != 0 || r.hasPasid()) {
                    return false;
                }
                out.translated(addr);
                return true;
            }
            case STAGE1, NESTED -> {
                boolean nested = sc.kind == StreamConfig.Kind.NESTED;
                ContextConfig cd;
                if (r.hasPasid()) {
                    int ssid = r.pasid();
                    if (sc.cdMax == 0 || (ssid >>> sc.cdMax) != 0 || (ssid == 0 && sc.s1dss == StreamTableEntry.S1DSS_SSID0)) {
                        return false;
                    }
                    cd = sc.cd(ssid);
                } else if (sc.cdMax == 0 || sc.s1dss == StreamTableEntry.S1DSS_SSID0) {
                    cd = sc.cd(0);
                } else if (sc.s1dss == StreamTableEntry.S1DSS_BYPASS && (addr >>> OAS_BITS) == 0) {
                    if (nested) {
                        return stage2Hit(sc, r, out);
                    }
                    out.translated(addr);
                    return true;
                } else {
                    return false;
                }
                if (cd == null || !cd.legal) {
                    return false;
                }
                ContextConfig.TtRegion region = region(cd, addr);
                if (region == null || region.disabled()) {
                    return false;
                }
                long va = lookupAddress(region, addr);
                TlbEntry e = tlb.lookupS1(sc.vmid, cd.asid, cd.aset, va, nested ? Iotlb.ALL_SHIFTS : Iotlb.shifts(region.granule()));
                if (e == null || !TableWalker.allows(e.attributes(), write, instruction, r.privileged(), cd.pan, cd.wxn)) {
                    return false;
                }
                out.translated(e.translate(va));
                return true;
            }
            case STAGE2 -> {
                return !r.hasPasid() && stage2Hit(sc, r, out);
            }
            default -> {
                return false;
            }
        }
    }

    private boolean stage2Hit(StreamConfig sc, DmaRequest r, TranslationOutcome out) {
        long addr = r.address();
        if ((addr >>> sc.s2.inputBits()) != 0) {
            return false;
        }
        TlbEntry e = tlb.lookupS2(sc.vmid, addr);
        boolean write = r.isWrite();
        if (e == null || !TableWalker.stage2Allows(e.attributes(), write, r.execute() && !write)) {
            return false;
        }
        out.translated(e.translate(addr));
        return true;
    }

    /** The VA range (TTB0 when VA[55]=0, else TTB1) the address falls in, or null when the top bits disagree. */
    private static ContextConfig.TtRegion region(ContextConfig cd, long addr) {
        boolean upper = ((addr >>> 55) & 1) != 0;
        ContextConfig.TtRegion region = upper ? cd.ttb1 : cd.ttb0;
        if (region.disabled()) {
            return region;
        }
        int topBit = region.tbi() ? 56 : 64;
        long top = topBit == 64 ? addr >> region.inputBits() : (addr << 8) >> (8 + region.inputBits());
        return top == (upper ? -1L : 0L) ? region : null;
    }

    /** The address the TLB is looked up with: the top byte made canonical when it is ignored. */
    private static long lookupAddress(ContextConfig.TtRegion region, long addr) {
        return region.tbi() ? (addr << 8) >> 8 : addr;
    }

    private Failure resolve(DmaRequest r, TranslationOutcome out) {
        long addr = r.address();
        if (!regs.smmuEnabled()) {
            if (ControlRegisters.GBPA_ABORT.isSet(regs.gbpa)) {
                return silent(r, "GBPA_ABORT");
            }
            out.translated(addr);
            return null;
        }
        int sid = r.rid();
        if (sid < 0 || (sid >>> streamLimitBits()) != 0) {
            return event(r, EventType.C_BAD_STREAMID, ControlRegisters.CR2_RECINVSID.isSet(regs.cr2), 0, 0, true);
        }
        StreamConfig sc = configs.get(sid);
        if (sc == null) {
            long epoch = configs.epoch();
            long[] ste = new long[StreamTableEntry.DWORDS];
            Failure f = fetchSte(r, sid, ste);
            if (f != null) {
                return f;
            }
            sc = StreamConfig.decode(sid, ste, ssidBits);
            configs.fill(sc, epoch);
        }
        return switch (sc.kind) {
            case INVALID, ILLEGAL -> event(r, EventType.C_BAD_STE, true, 0, 0, true);
            case ABORT -> silent(r, "STE_ABORT");
            case BYPASS -> r.hasPasid() ? event(r, EventType.C_BAD_SUBSTREAMID, true, 0, 0, true) : bypass(r, out, true);
            case STAGE1, NESTED -> stage1(sc, r, out);
            case STAGE2 -> r.hasPasid() ? event(r, EventType.C_BAD_SUBSTREAMID, true, 0, 0, true) : stage2(sc, r, out);
        };
    }

    private Failure bypass(DmaRequest r, TranslationOutcome out, boolean record) {
        if ((r.address() >>> OAS_BITS) != 0) {
            return event(r, EventType.F_ADDR_SIZE, record, dword1(r, false, EventRecord.CLASS_IN), 0, true);
        }
        out.translated(r.address());
        return null;
    }

    private Failure fetchSte(DmaRequest r, int sid, long[] ste) {
        int cfg = regs.strtabBaseCfg;
        long base = StreamTableRegisters.address(regs.strtabBase);
        int log2size = (int) StreamTableRegisters.CFG_LOG2SIZE.get(cfg);
        long steAddr;
        if (StreamTableRegisters.CFG_FMT.get(cfg) == StreamTableRegisters.FMT_2LEVEL) {
            int split = (int) StreamTableRegisters.CFG_SPLIT.get(cfg);
            if (split != 6 && split != 8 && split != 10) {
                split = 6;
            }
            base &= -(1L << (Math.max(5, log2size - split + 2) + 1)); // ADDR[MAX(5, LOG2SIZE-SPLIT+2):0] taken as 0
            long l1Addr = base + 8L * (sid >>> split);
            long l1;
            try {
                l1 = memory.read64(l1Addr);
            } catch (ExternalAbortException e) {
                return event(r, EventType.F_STE_FETCH, true, 0, EventRecord.fetchDword(l1Addr), true);
            }
            int span = (int) L1StreamTableDescriptor.SPAN.get(l1);
            int low = sid & ((1 << split) - 1);
            if (span == 0 || span > 11 || span > split + 1 || low >= 1 << (span - 1)) {
                return event(r, EventType.C_BAD_STREAMID, ControlRegisters.CR2_RECINVSID.isSet(regs.cr2), 0, 0, true);
            }
            steAddr = L1StreamTableDescriptor.l2Pointer(l1) + (long) StreamTableEntry.BYTES * low;
        } else {
            base &= -(1L << Math.min(log2size + 6, 52)); // ADDR[LOG2SIZE+5:0] taken as 0
            steAddr = base + (long) StreamTableEntry.BYTES * sid;
        }
        try {
            for (int i = 0; i < StreamTableEntry.DWORDS; i++) {
                ste[i] = memory.read64(steAddr + 8L * i);
            }
        } catch (ExternalAbortException e) {
            return event(r, EventType.F_STE_FETCH, true, 0, EventRecord.fetchDword(steAddr), true);
        }
        return null;
    }

    private Failure stage1(StreamConfig sc, DmaRequest r, TranslationOutcome out) {
        boolean nested = sc.kind == StreamConfig.Kind.NESTED;
        int index;
        if (r.hasPasid()) {
            int ssid = r.pasid();
            if (sc.cdMax == 0 || (ssid >>> sc.cdMax) != 0) {
                return event(r, EventType.C_BAD_SUBSTREAMID, true, 0, 0, true);
            }
            if (ssid == 0 && sc.s1dss == StreamTableEntry.S1DSS_SSID0) {
                return event(r, EventType.F_STREAM_DISABLED, true, 0, 0, true);
            }
            index = ssid;
        } else if (sc.cdMax == 0) {
            index = 0;
        } else if (sc.s1dss == StreamTableEntry.S1DSS_TERMINATE) {
            return event(r, EventType.F_STREAM_DISABLED, true, 0, 0, true);
        } else if (sc.s1dss == StreamTableEntry.S1DSS_BYPASS) {
            return nested ? stage2(sc, r, out) : bypass(r, out, true);
        } else {
            index = 0;
        }
        ContextConfig cd = sc.cd(index);
        if (cd == null) {
            long epoch = sc.cdEpoch();
            long[] words = new long[ContextDescriptor.DWORDS];
            Failure f = fetchCd(sc, r, index, words);
            if (f != null) {
                return f;
            }
            cd = ContextConfig.decode(index, words);
            sc.fillCd(cd, epoch);
        }
        if (!cd.legal) {
            return event(r, EventType.C_BAD_CD, true, 0, 0, cd.valid);
        }
        boolean write = r.isWrite();
        boolean instruction = r.execute() && !write;
        ContextConfig.TtRegion region = region(cd, r.address());
        if (region == null || region.disabled()) {
            return event(r, EventType.F_TRANSLATION, cd.record, dword1(r, false, EventRecord.CLASS_IN), 0, true);
        }
        long va = lookupAddress(region, r.address());
        TlbEntry e = tlb.lookupS1(sc.vmid, cd.asid, cd.aset, va, nested ? Iotlb.ALL_SHIFTS : Iotlb.shifts(region.granule()));
        if (e == null) {
            long epoch = tlb.cache.epoch();
            Failure[] s2Fault = new Failure[1];
            TableWalker.Result w;
            if (nested) {
                long[] pa = new long[3];
                w = walker.walk(true, region.ttb(), region.granule(), region.inputBits(), region.startLevel(), cd.oaBits, cd.affd, va,
                        ipa -> {
                            Failure f = stage2Step(sc, r, ipa, EventRecord.CLASS_TT, false, false, pa);
                            s2Fault[0] = f;
                            return f == null ? pa[0] : -1;
                        });
            } else {
                w = walker.walk(true, region.ttb(), region.granule(), region.inputBits(), region.startLevel(), cd.oaBits, cd.affd, va);
            }
            if (w.stage2Failed) {
                return s2Fault[0];
            }
            if (w.fault == EventType.F_WALK_EABT) {
                return event(r, w.fault, true, dword1(r, false, EventRecord.CLASS_TT),
                        EventRecord.fetchDword(w.fetchAddress), true);
            }
            if (w.fault != null) {
                return event(r, w.fault, cd.record, dword1(r, false, EventRecord.CLASS_IN), 0, true);
            }
            long tag = w.global ? Iotlb.s1GlobalTag(sc.vmid, cd.aset) : Iotlb.s1Tag(sc.vmid, cd.asid, cd.aset);
            if (!TableWalker.stage1Allows(w.attributes, write, instruction, r.privileged(), cd.pan, cd.wxn)) {
                return event(r, EventType.F_PERMISSION, cd.record, dword1(r, false, EventRecord.CLASS_IN), 0, true);
            }
            if (nested) {
                long ipa = w.outputBase | (va & ((1L << w.pageShift) - 1));
                long[] s2 = new long[3];
                Failure f = stage2Step(sc, r, ipa, EventRecord.CLASS_IN, write, instruction, s2);
                if (f != null) {
                    return f;
                }
                int shift = Math.min(w.pageShift, (int) s2[1]);
                long attrs = w.attributes | s2[2] << 8 | TableWalker.ATTR_NESTED | (long) w.pageShift << TableWalker.ATTR_S1_SHIFT_LSB;
                e = new TlbEntry(tag, va & -(1L << shift), shift, s2[0] & -(1L << shift), s1Permissions(w.attributes), attrs);
            } else {
                e = new TlbEntry(tag, va & -(1L << w.pageShift), w.pageShift, w.outputBase, s1Permissions(w.attributes), w.attributes);
            }
            tlb.cache.fill(e, epoch);
        }
        if (!TableWalker.stage1Allows(e.attributes(), write, instruction, r.privileged(), cd.pan, cd.wxn)) {
            return event(r, EventType.F_PERMISSION, cd.record, dword1(r, false, EventRecord.CLASS_IN), 0, true);
        }
        if (!TableWalker.allows(e.attributes(), write, instruction, r.privileged(), cd.pan, cd.wxn)) {
            // a combined entry whose stage 2 part forbids this access: redo the stage 2 step to report it
            long[] s2 = new long[3];
            long ipaOut = walkedIpa(sc, cd, region, va);
            Failure f = ipaOut < 0 ? null : stage2Step(sc, r, ipaOut, EventRecord.CLASS_IN, write, instruction, s2);
            if (f != null) {
                return f;
            }
            return event(r, EventType.F_PERMISSION, sc.s2.record(), dword1(r, true, EventRecord.CLASS_IN),
                    ipaOut < 0 ? 0 : EventRecord.ipaDword(ipaOut), true);
        }
        out.translated(e.translate(va));
        return null;
    }

    /** The IPA stage 1 maps {@code va} to in a nested config, by a fresh walk; -1 when it no longer does. */
    private long walkedIpa(StreamConfig sc, ContextConfig cd, ContextConfig.TtRegion region, long va) {
        long[] pa = new long[3];
        TableWalker.Result w = walker.walk(true, region.ttb(), region.granule(), region.inputBits(), region.startLevel(), cd.oaBits,
                cd.affd, va, ipa -> stage2Step(sc, null, ipa, EventRecord.CLASS_TT, false, false, pa) == null ? pa[0] : -1);
        return w.stage2Failed || w.fault != null ? -1 : w.outputBase | (va & ((1L << w.pageShift) - 1));
    }

    private static int s1Permissions(long attrs) {
        int p = Permissions.READ;
        if ((attrs & TableWalker.ATTR_S1_RDONLY) == 0) {
            p |= Permissions.WRITE;
        }
        if ((attrs & TableWalker.ATTR_S1_UXN) == 0) {
            p |= Permissions.EXECUTE;
        }
        return p;
    }

    /** The PA of a CD-table structure at {@code address}: itself, or its stage 2 translation when nested. */
    private Failure cdFetchAddress(StreamConfig sc, DmaRequest r, long address, long[] pa) {
        if (sc.kind != StreamConfig.Kind.NESTED) {
            pa[0] = address;
            return null;
        }
        return stage2Step(sc, r, address, EventRecord.CLASS_CD, false, false, pa);
    }

    private Failure fetchCd(StreamConfig sc, DmaRequest r, int ssid, long[] cd) {
        long cdAddr;
        long[] pa = new long[3];
        if (sc.cdMax == 0 || sc.s1Fmt == StreamTableEntry.S1FMT_LINEAR) {
            cdAddr = sc.contextPtr + (long) ContextDescriptor.BYTES * ssid;
        } else {
            int split = sc.s1Fmt == StreamTableEntry.S1FMT_64K_L2 ? L1ContextDescriptor.SPLIT_64K : L1ContextDescriptor.SPLIT_4K;
            Failure f = cdFetchAddress(sc, r, sc.contextPtr + 8L * (ssid >>> split), pa);
            if (f != null) {
                return f;
            }
            long l1;
            try {
                l1 = memory.read64(pa[0]);
            } catch (ExternalAbortException e) {
                return event(r, EventType.F_CD_FETCH, true, 0, EventRecord.fetchDword(pa[0]), true);
            }
            if (!L1ContextDescriptor.V.isSet(l1) || L1ContextDescriptor.l2Pointer(l1) >>> OAS_BITS != 0) {
                return event(r, EventType.C_BAD_SUBSTREAMID, true, 0, 0, true);
            }
            cdAddr = L1ContextDescriptor.l2Pointer(l1) + (long) ContextDescriptor.BYTES * (ssid & ((1 << split) - 1));
        }
        Failure f = cdFetchAddress(sc, r, cdAddr, pa);
        if (f != null) {
            return f;
        }
        try {
            for (int i = 0; i < ContextDescriptor.DWORDS; i++) {
                cd[i] = memory.read64(pa[0] + 8L * i);
            }
        } catch (ExternalAbortException e) {
            return event(r, EventType.F_CD_FETCH, true, 0, EventRecord.fetchDword(pa[0]), true);
        }
        return null;
    }

    /** Stage 2 only (Config 110), or nested with stage 1 bypassed: the input address is the IPA. */
    private Failure stage2(StreamConfig sc, DmaRequest r, TranslationOutcome out) {
        long ipa = r.address();
        if ((ipa >>> IAS_BITS) != 0) {
            return event(r, EventType.F_ADDR_SIZE, true, dword1(r, false, EventRecord.CLASS_IN), 0, true);
        }
        boolean write = r.isWrite();
        long[] pa = new long[3];
        Failure f = stage2Step(sc, r, ipa, EventRecord.CLASS_IN, write, r.execute() && !write, pa);
        if (f != null) {
            return f;
        }
        out.translated(pa[0]);
        return null;
    }

    /**
     * Translates {@code ipa} through stage 2 for an access of class {@code cls} (CD fetch, stage 1
     * descriptor fetch, or the transaction itself) and fills {@code result} with {PA, page shift,
     * stage 2 attributes}; returns the stage 2 fault otherwise (S2=1, CLASS, IPA; §6.3, §9).
     * {@code r} may be null when no fault is to be reported.
     */
    private Failure stage2Step(StreamConfig sc, DmaRequest r, long ipa, int cls, boolean write, boolean instruction, long[] result) {
        StreamConfig.Stage2 s2 = sc.s2;
        long d3 = EventRecord.ipaDword(ipa);
        if ((ipa >>> s2.inputBits()) != 0) {
            return s2Event(r, EventType.F_TRANSLATION, s2.record(), cls, d3);
        }
        TlbEntry e = tlb.lookupS2(sc.vmid, ipa);
        if (e == null) {
            long epoch = tlb.cache.epoch();
            TableWalker.Result w = walker.walk(false, s2.ttb(), s2.granule(), s2.inputBits(), s2.startLevel(), s2.oaBits(),
                    s2.affd(), ipa);
            if (w.fault == EventType.F_WALK_EABT) {
                return s2Event(r, w.fault, true, cls, EventRecord.fetchDword(w.fetchAddress));
            }
            if (w.fault != null) {
                return s2Event(r, w.fault, s2.record(), cls, d3);
            }
            if (cls != EventRecord.CLASS_IN && s2.ptw() && (w.memAttr >>> 2) == 0) {
                return s2Event(r, EventType.F_PERMISSION, s2.record(), cls, d3); // S2PTW: walk into Device memory
            }
            int perms = ((w.attributes & TableWalker.ATTR_S2_READ) != 0 ? Permissions.READ : 0)
                    | ((w.attributes & TableWalker.ATTR_S2_WRITE) != 0 ? Permissions.WRITE : 0)
                    | ((w.attributes & TableWalker.ATTR_S2_XN) == 0 ? Permissions.EXECUTE : 0);
            e = new TlbEntry(Iotlb.s2Tag(sc.vmid), ipa & -(1L << w.pageShift), w.pageShift, w.outputBase, perms,
                    w.attributes | (long) w.memAttr << 8);
            tlb.cache.fill(e, epoch);
        } else if (cls != EventRecord.CLASS_IN && s2.ptw() && ((e.attributes() >>> 8) & 0xF) >>> 2 == 0) {
            return s2Event(r, EventType.F_PERMISSION, s2.record(), cls, d3);
        }
        if (!TableWalker.stage2Allows(e.attributes(), write, instruction)) {
            return s2Event(r, EventType.F_PERMISSION, s2.record(), cls, d3);
        }
        result[0] = e.translate(ipa);
        result[1] = e.pageShift();
        result[2] = e.attributes() & 0xFF;
        return null;
    }

    private Failure s2Event(DmaRequest r, EventType type, boolean recorded, int cls, long d3) {
        if (r == null) {
            return NO_REPORT;
        }
        boolean read = cls != EventRecord.CLASS_IN || !r.isWrite();
        long d1 = EventRecord.dword1(r.privileged(), r.execute() && !r.isWrite(), !r.isWrite(), true, cls)
                | (cls == EventRecord.CLASS_TT ? EventRecord.TTRNW.of(read ? 1 : 0) : 0);
        return event(r, type, recorded, d1, d3, true);
    }

    private static final Failure NO_REPORT = new Failure(null, null, false);

    private static long dword1(DmaRequest r, boolean stage2, int cls) {
        return EventRecord.dword1(r.privileged(), r.execute() && !r.isWrite(), !r.isWrite(), stage2, cls);
    }

    /**
     * A fault with an event record; {@code recorded} says whether it goes to the event queue.
     * Translation-class events carry InputAddr; fetch events their FetchAddr in dword 3.
     */
    private Failure event(DmaRequest r, EventType type, boolean recorded, long d1, long d3, boolean structureValid) {
        boolean transaction = type.code() >= EventType.F_TRANSLATION.code() || type == EventType.F_WALK_EABT;
        long d0;
        if (type == EventType.F_STREAM_DISABLED) {
            d0 = EventRecord.dword0(type, r.rid(), false, 0); // StreamID only (spec 7.3.7)
        } else if (type == EventType.C_BAD_SUBSTREAMID) {
            d0 = EventRecord.dword0(type, r.rid(), false, 0) | EventRecord.SSID.of(r.hasPasid() ? r.pasid() & 0xFFFFF : 0);
        } else {
            d0 = EventRecord.dword0(type, r.rid(), r.hasPasid(), r.pasid());
        }
        long[] words = {
            d0,
            d1,
            transaction ? r.address() : 0,
            d3,
        };
        FaultReason reason = type.reason(structureValid);
        Fault fault = new Fault(requester(r), r.pasid(), r.address(), r.access(), reason, EventRecord.of(words),
                EventRecord.stage(d0, d1));
        return new Failure(fault, words, recorded);
    }

    private static Failure silent(DmaRequest r, String name) {
        return new Failure(new Fault(requester(r), r.pasid(), r.address(), r.access(), FaultReason.BLOCKED,
                EventRecord.silent(name)), null, false);
    }

    private static RequesterId requester(DmaRequest r) {
        return RequesterId.of(r.rid() & 0xFFFF);
    }

    /** Never expected: a defect of this model becomes a fault, not an exception out of translate(). */
    private static Failure internal(DmaRequest r, RuntimeException e) {
        return new Failure(new Fault(requester(r), r.pasid(), r.address(), r.access(), FaultReason.BAD_CONFIGURATION,
                EventRecord.silent("MODEL_ERROR " + e)), null, false);
    }
}
