package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.Bits.b;
import static dev.iommukit.cli.inspect.Bits.bit;
import static dev.iommukit.cli.inspect.Bits.field;
import static dev.iommukit.cli.inspect.Ranges.hex;

import dev.iommukit.cli.inspect.VtdStructures.LegacyContextEntry;
import dev.iommukit.cli.inspect.VtdStructures.LegacyRootEntry;
import dev.iommukit.cli.inspect.VtdStructures.PasidDirEntry;
import dev.iommukit.cli.inspect.VtdStructures.PasidEntry;
import dev.iommukit.cli.inspect.VtdStructures.ScalableContextEntry;
import dev.iommukit.cli.inspect.VtdStructures.ScalableRootEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Walks a VT-d remapping unit as its hardware would (spec/vtd.md §6): GSTS.TES, RTADDR (scalable mode, TTM=01;
 * legacy TTM=00 too), root entry, context entry, PASID directory and table entries, then the first-level,
 * second-level, nested or pass-through translation of the PASID entry.
 */
final class VtdWalker implements UnitWalker {
    /** Untranslated requests whose output is 0xFEEx_xxxx are interrupt-range accesses and fault (SGN.8). */
    static final long INTERRUPT_BASE = 0xFEE0_0000L;
    static final long INTERRUPT_END = 0xFEF0_0000L;

    private final Dump.Unit unit;
    private final SparseMemory memory;
    private final long cap;
    private final long ecap;
    private final long gsts;
    private final long rtaddr;
    private final List<String> assumptions = new ArrayList<>();

    VtdWalker(Dump.Unit unit, SparseMemory memory) {
        this.unit = unit;
        this.memory = memory;
        this.cap = unit.register("CAP_REG", 0b1110L << 8 | 56L << 16 | 0b11L << 34 | 1L << 56 | 1L << 60, assumptions);
        this.ecap = unit.register("ECAP_REG", 1L << 2 | 1L << 6 | 1L << 26 | 1L << 31 | 19L << 35 | 1L << 40 | 1L << 43
                | 1L << 46 | 1L << 47 | 1L << 48, assumptions);
        this.gsts = unit.register("GSTS_REG", 0, assumptions);
        this.rtaddr = unit.register("RTADDR_REG", 0, assumptions);
    }

    @Override
    public Dump.Unit unit() {
        return unit;
    }

    private int mgawBits() {
        return (int) field(cap, 21, 16) + 1;
    }

    private int ttm() {
        return (int) field(rtaddr, 11, 10);
    }

    @Override
    public List<String> registerLines() {
        List<String> lines = new ArrayList<>();
        lines.add("CAP_REG=" + hex(cap) + ": ND=" + field(cap, 2, 0) + " RWBF=" + b(cap, 4) + " CM=" + b(cap, 7)
                + " SAGAW=" + Bits.binary(field(cap, 12, 8), 5) + " MGAW=" + field(cap, 21, 16) + "(" + mgawBits()
                + "-bit) SLLPS=" + Bits.binary(field(cap, 37, 34), 4) + " FL1GP=" + b(cap, 56) + " FL5LP=" + b(cap, 60));
        lines.add("ECAP_REG=" + hex(ecap) + ": C=" + b(ecap, 0) + " QI=" + b(ecap, 1) + " DT=" + b(ecap, 2) + " PT="
                + b(ecap, 6) + " SC=" + b(ecap, 7) + " NEST=" + b(ecap, 26) + " PRS=" + b(ecap, 29) + " SRS="
                + b(ecap, 31) + " EAFS=" + b(ecap, 34) + " PSS=" + field(ecap, 39, 35) + " PASID=" + b(ecap, 40)
                + " SMTS=" + b(ecap, 43) + " SLADS=" + b(ecap, 45) + " SLTS=" + b(ecap, 46) + " FLTS=" + b(ecap, 47)
                + " SMPWCS=" + b(ecap, 48) + " RPS=" + b(ecap, 49) + " ADMS=" + b(ecap, 52) + " RPRIVS="
                + b(ecap, 53));
        lines.add("GSTS_REG=" + hex(gsts) + ": TES=" + b(gsts, 31) + " RTPS=" + b(gsts, 30) + "  RTADDR_REG="
                + hex(rtaddr) + ": TTM=" + Bits.binary(ttm(), 2) + "(" + ttmName() + ") RTA="
                + hex(Bits.address(rtaddr, 63, 12)));
        lines.addAll(assumptions);
        return lines;
    }

