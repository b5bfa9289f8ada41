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
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.tlb.TlbEntry;
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
        Failure failure;
        walkLock.readLock().lock();
        try {
            failure = resolve(request, out);
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
                if ((addr >>> OAS_BITS) != 0) {
                    return false;
                }
                out.translated(addr);
                return true;
            }
            case STAGE1 -> {
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
                TlbEntry e = tlb.lookupS1(sc.vmid, cd.asid, cd.aset, va);
                if (e == null || !TableWalker.stage1Allows(e.attributes(), write, instruction, r.privileged(), cd.pan, cd.wxn)) {
                    return false;
                }
                out.translated(e.translate(va));
                return true;
            }
            case STAGE2 -> {
                if (r.hasPasid() || (addr >>> sc.s2.inputBits()) != 0) {
                    return false;
                }
                TlbEntry e = tlb.lookupS2(sc.vmid, addr);
                if (e == null || !TableWalker.stage2Allows(e.attributes(), write, instruction)) {
                    return false;
                }
                out.translated(e.translate(addr));
                return true;
            }
            default -> {
                return false;
            }
        }
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
            case BYPASS -> bypass(r, out, true);
            case STAGE1 -> stage1(sc, r, out);
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
        long steAddr;
        if (StreamTableRegisters.CFG_FMT.get(cfg) == StreamTableRegisters.FMT_2LEVEL) {
            int split = (int) StreamTableRegisters.CFG_SPLIT.get(cfg);
            if (split != 6 && split != 8 && split != 10) {
                split = 6;
            }
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
                return event(r, EventType.C_BAD_STREAMID, true, 0, 0, true);
            }
            steAddr = L1StreamTableDescriptor.l2Pointer(l1) + (long) StreamTableEntry.BYTES * low;
        } else {
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
            return bypass(r, out, true);
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
        TlbEntry e = tlb.lookupS1(sc.vmid, cd.asid, cd.aset, va);
        if (e == null) {
            long epoch = tlb.cache.epoch();
            TableWalker.Result w = walker.walk(true, region.ttb(), region.granule(), region.inputBits(), region.startLevel(),
                    cd.oaBits, cd.affd, va);
            if (w.fault == EventType.F_WALK_EABT) {
                return event(r, w.fault, true, dword1(r, false, EventRecord.CLASS_TT) | EventRecord.TTRNW.of(1),
                        EventRecord.fetchDword(w.fetchAddress), true);
            }
            if (w.fault != null) {
                return event(r, w.fault, cd.record, dword1(r, false, EventRecord.CLASS_IN), 0, true);
            }
            long tag = w.global ? Iotlb.s1GlobalTag(sc.vmid, cd.aset) : Iotlb.s1Tag(sc.vmid, cd.asid, cd.aset);
            e = new TlbEntry(tag, va & -(1L << w.pageShift), w.pageShift, w.outputBase, s1Permissions(w.attributes), w.attributes);
            tlb.cache.fill(e, epoch);
        }
        if (!TableWalker.stage1Allows(e.attributes(), write, instruction, r.privileged(), cd.pan, cd.wxn)) {
            return event(r, EventType.F_PERMISSION, cd.record, dword1(r, false, EventRecord.CLASS_IN), 0, true);
        }
        out.translated(e.translate(va));
        return null;
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

    private Failure fetchCd(StreamConfig sc, DmaRequest r, int ssid, long[] cd) {
        long cdAddr;
        if (sc.cdMax == 0 || sc.s1Fmt == StreamTableEntry.S1FMT_LINEAR) {
            cdAddr = sc.contextPtr + (long) ContextDescriptor.BYTES * ssid;
        } else {
            int split = sc.s1Fmt == StreamTableEntry.S1FMT_64K_L2 ? L1ContextDescriptor.SPLIT_64K : L1ContextDescriptor.SPLIT_4K;
            long l1Addr = sc.contextPtr + 8L * (ssid >>> split);
            long l1;
            try {
                l1 = memory.read64(l1Addr);
            } catch (ExternalAbortException e) {
                return event(r, EventType.F_CD_FETCH, true, 0, EventRecord.fetchDword(l1Addr), true);
            }
            if (!L1ContextDescriptor.V.isSet(l1)) {
                return event(r, EventType.C_BAD_SUBSTREAMID, true, 0, 0, true);
            }
            cdAddr = L1ContextDescriptor.l2Pointer(l1) + (long) ContextDescriptor.BYTES * (ssid & ((1 << split) - 1));
        }
        try {
            for (int i = 0; i < ContextDescriptor.DWORDS; i++) {
                cd[i] = memory.read64(cdAddr + 8L * i);
            }
        } catch (ExternalAbortException e) {
            return event(r, EventType.F_CD_FETCH, true, 0, EventRecord.fetchDword(cdAddr), true);
        }
        return null;
    }

    private Failure stage2(StreamConfig sc, DmaRequest r, TranslationOutcome out) {
        long ipa = r.address();
        StreamConfig.Stage2 s2 = sc.s2;
        if ((ipa >>> IAS_BITS) != 0) {
            return event(r, EventType.F_ADDR_SIZE, true, dword1(r, false, EventRecord.CLASS_IN), 0, true);
        }
        long d3 = EventRecord.ipaDword(ipa);
        if ((ipa >>> s2.inputBits()) != 0) {
            return event(r, EventType.F_TRANSLATION, s2.record(), dword1(r, true, EventRecord.CLASS_IN), d3, true);
        }
        boolean write = r.isWrite();
        boolean instruction = r.execute() && !write;
        TlbEntry e = tlb.lookupS2(sc.vmid, ipa);
        if (e == null) {
            long epoch = tlb.cache.epoch();
            TableWalker.Result w = walker.walk(false, s2.ttb(), s2.granule(), s2.inputBits(), s2.startLevel(), s2.oaBits(),
                    s2.affd(), ipa);
            if (w.fault == EventType.F_WALK_EABT) {
                return event(r, w.fault, true, dword1(r, true, EventRecord.CLASS_IN), EventRecord.fetchDword(w.fetchAddress), true);
            }
            if (w.fault != null) {
                return event(r, w.fault, s2.record(), dword1(r, true, EventRecord.CLASS_IN), d3, true);
            }
            int perms = ((w.attributes & TableWalker.ATTR_S2_READ) != 0 ? Permissions.READ : 0)
                    | ((w.attributes & TableWalker.ATTR_S2_WRITE) != 0 ? Permissions.WRITE : 0)
                    | ((w.attributes & TableWalker.ATTR_S2_XN) == 0 ? Permissions.EXECUTE : 0);
            e = new TlbEntry(Iotlb.s2Tag(sc.vmid), ipa & -(1L << w.pageShift), w.pageShift, w.outputBase, perms, w.attributes);
            tlb.cache.fill(e, epoch);
        }
        if (!TableWalker.stage2Allows(e.attributes(), write, instruction)) {
            return event(r, EventType.F_PERMISSION, s2.record(), dword1(r, true, EventRecord.CLASS_IN), d3, true);
        }
        out.translated(e.translate(ipa));
        return null;
    }

    private static long dword1(DmaRequest r, boolean stage2, int cls) {
        return EventRecord.dword1(r.privileged(), r.execute() && !r.isWrite(), !r.isWrite(), stage2, cls);
    }

    /**
     * A fault with an event record; {@code recorded} says whether it goes to the event queue.
     * Translation-class events carry InputAddr; fetch events their FetchAddr in dword 3.
     */
    private Failure event(DmaRequest r, EventType type, boolean recorded, long d1, long d3, boolean structureValid) {
        boolean transaction = type.code() >= EventType.F_TRANSLATION.code() || type == EventType.F_WALK_EABT;
        long[] words = {
            EventRecord.dword0(type, r.rid(), r.hasPasid(), r.pasid()),
            d1,
            transaction ? r.address() : 0,
            d3,
        };
        FaultReason reason = type.reason(structureValid);
        Fault fault = new Fault(requester(r), r.pasid(), r.address(), r.access(), reason, EventRecord.of(words));
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
