package dev.iommukit.backend.vtd.hw;

import static dev.iommukit.backend.vtd.arch.FaultReasonCode.*;

import dev.iommukit.backend.vtd.arch.Bits;
import dev.iommukit.backend.vtd.arch.InterruptAddressRange;
import dev.iommukit.backend.vtd.arch.CapabilityRegister;
import dev.iommukit.backend.vtd.arch.ExtendedCapabilityRegister;
import dev.iommukit.backend.vtd.arch.FaultReasonCode;
import dev.iommukit.backend.vtd.arch.FaultRecord;
import dev.iommukit.backend.vtd.arch.FaultStages;
import dev.iommukit.backend.vtd.arch.PasidDirectoryEntry;
import dev.iommukit.backend.vtd.arch.PasidTableEntry;
import dev.iommukit.backend.vtd.arch.RegisterOffsets;
import dev.iommukit.backend.vtd.arch.RootEntry;
import dev.iommukit.backend.vtd.arch.ScalableContextEntry;
import dev.iommukit.backend.vtd.arch.UnrecordedFault;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.fault.VendorFaultRecord;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.tlb.TlbEntry;
import dev.iommukit.spi.tlb.TranslationCache;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The DMA input of the hardware half: processes untranslated requests in the scalable-mode order
 * of digest §6 (root entry, context entry, PASID checks, PASID directory and table entries,
 * request checks, walk per PGTT, interrupt-range check), using the context cache, PASID cache and
 * IOTLB, walking memory on a miss, and recording faults in the FRCD registers.
 *
 * <p>An IOTLB hit takes no lock and allocates nothing. A miss walks under the read side of the
 * walk lock, which an inv_wait takes for writing. Requests without PASID use PASID 0 (ECAP.RPS=0)
 * as user requests without execute (RID_PRIV unsupported). With TES=0 requests pass untranslated.
 *
 * <p>ATS translation requests ({@link #translateAts}) take the same path with address type 01:
 * they need context DTE=1 (else SCT.5); a missing translation or one lacking the access asked for
 * is answered with no access and not recorded; every other fault is recorded with AT=01. Page
 * requests resolve their configuration through {@link #resolvePageRequest}.
 */
final class RemappingEngine implements DmaPort {

    private final VtdHardware hardware;
    private final PhysicalMemory memory;
    private final ConfigCaches caches;
    private final TranslationCache iotlb;
    private final ReentrantReadWriteLock walkLock;
    private final CapabilityRegister cap;
    private final ExtendedCapabilityRegister ecap;
    private final int haw;
    private final int mgawBits;
    private final int maxPasid;
    private final SecondLevelWalk secondLevelWalk;
    private final FirstLevelWalk firstLevel;

    RemappingEngine(VtdHardware hardware, PhysicalMemory memory, ConfigCaches caches, TranslationCache iotlb, ReentrantReadWriteLock walkLock) {
        this.hardware = hardware;
        this.memory = memory;
        this.caches = caches;
        this.iotlb = iotlb;
        this.walkLock = walkLock;
        this.cap = hardware.model().cap();
        this.ecap = hardware.model().ecap();
        this.haw = hardware.model().hostAddressWidth();
        this.mgawBits = cap.mgaw() + 1;
        this.maxPasid = (1 << ecap.pasidBits()) - 1;
        this.secondLevelWalk = new SecondLevelWalk(memory, cap, ecap, haw);
        this.firstLevel = new FirstLevelWalk(memory, iotlb, cap, ecap, haw, secondLevelWalk);
    }

    /**
     * Thrown inside a slow-path translation to abort it with a fault reason and the translation
     * stage it belongs to; stackless.
     */
    static final class Abort extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final FaultReasonCode code;
        final boolean fpd;
        final FaultStage stage;

        /** An abort whose stage follows from its code ({@link FaultStages}); SGN.6 counts as first level here. */
        Abort(FaultReasonCode code, boolean fpd) {
            this(code, fpd, code == SGN_6 ? FaultStage.STAGE_1 : FaultStages.of(code));
        }

        Abort(FaultReasonCode code, boolean fpd, FaultStage stage) {
            super(code.architecturalName(), null, false, false);
            this.code = code;
            this.fpd = fpd;
            this.stage = stage;
        }
    }

    @Override
    public void translate(DmaRequest request, TranslationOutcome out) {
        if (!hardware.translationEnabled()) {
            out.translated(request.address());
            return;
        }
        ContextConfig ctx = caches.context(request.rid() & 0xFFFF);
        if (ctx == null || !cachedTranslation(request, out, ctx)) {
            slowPath(request, out, false);
        }
    }

    /**
     * An ATS translation request: as {@link #translate} but needing DTE=1, and answering a missing
     * or insufficient translation with no access instead of a recorded fault (digest §3.2, §10).
     */
    @Override
    public void translateAts(DmaRequest request, TranslationOutcome out) {
        if (!hardware.translationEnabled()) {
            out.translated(request.address());
            return;
        }
        ContextConfig ctx = caches.context(request.rid() & 0xFFFF);
        if (ctx == null || !ctx.dte() || !cachedTranslation(request, out, ctx)) {
            slowPath(request, out, true);
        }
    }

    /** Fast path: every cache hits and the cached permissions allow the access; false to walk. */
    private boolean cachedTranslation(DmaRequest request, TranslationOutcome out, ContextConfig ctx) {
        int sid = ctx.sid();
        boolean hasPasid = request.hasPasid();
        boolean write = request.isWrite();
        if (!hasPasid || pasidAcceptable(ctx, request.pasid()) && !request.execute()) {
            int pasid = hasPasid ? request.pasid() : ctx.ridPasid();
            boolean privileged = hasPasid && request.privileged();
            PasidConfig pc = caches.pasid(sid, pasid);
            if (pc != null && (!privileged || pc.sre())) {
                if (pc.pgtt() == PasidTableEntry.PGTT_PASS_THROUGH) {
                    long a = request.address();
                    if ((a >>> haw) == 0 && !inInterruptRange(a)) {
                        out.translated(a);
                        return true;
                    }
                } else {
                    TlbEntry e = iotlb.lookup(pc.tag(), request.address());
                    if (e != null && hitAllowed(e, pc, write, privileged)) {
                        long pa = e.translate(request.address());
                        if (!inInterruptRange(pa)) {
                            out.translated(pa);
                            return true;
                        }
                    }
                }
            }
        }
        return false;
    }

    private boolean pasidAcceptable(ContextConfig ctx, int pasid) {
        return ctx.paside() && pasid >= 0 && pasid <= maxPasid && pasid < ctx.directoryEntries() * 64 && pasid != ctx.ridPasid();
    }

    private static boolean inInterruptRange(long pa) {
        return InterruptAddressRange.contains(pa);
    }

    private static boolean hitAllowed(TlbEntry e, PasidConfig pc, boolean write, boolean privileged) {
        if ((e.attributes() & IotlbTags.FIRST_LEVEL) == 0) {
            return (e.permissions() & (write ? Permissions.WRITE : Permissions.READ)) != 0;
        }
        if ((e.attributes() & IotlbTags.NESTED) != 0 && (e.attributes() & (write ? IotlbTags.SL_WRITE : IotlbTags.SL_READ)) == 0) {
            return false;
        }
        if (!privileged && (e.attributes() & IotlbTags.USER) == 0) {
            return false;
        }
        if (!write) {
            return true;
        }
        boolean writable = (e.permissions() & Permissions.WRITE) != 0 || (privileged && !pc.wpe());
        return writable && (e.attributes() & IotlbTags.DIRTY) != 0;
    }

    private void slowPath(DmaRequest request, TranslationOutcome out, boolean ats) {
        FaultReasonCode code;
        boolean fpd;
        FaultStage stage;
        walkLock.readLock().lock();
        try {
            out.translated(walk(request, ats));
            return;
        } catch (Abort a) {
            code = a.code;
            fpd = a.fpd;
            stage = a.stage;
        } finally {
            walkLock.readLock().unlock();
        }
        out.faulted(fault(request, code, fpd, stage, ats));
    }

    /**
     * Whether a translation request meeting {@code code} is answered with no access (R=W=0) and
     * not recorded: not-present, outside the input range, or lacking the permission asked for.
     */
    static boolean answeredWithNoAccess(FaultReasonCode code) {
        return switch (code) {
            case SFS_2, SSS_2, SGN_1, SGN_2, SGN_3, SGN_5, SGN_6, SGN_7 -> true;
            default -> false;
        };
    }

    private Fault fault(DmaRequest request, FaultReasonCode code, boolean fpd, FaultStage stage, boolean ats) {
        boolean hasPasid = request.hasPasid();
        FaultRecord record = FaultRecord.of(request.address(), request.rid() & 0xFFFF, request.isWrite(),
                hasPasid && request.privileged(), hasPasid && request.execute(), hasPasid, hasPasid ? request.pasid() & 0xFFFFF : 0,
                code.code(), ats ? FaultRecord.AT_TRANSLATION_REQUEST : FaultRecord.AT_UNTRANSLATED);
        VendorFaultRecord vendor;
        if (ats && answeredWithNoAccess(code) || fpd && code.qualified()) {
            Map<String, Long> fields = new java.util.LinkedHashMap<>(record.fields());
            fields.put("F", 0L);
            vendor = new UnrecordedFault(code, fields);
        } else {
            hardware.recordFault(record);
            vendor = record;
        }
        return new Fault(RequesterId.of(request.rid() & 0xFFFF), hasPasid ? request.pasid() : Pasid.NONE, request.address(),
                request.access(), code.reason(), vendor, stage);
    }

    private long read(long pa, FaultReasonCode onAbort, boolean fpd) {
        return SecondLevelWalk.read(memory, pa, onAbort, fpd);
    }

    /** The full translation of digest §6; returns the output address or throws {@link Abort}. */
    private long walk(DmaRequest request, boolean ats) {
        // Read before any structure: a fill from a walk that any invalidation overlapped is withdrawn.
        long contextEpoch = caches.contextEpoch();
        long pasidEpoch = caches.pasidEpoch();
        long tlbEpoch = iotlb.epoch();
        boolean hasPasid = request.hasPasid();
        int sid = request.rid() & 0xFFFF;
        // Legacy mode (TTM=00) is not modelled: without PASID it is reported as RTA.1 too.
        ContextConfig ctx = context(sid, hasPasid ? RTA_2 : RTA_1, contextEpoch);
        boolean fpd = ctx.fpd();
        if (ats && !ctx.dte()) {
            throw new Abort(SCT_5, fpd);
        }
        int pasid;
        boolean privileged;
        if (hasPasid) {
            pasid = checkedPasid(ctx, request.pasid(), fpd);
            privileged = request.privileged();
        } else {
            pasid = ctx.ridPasid();
            privileged = false;
        }
        PasidConfig pc = pasidConfig(ctx, sid, pasid, pasidEpoch);
        fpd = pc.fpd();
        if (privileged && !pc.sre()) {
            throw new Abort(SPT_6, fpd);
        }
        if (hasPasid && request.execute()) {
            // ECAP.ERS=0: ERE must be 0, so every execute request is refused.
            throw new Abort(SPT_5, fpd);
        }
        long address = request.address();
        long pa = switch (pc.pgtt()) {
            case PasidTableEntry.PGTT_PASS_THROUGH -> {
                if ((address >>> haw) != 0) {
                    throw new Abort(SGN_4, fpd);
                }
                yield address;
            }
            case PasidTableEntry.PGTT_SECOND_LEVEL -> secondLevel(pc, address, request.isWrite(), tlbEpoch);
            default -> firstLevel.translate(pc, address, request.isWrite(), privileged, tlbEpoch); // 001 and 011
        };
        if (inInterruptRange(pa)) {
            throw new Abort(SGN_8, fpd);
        }
        return pa;
    }

    /** What a page request resolves to: the PASID-cache entry it targets, or the fault that refused it. */
    record PageRequestTarget(PasidConfig config, FaultReasonCode fault) {}

    /**
     * The structure checks of a page request (digest §6 steps 0-5 and §12): TTM, root and context
     * entry, PRE (else SCT.8), the PASID checks for a request with PASID, then the PASID entry
     * (RID_PASID's for one without), whose DID and PGTT select the implicit invalidation. A fault
     * is recorded as a page request ({T1,T2} = 01) unless FPD suppresses it.
     */
    PageRequestTarget resolvePageRequest(PageRequestMessage m) {
        Abort abort;
        walkLock.readLock().lock();
        try {
            return new PageRequestTarget(pageRequestConfig(m), null);
        } catch (Abort a) {
            abort = a;
        } finally {
            walkLock.readLock().unlock();
        }
        boolean hasPasid = m.hasPasid();
        if (!(abort.fpd && abort.code.qualified())) {
            hardware.recordFault(FaultRecord.ofPageRequest(m.pageAddress(), m.rid() & 0xFFFF, hasPasid && m.privileged(),
                    hasPasid && m.execute(), hasPasid, hasPasid ? m.pasid() & 0xFFFFF : 0, abort.code.code()));
        }
        return new PageRequestTarget(null, abort.code);
    }

    private PasidConfig pageRequestConfig(PageRequestMessage m) {
        long contextEpoch = caches.contextEpoch();
        long pasidEpoch = caches.pasidEpoch();
        int sid = m.rid() & 0xFFFF;
        ContextConfig ctx = context(sid, RTA_3, contextEpoch);
        boolean fpd = ctx.fpd();
        if (!ctx.pre()) {
            throw new Abort(SCT_8, fpd);
        }
        int pasid = m.hasPasid() ? checkedPasid(ctx, m.pasid(), fpd) : ctx.ridPasid();
        return pasidConfig(ctx, sid, pasid, pasidEpoch);
    }

    /**
     * The context of {@code sid} in scalable mode, from the context cache or from memory
     * (RTA.1 when not in scalable mode; {@code legacyCode} when the root table is in legacy mode).
     */
    private ContextConfig context(int sid, FaultReasonCode legacyCode, long contextEpoch) {
        long rtaddr = hardware.latchedRootTable();
        int ttm = (int) ((rtaddr & RegisterOffsets.RTADDR_TTM_MASK) >>> RegisterOffsets.RTADDR_TTM_SHIFT);
        if (ttm != RegisterOffsets.TTM_SCALABLE || !ecap.smts()) {
            throw new Abort(ttm == RegisterOffsets.TTM_LEGACY ? legacyCode : RTA_1, false);
        }
        ContextConfig ctx = caches.context(sid);
        if (ctx == null) {
            ctx = readContext(rtaddr & RegisterOffsets.RTADDR_RTA_MASK, sid);
            caches.fillContext(ctx, contextEpoch);
        }
        return ctx;
    }

    /** A request's PASID checked against its context (digest §6 step 4): SCT.6, SGN.10, SCT.7, SCT.9. */
    private int checkedPasid(ContextConfig ctx, int pasid, boolean fpd) {
        if (!ctx.paside()) {
            throw new Abort(SCT_6, fpd);
        }
        if (pasid < 0 || pasid > maxPasid) {
            throw new Abort(SGN_10, fpd);
        }
        if (pasid >= ctx.directoryEntries() * 64) {
            throw new Abort(SCT_7, fpd);
        }
        if (pasid == ctx.ridPasid()) {
            throw new Abort(SCT_9, fpd);
        }
        return pasid;
    }

    /** The PASID entry's configuration, from the PASID cache or from memory. */
    private PasidConfig pasidConfig(ContextConfig ctx, int sid, int pasid, long pasidEpoch) {
        PasidConfig pc = caches.pasid(sid, pasid);
        if (pc == null) {
            pc = readPasidEntry(ctx, sid, pasid);
            caches.fillPasid(pc, pasidEpoch);
        }
        return pc;
    }

    private ContextConfig readContext(long rootTable, int sid) {
        int bus = sid >>> 8;
        int devfn = sid & 0xFF;
        long half = read(RootEntry.address(rootTable, bus) + RootEntry.halfOffset(devfn), SRT_1, false);
        if ((half & 1) == 0) {
            throw new Abort(SRT_2, false);
        }
        if (RootEntry.reservedBits(half, haw) != 0) {
            throw new Abort(SRT_3, false);
        }
        long ce = ScalableContextEntry.address(half & RootEntry.POINTER_MASK, devfn);
        long qw0 = read(ce, SCT_1, false);
        long qw1 = read(ce + 8, SCT_1, false);
        long qw2 = read(ce + 16, SCT_1, false);
        long qw3 = read(ce + 24, SCT_1, false);
        ScalableContextEntry e = ScalableContextEntry.decode(qw0, qw1);
        boolean fpd = e.fpd();
        if (!e.p()) {
            throw new Abort(SCT_2, fpd);
        }
        long reserved0 = ScalableContextEntry.QW0_RESERVED | (Bits.aboveWidth(haw) & Bits.mask(63, 12));
        if (!ecap.dt()) {
            reserved0 |= 1L << 2;
        }
        if (!ecap.prs()) {
            reserved0 |= 1L << 4;
        }
        if ((qw0 & reserved0) != 0 || (qw1 & ScalableContextEntry.QW1_RESERVED) != 0 || qw2 != 0 || qw3 != 0) {
            throw new Abort(SCT_3, fpd);
        }
        if (!e.dte() && e.pre()) {
            throw new Abort(SCT_4, fpd);
        }
        // ECAP.RPS=0 and RPRIVS=0: RID_PASID and RID_PRIV are ignored; PASID 0 serves requests without PASID.
        int ridPasid = ecap.rps() ? e.ridPasid() : 0;
        if (ridPasid >= e.directoryEntries() * 64) {
            throw new Abort(SCT_4, fpd);
        }
        return new ContextConfig(sid, fpd, e.paside(), e.directoryEntries(), e.pasidDirPtr(), ridPasid, e.dte(), e.pre());
    }

    private PasidConfig readPasidEntry(ContextConfig ctx, int sid, int pasid) {
        boolean fpd = ctx.fpd();
        long de = read(PasidDirectoryEntry.address(ctx.pasidDirectory(), pasid), SPD_1, fpd);
        fpd |= (de & 2) != 0;
        if ((de & 1) == 0) {
            throw new Abort(SPD_2, fpd);
        }
        if ((de & (PasidDirectoryEntry.RESERVED | Bits.aboveWidth(haw))) != 0) {
            throw new Abort(SPD_3, fpd);
        }
        long pe = PasidTableEntry.address(de & Bits.mask(63, 12), pasid);
        long[] q = new long[8];
        for (int i = 0; i < 8; i++) {
            q[i] = read(pe + 8L * i, SPT_1, fpd);
        }
        PasidTableEntry e = PasidTableEntry.decode(q[0], q[1], q[2]);
        fpd |= e.fpd();
        if (!e.p()) {
            throw new Abort(SPT_2, fpd);
        }
        long r0 = PasidTableEntry.QW0_RESERVED | (ecap.slads() ? 0 : 1L << 9);
        long r1 = PasidTableEntry.QW1_RESERVED | PasidTableEntry.QW1_MTS_FIELDS;
        long r2 = PasidTableEntry.QW2_RESERVED | (ecap.ers() ? 0 : 1L << 1);
        if (!ecap.smpwcs()) {
            r1 |= 1L << 23;
        }
        if (!ecap.srs()) {
            r2 |= 1L;
        }
        r2 |= 1L << 7; // EAFE needs ECAP.EAFS, which the model does not report
        if (e.pgtt() == PasidTableEntry.PGTT_SECOND_LEVEL || e.pgtt() == PasidTableEntry.PGTT_NESTED) {
            r0 |= Bits.aboveWidth(haw) & Bits.mask(63, 12);
        }
        if (e.pgtt() == PasidTableEntry.PGTT_FIRST_LEVEL) {
            r2 |= Bits.aboveWidth(haw) & Bits.mask(63, 12);
        }
        boolean reserved = (q[0] & r0) != 0 || (q[1] & r1) != 0 || (q[2] & r2) != 0;
        for (int i = 3; i < 8; i++) {
            reserved |= q[i] != 0;
        }
        if (reserved) {
            throw new Abort(SPT_3, fpd);
        }
        return switch (e.pgtt()) {
            case PasidTableEntry.PGTT_SECOND_LEVEL -> {
                if (!ecap.slts() || !cap.supportsAw(e.aw())) {
                    throw new Abort(SPT_4, fpd);
                }
                int bits = 30 + 9 * e.aw();
                yield new PasidConfig(sid, pasid, e.did(), e.pgtt(), e.slptptr(), e.aw() + 2, Math.min(bits, mgawBits), e.sre(),
                        e.wpe(), e.pwsnp(), fpd);
            }
            case PasidTableEntry.PGTT_FIRST_LEVEL -> {
                if (!ecap.flts() || e.flpm() > 1 || (e.flpm() == 1 && !cap.fl5lp())) {
                    throw new Abort(SPT_4, fpd);
                }
                yield new PasidConfig(sid, pasid, e.did(), e.pgtt(), e.flptptr(), 4 + e.flpm(), 48 + 9 * e.flpm(), e.sre(), e.wpe(),
                        e.pwsnp(), fpd);
            }
            case PasidTableEntry.PGTT_PASS_THROUGH -> {
                if (!ecap.pt()) {
                    throw new Abort(SPT_4, fpd);
                }
                yield new PasidConfig(sid, pasid, e.did(), e.pgtt(), 0, 0, haw, e.sre(), e.wpe(), e.pwsnp(), fpd);
            }
            case PasidTableEntry.PGTT_NESTED -> {
                // Digest §9: SL as for PGTT=010, FL as for 001; FLPTPTR is a GPA that must be below 2^X.
                if (!ecap.nest() || !cap.supportsAw(e.aw()) || e.flpm() > 1 || (e.flpm() == 1 && !cap.fl5lp())) {
                    throw new Abort(SPT_4, fpd);
                }
                int x = Math.min(30 + 9 * e.aw(), mgawBits);
                if ((e.flptptr() >>> x) != 0) {
                    throw new Abort(SPT_4, fpd);
                }
                yield new PasidConfig(sid, pasid, e.did(), e.pgtt(), e.flptptr(), 4 + e.flpm(), 48 + 9 * e.flpm(), e.sre(), e.wpe(),
                        e.pwsnp(), fpd, e.slptptr(), e.aw() + 2, x);
            }
            default -> throw new Abort(SPT_4, fpd); // 000, 101..111
        };
    }

    /** A PGTT=010 request: the SL walk, the request's own permission (SGN.6 / SGN.7), then the IOTLB fill. */
    private long secondLevel(PasidConfig pc, long address, boolean write, long epoch) {
        SecondLevelWalk.Result sl = new SecondLevelWalk.Result();
        long pa = secondLevelWalk.walk(pc.root(), pc.levels(), pc.inputBits(), address, pc.fpd(), sl);
        if (write && !sl.write) {
            throw new Abort(SGN_6, pc.fpd(), FaultStage.STAGE_2);
        }
        if (!write && !sl.read) {
            throw new Abort(SGN_7, pc.fpd());
        }
        int perms = (sl.read ? Permissions.READ : 0) | (sl.write ? Permissions.WRITE : 0);
        iotlb.fill(new TlbEntry(pc.tag(), address & -(1L << sl.shift), sl.shift, sl.base, perms, 0), epoch);
        return pa;
    }
}