    private String ttmName() {
        return switch (ttm()) {
            case 0 -> "legacy";
            case 1 -> "scalable";
            case 2 -> "reserved";
            default -> "abort-DMA";
        };
    }

    @Override
    public int maxPasid() {
        return bit(ecap, 40) ? (int) ((1L << (field(ecap, 39, 35) + 1)) - 1) : -1;
    }

    @Override
    public WalkResult walk(Requester requester) {
        Trace trace = new Trace();
        if (!bit(gsts, 31)) {
            return requester.hasPasid()
                    ? trace.blocked("GSTS.TES=0: DMA remapping disabled; requests-with-PASID are not translated")
                    : trace.identity("GSTS.TES=0: DMA remapping disabled, requests pass untranslated");
        }
        return switch (ttm()) {
            case 1 -> bit(ecap, 43) ? scalable(requester, trace)
                    : trace.blocked("RTA.1: RTADDR.TTM=01 without ECAP.SMTS");
            case 0 -> legacy(requester, trace);
            case 3 -> trace.blocked(bit(ecap, 52) ? "RTA.4: TTM=11 abort-DMA mode" : "RTA.1: TTM=11 without ECAP.ADMS");
            default -> trace.blocked("RTA.1: RTADDR.TTM=10 is reserved");
        };
    }

    private long rootTable() {
        return Bits.address(rtaddr, 63, 12);
    }

    /** Context entry of a scalable-mode requester, or null (with the reason traced) when there is none. */
    private ScalableContextEntry scalableContext(int rid, Trace trace, String[] fault) {
        int bus = rid >>> 8;
        int devfn = rid & 0xFF;
        long rootAddress = rootTable() + 16L * bus;
        ScalableRootEntry root = new ScalableRootEntry(memory.read64(rootAddress), memory.read64(rootAddress + 8));
        trace.structure(root.describe(rootAddress));
        boolean upper = devfn >= 0x80;
        if (upper ? !root.upperPresent() : !root.lowerPresent()) {
            fault[0] = "SRT.2: root entry " + (upper ? "UP" : "LP") + "=0";
            return null;
        }
        if (root.reservedBits(devfn) != 0) {
            fault[0] = "SRT.3: reserved bits set in the root entry's " + (upper ? "upper" : "lower") + " half";
            return null;
        }
        long ctxAddress = (upper ? root.upperContextTable() : root.lowerContextTable()) + 32L * (devfn & 0x7F);
        long[] q = new long[4];
        for (int i = 0; i < 4; i++) {
            q[i] = memory.read64(ctxAddress + 8L * i);
        }
        ScalableContextEntry ctx = new ScalableContextEntry(q);
        trace.structure(ctx.describe(ctxAddress));
        if (!ctx.present()) {
            fault[0] = "SCT.2: context entry P=0";
            return null;
        }
        if (ctx.reservedSet()) {
            fault[0] = "SCT.3: reserved bits set in the context entry";
            return null;
        }
        if (!ctx.dte() && ctx.pre()) {
            fault[0] = "SCT.4: PRE=1 with DTE=0";
            return null;
        }
        if (bit(ecap, 49) && Integer.toUnsignedLong(ctx.ridPasid()) >>> (ctx.pdts() + 13) != 0) {
            fault[0] = "SCT.4: RID_PASID beyond the PDTS-sized directory";
            return null;
        }
        return ctx;
    }

    private WalkResult scalable(Requester requester, Trace trace) {
        String[] fault = new String[1];
        ScalableContextEntry ctx = scalableContext(requester.rid(), trace, fault);
        if (ctx == null) {
            return trace.blocked(fault[0]);
        }
        int ridPasid = bit(ecap, 49) ? ctx.ridPasid() : 0;
        int pasid;
        boolean supervisor;
        if (requester.hasPasid()) {
            pasid = requester.pasid();
            supervisor = false;
            if (!ctx.paside()) {
                return trace.blocked("SCT.6: request with PASID and context PASIDE=0");
            }
            if (maxPasid() < 0 || pasid > maxPasid()) {
                return trace.blocked("SGN.10: PASID " + pasid + " beyond ECAP.PSS / PASID support");
            }
            if (Integer.toUnsignedLong(pasid) >>> (ctx.pdts() + 13) != 0) {
                return trace.blocked("SCT.7: PASID " + pasid + " beyond the PDTS-sized directory");
            }
            if (pasid == ridPasid) {
                return trace.blocked("SCT.9: request-with-PASID carries RID_PASID " + ridPasid
                        + (bit(ecap, 49) ? "" : " (ECAP.RPS=0: PASID 0 serves requests without PASID)"));
            }
        } else {
            pasid = ridPasid;
            supervisor = bit(ecap, 53) && ctx.ridPriv();
        }
        long dirAddress = ctx.pasidDirPtr() + 8L * (pasid >>> 6);
        PasidDirEntry dir = new PasidDirEntry(memory.read64(dirAddress));
        trace.structure(dir.describe(dirAddress));
        if (!dir.present()) {
            return trace.blocked("SPD.2: PASID-directory entry P=0 (PASID " + pasid + ")");
        }
        if (dir.reservedSet()) {
            return trace.blocked("SPD.3: reserved bits set in the PASID-directory entry");
        }
        long peAddress = dir.tablePtr() + 64L * (pasid & 0x3F);
        long[] q = new long[8];
        for (int i = 0; i < 8; i++) {
            q[i] = memory.read64(peAddress + 8L * i);
        }
        PasidEntry pe = new PasidEntry(q);
        trace.structure(pe.describe(peAddress));
        if (!pe.present()) {
            return trace.blocked("SPT.2: PASID entry P=0 (PASID " + pasid + ")");
        }
        if (pe.reservedSet()) {
            return trace.blocked("SPT.3: reserved bits set in the PASID entry");
        }
        String invalid = pasidEntryInvalid(pe);
        if (invalid != null) {
            return trace.blocked("SPT.4: " + invalid);
        }
        if (supervisor && !pe.sre()) {
            return trace.blocked("SPT.6: supervisor request (RID_PRIV=1) with SRE=0");
        }
        String via = "PASID " + pasid + (requester.hasPasid() ? "" : " (RID_PASID)");
        return switch (pe.pgtt()) {
            case 4 -> trace.identity("PGTT=100 pass-through (" + via + ")");
            case 2 -> translated(secondLevel(pe, trace), trace, "second level, " + via);
            case 1 -> translated(firstLevel(pe, supervisor, TableMemory.physical(memory), 0, trace), trace,
                    "first level, " + via);
            default -> nested(pe, supervisor, trace, via);
        };
    }

    private String pasidEntryInvalid(PasidEntry pe) {
        int pgtt = pe.pgtt();
        int ecapBit = switch (pgtt) {
            case 1 -> 47;
            case 2 -> 46;
            case 3 -> 26;
            case 4 -> 6;
            default -> -1;
        };
        if (ecapBit < 0) {
            return "PGTT=" + Bits.binary(pgtt, 3) + " is reserved";
        }
        if (!bit(ecap, ecapBit)) {
            return "PGTT=" + Bits.binary(pgtt, 3) + " without its ECAP bit";
        }
        if ((pgtt == 2 || pgtt == 3) && !awSupported(pe.aw())) {
            return "AW=" + Bits.binary(pe.aw(), 3) + " not in CAP.SAGAW";
        }
        if (pgtt == 1 || pgtt == 3) {
            if (pe.flpm() > 1 || (pe.flpm() == 1 && !bit(cap, 60))) {
                return "FLPM=" + pe.flpm() + " unsupported";
            }
            if (pgtt == 3 && pe.flptptr() >>> slInputBits(pe.aw()) != 0) {
                return "nested FLPTPTR " + hex(pe.flptptr()) + " above 2^X-1";
            }
        }
        return null;
    }

    private boolean awSupported(int aw) {
        return aw >= 1 && aw <= 3 && bit(cap, 8 + aw);
    }

    /** X = min(MGAW+1, AGAW of AW). */
    private int slInputBits(int aw) {
        return Math.min(mgawBits(), 30 + 9 * aw);
    }

    private boolean adUpdates(PasidEntry pe) {
        return pe.pwsnp() && bit(ecap, 48);
    }

    private IntelPagingWalker secondLevelWalker(PasidEntry pe, Trace trace) {
        return new IntelPagingWalker(new IntelPagingWalker.Config("second level", false, pe.aw() + 2, pe.slptptr(),
                slInputBits(pe.aw()), bit(cap, 34), bit(cap, 35), bit(ecap, 7), bit(ecap, 2),
                pe.slade() && bit(ecap, 45), adUpdates(pe), false, false, false, 0), TableMemory.physical(memory), trace);
    }

    private List<Mapping> secondLevel(PasidEntry pe, Trace trace) {
        RangeCollector out = new RangeCollector(trace);
        secondLevelWalker(pe, trace).enumerate(0, -1L, (ia, size, oa, r, w, leaf) ->
                out.add(Mapping.of(ia, size, oa, r, w, leaf)));
        return out.ranges();
    }

    private List<Mapping> firstLevel(PasidEntry pe, boolean supervisor, TableMemory space, int limitBits, Trace trace) {
        IntelPagingWalker fl = firstLevelWalker(pe, supervisor, space, limitBits, trace);
        RangeCollector out = new RangeCollector(trace);
        fl.enumerate(0, -1L, (ia, size, oa, r, w, leaf) -> out.add(Mapping.of(fl.canonical(ia), size, oa, r, w, leaf)));
        return out.ranges();
    }

    private IntelPagingWalker firstLevelWalker(PasidEntry pe, boolean supervisor, TableMemory space, int limitBits,
            Trace trace) {
        int levels = 4 + pe.flpm();
        return new IntelPagingWalker(new IntelPagingWalker.Config("first level", true, levels, pe.flptptr(),
                levels == 4 ? 48 : 57, true, bit(cap, 56), false, false, false, adUpdates(pe),
                pe.eafe() && bit(ecap, 34), supervisor, pe.wpe(), limitBits), space, trace);
    }

    private WalkResult nested(PasidEntry pe, boolean supervisor, Trace trace, String via) {
        IntelPagingWalker sl = secondLevelWalker(pe, trace);
        SecondLevelMemory gpaSpace = new SecondLevelMemory(sl);
        IntelPagingWalker fl = firstLevelWalker(pe, supervisor, gpaSpace, slInputBits(pe.aw()), trace);
        RangeCollector out = new RangeCollector(trace);
        fl.enumerate(0, -1L, (ia, size, gpa, r1, w1, flLeaf) -> {
            long va = fl.canonical(ia);
            sl.enumerate(gpa, gpa + size - 1, (ia2, size2, hpa, r2, w2, slLeaf) -> {
                long start = Math.max(gpa, ia2);
                long end = Math.min(gpa + size, ia2 + size2);
                boolean r = r1 && r2;
                boolean w = w1 && w2;
                if (r || w) {
                    out.add(Mapping.of(va + (start - gpa), end - start, hpa + (start - ia2), r, w,
                            flLeaf + " / SL " + slLeaf));
                }
            });
        });
        return translated(out.ranges(), trace, "nested: first level then second level, " + via);
    }

    /** Removes outputs in the interrupt range (SGN.8) and builds the result. */
    private static WalkResult translated(List<Mapping> ranges, Trace trace, String why) {
        RangeCollector out = new RangeCollector(trace);
        for (Mapping m : ranges) {
            long start = m.pa();
            long end = m.pa() + m.size();
            if (end <= INTERRUPT_BASE || start >= INTERRUPT_END) {
                out.add(m);
                continue;
            }
            trace.note("output " + hex(start) + "-" + hex(end - 1) + " meets the interrupt range 0xfee00000-0xfeefffff:"
                    + " that part faults (SGN.8)");
            if (start < INTERRUPT_BASE) {
                out.add(new Mapping(m.iova(), INTERRUPT_BASE - start, start, m.read(), m.write(), m.leaves()));
            }
            if (end > INTERRUPT_END) {
                long skip = INTERRUPT_END - start;
                out.add(new Mapping(m.iova() + skip, end - INTERRUPT_END, INTERRUPT_END, m.read(), m.write(),
                        m.leaves()));
            }
        }
        return trace.translated(out.ranges(), why);
    }

    private WalkResult legacy(Requester requester, Trace trace) {
        if (requester.hasPasid()) {
            return trace.blocked("RTA.2: request-with-PASID while TTM=00 (legacy)");
        }
        int bus = requester.rid() >>> 8;
        int devfn = requester.rid() & 0xFF;
        long rootAddress = rootTable() + 16L * bus;
        LegacyRootEntry root = new LegacyRootEntry(memory.read64(rootAddress), memory.read64(rootAddress + 8));
        trace.structure(root.describe(rootAddress));
        if (!bit(root.q0(), 0)) {
            return trace.blocked("LRT.2: root entry P=0");
        }
        long ctxAddress = Bits.address(root.q0(), 63, 12) + 16L * devfn;
        LegacyContextEntry ctx = new LegacyContextEntry(memory.read64(ctxAddress), memory.read64(ctxAddress + 8));
        trace.structure(ctx.describe(ctxAddress));
        if (!ctx.present()) {
            return trace.blocked("LCT.2: context entry P=0");
        }
        if (ctx.tt() == 2) {
            return bit(ecap, 6) ? trace.identity("TT=10 pass-through") : trace.blocked("LCT.4: TT=10 without ECAP.PT");
        }
        if (ctx.tt() == 3) {
            return trace.blocked("LCT.4: TT=11 is reserved");
        }
        if (!awSupported(ctx.aw())) {
            return trace.blocked("LCT.4: AW=" + Bits.binary(ctx.aw(), 3) + " not in CAP.SAGAW");
        }
        IntelPagingWalker sl = new IntelPagingWalker(new IntelPagingWalker.Config("second level", false, ctx.aw() + 2,
                ctx.slptptr(), slInputBits(ctx.aw()), bit(cap, 34), bit(cap, 35), bit(ecap, 7), bit(ecap, 2), false,
                false, false, false, false, 0), TableMemory.physical(memory), trace);
        RangeCollector out = new RangeCollector(trace);
        sl.enumerate(0, -1L, (ia, size, oa, r, w, leaf) -> out.add(Mapping.of(ia, size, oa, r, w, leaf)));
        return translated(out.ranges(), trace, "legacy second level");
    }

    @Override
    public SortedSet<Integer> pasidsInTables(int rid) {
        SortedSet<Integer> found = new TreeSet<>();
        if (!bit(gsts, 31) || ttm() != 1) {
            return found;
        }
        ScalableContextEntry ctx = scalableContext(rid, new Trace(), new String[1]);
        if (ctx == null || !ctx.paside()) {
            return found;
        }
        for (long i = 0; i < ctx.directoryEntries(); i++) {
            PasidDirEntry dir = new PasidDirEntry(memory.read64(ctx.pasidDirPtr() + 8 * i));
            if (!dir.present()) {
                continue;
            }
            for (int j = 0; j < 64; j++) {
                if (bit(memory.read64(dir.tablePtr() + 64L * j), 0)) {
                    found.add((int) (i << 6 | j));
                }
            }
        }
        return found;
    }

    /** Guest-physical space seen through the second level, for nested first-level table reads. */
    private final class SecondLevelMemory implements TableMemory {
        private final IntelPagingWalker sl;
        private final Map<Long, IntelPagingWalker.Leaf> pages = new HashMap<>();

        SecondLevelMemory(IntelPagingWalker sl) {
            this.sl = sl;
        }

        private IntelPagingWalker.Leaf page(long gpa) {
            return pages.computeIfAbsent(gpa & ~4095L, sl::translate);
        }

        @Override
        public long read64(long gpa) throws WalkFault {
            IntelPagingWalker.Leaf leaf = page(gpa);
            if (leaf == null || !leaf.read()) {
                throw new WalkFault("no second-level read permission for first-level table GPA " + hex(gpa)
                        + " -> SFS.6/SFS.7");
            }
            return memory.read64(leaf.output() + (gpa & 4095));
        }

        @Override
        public boolean writable(long gpa) {
            IntelPagingWalker.Leaf leaf = page(gpa);
            return leaf != null && leaf.write();
        }
    }
}
