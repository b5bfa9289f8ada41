package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.Bits.bit;
import static dev.iommukit.cli.inspect.Bits.field;
import static dev.iommukit.cli.inspect.Ranges.hex;

import dev.iommukit.cli.inspect.SmmuStructures.Cd;
import dev.iommukit.cli.inspect.SmmuStructures.L1Cd;
import dev.iommukit.cli.inspect.SmmuStructures.L1Std;
import dev.iommukit.cli.inspect.SmmuStructures.Ste;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Walks an SMMUv3 as its hardware would (spec/smmuv3.md): CR0/GBPA, the linear or 2-level stream table, the STE,
 * the linear or 2-level CD table, the CD, and the VMSAv8-64 stage-1 and stage-2 tables, nested included.
 */
final class SmmuV3Walker implements UnitWalker {
    private final Dump.Unit unit;
    private final SparseMemory memory;
    private final long idr0;
    private final long idr1;
    private final long idr3;
    private final long idr5;
    private final long cr0;
    private final long cr2;
    private final long gbpa;
    private final long strtabBase;
    private final long strtabBaseCfg;
    private final List<String> assumptions = new ArrayList<>();

    SmmuV3Walker(Dump.Unit unit, SparseMemory memory) {
        this.unit = unit;
        this.memory = memory;
        // Absent ID registers are assumed permissive, so that nothing the structures allow goes unseen.
        this.idr0 = unit.register("IDR0", 0b11 | 2L << 2 | 3L << 6 | 1L << 9 | 1L << 12 | 1L << 18 | 1L << 19 | 1L << 27, assumptions);
        this.idr1 = unit.register("IDR1", 32 | 20L << 6, assumptions);
        this.idr3 = unit.register("IDR3", 0, assumptions);
        this.idr5 = unit.register("IDR5", 5 | 7L << 4, assumptions);
        this.cr0 = unit.register("CR0", 0, assumptions);
        this.cr2 = unit.register("CR2", 0, assumptions);
        this.gbpa = unit.register("GBPA", 0, assumptions);
        this.strtabBase = unit.register("STRTAB_BASE", 0, assumptions);
        this.strtabBaseCfg = unit.register("STRTAB_BASE_CFG", 0, assumptions);
    }

    @Override
    public Dump.Unit unit() {
        return unit;
    }

    private int oasBits() {
        return SmmuStructures.addressSizeBits((int) field(idr5, 2, 0));
    }

    private int sidSize() {
        return (int) field(idr1, 5, 0);
    }

    private int ssidSize() {
        return (int) field(idr1, 10, 6);
    }

    private boolean granuleSupported(int bits) {
        return bits == 12 ? bit(idr5, 4) : bits == 14 ? bit(idr5, 5) : bits == 16 && bit(idr5, 6);
    }

    @Override
    public List<String> registerLines() {
        List<String> lines = new ArrayList<>();
        lines.add("IDR0=" + hex(idr0) + ": S2P=" + Bits.b(idr0, 0) + " S1P=" + Bits.b(idr0, 1) + " TTF="
                + field(idr0, 3, 2) + " HTTU=" + field(idr0, 7, 6) + " HYP=" + Bits.b(idr0, 9) + " ASID16="
                + Bits.b(idr0, 12) + " VMID16=" + Bits.b(idr0, 18) + " CD2L=" + Bits.b(idr0, 19) + " TTENDIAN="
                + field(idr0, 22, 21) + " STALL_MODEL=" + field(idr0, 25, 24) + " TERM_MODEL=" + Bits.b(idr0, 26)
                + " ST_LEVEL=" + field(idr0, 28, 27));
        lines.add("IDR1=" + hex(idr1) + ": SIDSIZE=" + sidSize() + " SSIDSIZE=" + ssidSize() + " ATTR_PERMS_OVR="
                + Bits.b(idr1, 26));
        lines.add("IDR3=" + hex(idr3) + ": HAD=" + Bits.b(idr3, 2) + " STT=" + Bits.b(idr3, 9));
        lines.add("IDR5=" + hex(idr5) + ": OAS=" + field(idr5, 2, 0) + "(" + oasBits() + "-bit) GRAN4K="
                + Bits.b(idr5, 4) + " GRAN16K=" + Bits.b(idr5, 5) + " GRAN64K=" + Bits.b(idr5, 6) + " VAX="
                + field(idr5, 11, 10));
        lines.add("CR0=" + hex(cr0) + ": SMMUEN=" + Bits.b(cr0, 0) + "  CR2=" + hex(cr2) + ": E2H=" + Bits.b(cr2, 0)
                + "  GBPA=" + hex(gbpa) + ": ABORT=" + Bits.b(gbpa, 20));
        lines.add("STRTAB_BASE=" + hex(strtabBase) + ": ADDR=" + hex(Bits.address(strtabBase, 51, 6))
                + "  STRTAB_BASE_CFG=" + hex(strtabBaseCfg) + ": FMT=" + field(strtabBaseCfg, 17, 16) + "("
                + (field(strtabBaseCfg, 17, 16) == 1 ? "2-level" : "linear") + ") LOG2SIZE="
                + field(strtabBaseCfg, 5, 0) + " SPLIT=" + field(strtabBaseCfg, 10, 6));
        lines.addAll(assumptions);
        return lines;
    }

    @Override
    public int maxPasid() {
        return ssidSize() == 0 ? -1 : (int) ((1L << ssidSize()) - 1);
    }

    /** Outcome of finding an STE: either the entry or the reason there is none. */
    private record Located(Ste ste, String fault) {}

    private Located locateSte(int sid, Trace trace) {
        int log2size = (int) Math.min(field(strtabBaseCfg, 5, 0), sidSize());
        if (Integer.toUnsignedLong(sid) >>> log2size != 0) {
            return new Located(null, "C_BAD_STREAMID: StreamID " + hex(sid) + " >= 2^" + log2size
                    + " (min(LOG2SIZE, SIDSIZE))");
        }
        long base = Bits.address(strtabBase, 51, 6);
        long steAddress;
        if (field(strtabBaseCfg, 17, 16) == 1) {
            int split = (int) field(strtabBaseCfg, 10, 6);
            if (split != 6 && split != 8 && split != 10) {
                split = 6;
            }
            long l1Address = base + 8L * (sid >>> split);
            L1Std l1 = new L1Std(memory.read64(l1Address));
            trace.structure(l1.describe(l1Address));
            int span = l1.span();
            if (span == 0 || span >= 12) {
                return new Located(null, "C_BAD_STREAMID: L1STD Span=" + span + " is invalid");
            }
            if (span > split + 1) {
                return new Located(null, "C_BAD_STREAMID: L1STD Span=" + span + " > SPLIT+1=" + (split + 1));
            }
            long low = sid & ((1L << split) - 1);
            if (low >>> (span - 1) != 0) {
                return new Located(null, "C_BAD_STREAMID: StreamID[SPLIT-1:0]=" + low + " >= 2^(Span-1)");
            }
            steAddress = l1.l2Ptr() + 64 * low;
        } else {
            steAddress = base + 64L * Integer.toUnsignedLong(sid);
        }
        long[] d = new long[8];
        for (int i = 0; i < 8; i++) {
            d[i] = memory.read64(steAddress + 8L * i);
        }
        Ste ste = new Ste(d);
        trace.structure(ste.describe(steAddress));
        return new Located(ste, null);
    }

    @Override
    public WalkResult walk(Requester requester) {
        Trace trace = new Trace();
        if (!bit(cr0, 0)) {
            return bit(gbpa, 20)
                    ? trace.blocked("CR0.SMMUEN=0 and GBPA.ABORT=1: all traffic aborted")
                    : trace.identity("CR0.SMMUEN=0 and GBPA.ABORT=0: all traffic bypasses (GBPA)");
        }
        Located located = locateSte(requester.rid(), trace);
        if (located.ste == null) {
            return trace.blocked(located.fault);
        }
        Ste ste = located.ste;
        if (!ste.valid()) {
            return trace.blocked("C_BAD_STE: STE V=0");
        }
        String illegal = steIllegal(ste);
        if (illegal != null) {
            return trace.blocked("C_BAD_STE: " + illegal);
        }
        int config = ste.config();
        if (config < 0b100) {
            return trace.blocked("STE Config=" + Bits.binary(config, 3) + ": transactions aborted");
        }
        if (requester.hasPasid() && !ste.usesStage1()) {
            return trace.blocked("C_BAD_SUBSTREAMID: SSV=1 with Config=" + Bits.binary(config, 3) + " (no stage 1)");
        }
        if (config == 0b100) {
            return trace.identity("STE Config=0b100: bypass (inputs below 2^" + oasBits() + ", OAS)");
        }
        VmsaWalker stage2 = ste.usesStage2() ? stage2Walker(ste, trace) : null;
        if (config == 0b110) {
            return stage2Only(stage2, trace, "S2 only");
        }
        // Substream selection, §10.
        int ssid;
        if (!requester.hasPasid()) {
            if (ste.s1CdMax() == 0) {
                ssid = 0;
            } else if (ste.s1Dss() == 1) {
                return config == 0b101 ? trace.identity("S1CDMax>0, S1DSS=0b01: stage 1 bypassed, stage 2 bypassed")
                        : stage2Only(stage2, trace, "S1DSS=0b01: stage 1 bypassed");
            } else if (ste.s1Dss() == 2) {
                ssid = 0;
            } else {
                return trace.blocked("F_STREAM_DISABLED: no SSID with S1CDMax>0 and S1DSS=" + Bits.binary(ste.s1Dss(), 2));
            }
        } else {
            ssid = requester.pasid();
            if (ste.s1CdMax() == 0 || ssidSize() == 0) {
                return trace.blocked("C_BAD_SUBSTREAMID: substreams disabled (S1CDMax=" + ste.s1CdMax()
                        + ", SSIDSIZE=" + ssidSize() + ")");
            }
            if (Integer.toUnsignedLong(ssid) >>> ste.s1CdMax() != 0) {
                return trace.blocked("C_BAD_SUBSTREAMID: SSID " + ssid + " >= 2^S1CDMax");
            }
            if (ssid == 0 && ste.s1Dss() == 2) {
                return trace.blocked("F_STREAM_DISABLED: SSID 0 with S1DSS=0b10 (CD 0 is for non-PASID traffic)");
            }
        }
        TableMemory ipaSpace = config == 0b111 ? new Stage2Memory(stage2, ste.s2Ptw(), memory) : TableMemory.physical(memory);
        Cd cd;
        try {
            cd = fetchCd(ste, ssid, ipaSpace, trace);
        } catch (WalkFault f) {
            return trace.blocked(f.getMessage());
        }
        if (cd == null) {
            return trace.blocked("C_BAD_SUBSTREAMID: L1CD V=0 for SSID " + ssid);
        }
        if (!cd.valid()) {
            return trace.blocked("C_BAD_CD: CD V=0");
        }
        String cdIllegal = cdIllegal(cd, ste);
        if (cdIllegal != null) {
            return trace.blocked("C_BAD_CD: " + cdIllegal);
        }
        RangeCollector out = new RangeCollector(trace);
        for (VmsaWalker s1 : stage1Walkers(ste, cd, ipaSpace, trace)) {
            long regionBase = s1.config().regionBase();
            s1.enumerate(0, -1L, (ia, size, oa, read, write, desc, leaf) -> {
                if (stage2 == null) {
                    out.add(Mapping.of(regionBase + ia, size, oa, read, write, leaf));
                } else {
                    compose(regionBase + ia, size, oa, read, write, leaf, stage2, out);
                }
            });
        }
        if (cd.tbi0() || cd.tbi1()) {
            trace.note("TBI" + (cd.tbi0() ? "0" : "1") + "=1: addresses differing in bits [63:56] alias these ranges"
                    + " (not listed)");
        }
        return trace.translated(out.ranges(), config == 0b111 ? "nested: stage 1 then stage 2" : "stage 1");
    }

    private WalkResult stage2Only(VmsaWalker stage2, Trace trace, String why) {
        RangeCollector out = new RangeCollector(trace);
        stage2.enumerate(0, -1L, (ia, size, oa, read, write, desc, leaf) ->
                out.add(Mapping.of(ia, size, oa, read, write, "S2 " + leaf)));
        return trace.translated(out.ranges(), why);
    }

    /** Output of one stage-1 leaf (an IPA range) translated through stage 2, permissions intersected. */
    private static void compose(long va, long size, long ipa, boolean r1, boolean w1, String s1Leaf,
            VmsaWalker stage2, RangeCollector out) {
        stage2.enumerate(ipa, ipa + size - 1, (ia2, size2, pa2, r2, w2, desc, s2Leaf) -> {
            long start = Math.max(ipa, ia2);
            long end = Math.min(ipa + size, ia2 + size2);
            boolean read = r1 && r2;
            boolean write = w1 && w2;
            if (read || write) {
                out.add(Mapping.of(va + (start - ipa), end - start, pa2 + (start - ia2), read, write,
                        s1Leaf + " / S2 " + s2Leaf));
            }
        });
    }

    private Cd fetchCd(Ste ste, int ssid, TableMemory space, Trace trace) throws WalkFault {
        long cdAddress;
        long ptr = ste.s1ContextPtr();
        int fmt = ste.s1Fmt();
        if (ste.s1CdMax() == 0 || fmt == 0 || fmt == 3) {
            cdAddress = ptr + 64L * ssid;
        } else {
            int leafBits = fmt == 1 ? 6 : 10;
            long l1Address = ptr + 8L * (ssid >>> leafBits);
            L1Cd l1 = new L1Cd(read(space, l1Address, "L1CD"));
            trace.structure(l1.describe(l1Address));
            if (!l1.valid()) {
                return null;
            }
            long l2 = l1.l2Ptr();
            if (fmt == 2 && (l2 & 0xF000) != 0) {
                trace.note("L1CD L2Ptr[15:12] are RES0 for a 64K leaf table; used as written");
            }
            cdAddress = l2 + 64L * (ssid & ((1 << leafBits) - 1));
        }
        long[] d = new long[8];
        for (int i = 0; i < 8; i++) {
            d[i] = read(space, cdAddress + 8L * i, "CD");
        }
        Cd cd = new Cd(d);
        trace.structure(cd.describe(cdAddress));
        return cd;
    }

    private static long read(TableMemory space, long address, String what) throws WalkFault {
        try {
            return space.read64(address);
        } catch (WalkFault f) {
            throw new WalkFault("stage-2 fault fetching the " + what + " at IPA " + hex(address) + " (CLASS=CD): "
                    + f.getMessage());
        }
    }

    private String steIllegal(Ste ste) {
        int config = ste.config();
        if (ste.usesStage1() && !bit(idr0, 1)) {
            return "Config selects stage 1 but IDR0.S1P=0";
        }
        if (ste.usesStage2() && !bit(idr0, 0)) {
            return "Config selects stage 2 but IDR0.S2P=0";
        }
        if (config < 0b100) {
            return null;
        }
        if (ste.strw() == 1 || ste.strw() == 3) {
            return "STRW=" + ste.strw() + " is reserved";
        }
        if (ste.strw() == 2 && !bit(idr0, 9)) {
            return "STRW=EL2 without IDR0.HYP";
        }
        if (ste.eats() != 0 && !bit(idr0, 10)) {
            return "EATS=" + ste.eats() + " without IDR0.ATS";
        }
        if (ste.usesStage1()) {
            if (ste.s1CdMax() > ssidSize()) {
                return "S1CDMax=" + ste.s1CdMax() + " > IDR1.SSIDSIZE=" + ssidSize();
            }
            if (ste.s1CdMax() > 0 && ste.s1Fmt() != 0 && !bit(idr0, 19)) {
                return "S1Fmt=" + ste.s1Fmt() + " without IDR0.CD2L";
            }
            if (ste.s1StallD() && field(idr0, 25, 24) != 0) {
                return "S1STALLD=1 with IDR0.STALL_MODEL!=0";
            }
            if (ste.s1ContextPtr() >>> oasBits() != 0 && config == 0b101) {
                return "S1ContextPtr beyond the OAS";
            }
        }
        if (ste.usesStage2()) {
            return stage2Illegal(ste);
        }
        return null;
    }

    private int stage2GranuleBits(Ste ste) {
        return switch (ste.s2Tg()) {
            case 0 -> 12;
            case 1 -> 16;
            case 2 -> 14;
            default -> -1;
        };
    }

    /** Stage-2 start level from S2SL0 and S2TG (§8.2), or −1 when the encoding is reserved. */
    private int stage2StartLevel(Ste ste) {
        int g = stage2GranuleBits(ste);
        int sl0 = ste.s2Sl0();
        if (g == 12) {
            return sl0 == 3 ? (bit(idr3, 9) ? 3 : -1) : 2 - sl0;
        }
        return sl0 == 3 ? -1 : 3 - sl0;
    }

    private int ias() {
        int ias = oasBits();
        if ((field(idr0, 3, 2) & 1) != 0) {
            ias = Math.max(ias, 40);
        }
        return Math.min(ias, 52);
    }

    private String stage2Illegal(Ste ste) {
        int g = stage2GranuleBits(ste);
        if (g < 0) {
            return "S2TG=3 is reserved";
        }
        if (!granuleSupported(g)) {
            return "S2TG granule " + Ranges.size(1L << g) + " not supported by IDR5";
        }
        if (!ste.s2Aa64()) {
            return "S2AA64=0: AArch32 stage-2 tables (not walked by this tool)";
        }
        if (ste.s2Endi()) {
            return "S2ENDI=1: big-endian stage-2 tables (not walked by this tool)";
        }
        if (ste.s2Ds()) {
            return "S2DS=1: LPA2 stage 2 (not walked by this tool)";
        }
        int min = Math.max(16, 64 - ias());
        if (g == 16 && oasBits() >= 52) {
            min = Math.max(12, 64 - ias());
        }
        int max = bit(idr3, 9) ? (g == 16 ? 47 : 48) : 39;
        int t0sz = ste.s2T0sz();
        if (t0sz < min || t0sz > max) {
            return "S2T0SZ=" + t0sz + " outside [" + min + ", " + max + "]";
        }
        int start = stage2StartLevel(ste);
        if (start < 0) {
            return "S2SL0=" + ste.s2Sl0() + " reserved for the " + Ranges.size(1L << g) + " granule";
        }
        int stride = g - 3;
        int r = (4 - start) * stride + g;
        int ia = 64 - t0sz;
        if (ia < r - stride + 1 || ia > r + 4) {
            return "S2SL0=" + ste.s2Sl0() + " inconsistent with S2T0SZ=" + t0sz + " (start level " + start + " resolves "
                    + (r - stride + 1) + ".." + (r + 4) + " bits)";
        }
        long stall = field(idr0, 25, 24);
        if (ste.s2S() && stall == 1) {
            return "S2S=1 with IDR0.STALL_MODEL=1 (no stall)";
        }
        if (!ste.s2S() && stall == 2) {
            return "S2S=0 with IDR0.STALL_MODEL=2 (stall forced)";
        }
        if ((ste.s2Vmid() >>> 8) != 0 && !bit(idr0, 18)) {
            return "S2VMID[15:8]!=0 without IDR0.VMID16";
        }
        if ((ste.s2Ha() || ste.s2Hd()) && field(idr0, 7, 6) == 0) {
            return "S2HA/S2HD without IDR0.HTTU";
        }
        int ps = Math.min(SmmuStructures.addressSizeBits(ste.s2Ps()), oasBits());
        if (ste.s2Ttb() >>> ps != 0 || (g != 16 && ste.s2Ttb() >>> 48 != 0)) {
            return "S2TTB " + hex(ste.s2Ttb()) + " beyond the effective S2PS";
        }
        return null;
    }

    private VmsaWalker stage2Walker(Ste ste, Trace trace) {
        int g = stage2GranuleBits(ste);
        int ps = Math.min(SmmuStructures.addressSizeBits(ste.s2Ps()), oasBits());
        boolean httu = field(idr0, 7, 6) != 0;
        VmsaWalker.Config c = new VmsaWalker.Config("stage 2", true, g, stage2StartLevel(ste), 64 - ste.s2T0sz(),
                ste.s2Ttb(), ps, ste.s2Affd(), ste.s2Ha() && httu, ste.s2Hd() && ste.s2Ha() && field(idr0, 7, 6) >= 2,
                false, false, false, true, 0);
        return new VmsaWalker(c, TableMemory.physical(memory), trace);
    }

    private String cdIllegal(Cd cd, Ste ste) {
        if (!cd.aa64()) {
            return "AA64=0: AArch32 stage-1 tables (not walked by this tool)";
        }
        if (cd.endi()) {
            return "ENDI=1: big-endian stage-1 tables (not walked by this tool)";
        }
        if (cd.ds()) {
            return "DS=1: LPA2 stage 1 (not walked by this tool)";
        }
        if (!cd.a() && bit(idr0, 26)) {
            return "A=0 with IDR0.TERM_MODEL=1";
        }
        long stall = field(idr0, 25, 24);
        if (cd.s() && stall == 1) {
            return "S=1 with IDR0.STALL_MODEL=1 (no stall)";
        }
        if (!cd.s() && stall == 2) {
            return "S=0 with IDR0.STALL_MODEL=2 (stall forced)";
        }
        if (cd.s() && stall == 0 && ste.s1StallD()) {
            return "S=1 with STE.S1STALLD=1";
        }
        long httu = field(idr0, 7, 6);
        if (cd.hd() && !cd.ha()) {
            return "{HD,HA}=10 is reserved";
        }
        if ((cd.ha() && httu == 0) || (cd.hd() && httu < 2)) {
            return "HA/HD beyond IDR0.HTTU=" + httu;
        }
        if ((cd.asid() >>> 8) != 0 && !bit(idr0, 12)) {
            return "ASID[15:8]!=0 without IDR0.ASID16";
        }
        int ips = Math.min(SmmuStructures.addressSizeBits(cd.ips()), oasBits());
        String r0 = cd.epd0() ? null : rangeIllegal("0", cd.t0sz(), Cd.tg0Bits(cd.tg0()), cd.ttb0(), ips);
        if (r0 != null) {
            return r0;
        }
        return cd.epd1() || !hasTtb1(ste) ? null : rangeIllegal("1", cd.t1sz(), Cd.tg1Bits(cd.tg1()), cd.ttb1(), ips);
    }

    private boolean hasTtb1(Ste ste) {
        return ste.strw() == 0 || bit(cr2, 0);
    }

    private String rangeIllegal(String n, int tsz, int g, long ttb, int ips) {
        if (g < 0) {
            return "TG" + n + " is reserved";
        }
        if (!granuleSupported(g)) {
            return "TG" + n + " granule " + Ranges.size(1L << g) + " not supported by IDR5";
        }
        int min = g == 16 && field(idr5, 11, 10) >= 1 ? 12 : 16;
        int max = bit(idr3, 9) ? (g == 16 ? 47 : 48) : 39;
        if (tsz < min || tsz > max) {
            return "T" + n + "SZ=" + tsz + " outside [" + min + ", " + max + "]";
        }
        if (ttb >>> ips != 0 || (g != 16 && ttb >>> 48 != 0)) {
            return "TTB" + n + " " + hex(ttb) + " beyond the effective IPS (" + ips + " bits)";
        }
        return null;
    }

    private List<VmsaWalker> stage1Walkers(Ste ste, Cd cd, TableMemory space, Trace trace) {
        int ips = Math.min(SmmuStructures.addressSizeBits(cd.ips()), oasBits());
        boolean httu = field(idr0, 7, 6) != 0;
        boolean ha = cd.ha() && httu;
        boolean hd = cd.hd() && ha && field(idr0, 7, 6) >= 2;
        boolean el2 = ste.strw() == 2 && !bit(cr2, 0);
        boolean privileged = bit(idr1, 26) && ste.privcfg() == 3;
        boolean had = bit(idr3, 2);
        List<VmsaWalker> walkers = new ArrayList<>();
        if (!cd.epd0()) {
            int g = Cd.tg0Bits(cd.tg0());
            int ia = 64 - cd.t0sz();
            walkers.add(new VmsaWalker(new VmsaWalker.Config("stage 1 TTB0", false, g,
                    VmsaWalker.stage1StartLevel(g, ia), ia, cd.ttb0(), ips, cd.affd(), ha, hd, privileged, el2,
                    cd.pan(), had && cd.had0(), 0), space, trace));
        }
        if (!cd.epd1() && hasTtb1(ste)) {
            int g = Cd.tg1Bits(cd.tg1());
            int ia = 64 - cd.t1sz();
            walkers.add(new VmsaWalker(new VmsaWalker.Config("stage 1 TTB1", false, g,
                    VmsaWalker.stage1StartLevel(g, ia), ia, cd.ttb1(), ips, cd.affd(), ha, hd, privileged, el2,
                    cd.pan(), had && cd.had1(), -(1L << ia)), space, trace));
        }
        return walkers;
    }

    @Override
    public SortedSet<Integer> pasidsInTables(int rid) {
        SortedSet<Integer> found = new TreeSet<>();
        if (!bit(cr0, 0)) {
            return found;
        }
        Trace scratch = new Trace();
        Located located = locateSte(rid, scratch);
        Ste ste = located.ste;
        if (ste == null || !ste.valid() || !ste.usesStage1() || ste.s1CdMax() == 0 || ssidSize() == 0
                || steIllegal(ste) != null) {
            return found;
        }
        TableMemory space = ste.config() == 0b111
                ? new Stage2Memory(stage2Walker(ste, scratch), ste.s2Ptw(), memory) : TableMemory.physical(memory);
        long ptr = ste.s1ContextPtr();
        long count = 1L << ste.s1CdMax();
        int fmt = ste.s1Fmt();
        if (fmt == 1 || fmt == 2) {
            int leafBits = fmt == 1 ? 6 : 10;
            long l1Count = Math.max(1, count >>> leafBits);
            for (long i = 0; i < l1Count; i++) {
                try {
                    L1Cd l1 = new L1Cd(space.read64(ptr + 8 * i));
                    if (l1.valid()) {
                        scanCds(space, l1.l2Ptr(), Math.min(count, 1L << leafBits), i << leafBits, found);
                    }
                } catch (WalkFault ignored) {
                    // an untranslatable L1CD holds no PASID
                }
            }
        } else {
            scanCds(space, ptr, count, 0, found);
        }
        return found;
    }

    /** Adds the SSIDs of valid CDs in a table of {@code count} CDs at {@code base}, visiting listed pages only. */
    private void scanCds(TableMemory space, long base, long count, long firstSsid, SortedSet<Integer> found) {
        long bytes = count * 64;
        for (long page = base & ~4095L; page < base + bytes; page += 4096) {
            if (space instanceof Stage2Memory s2) {
                if (!s2.listed(page)) {
                    continue;
                }
            } else if (!memory.isListed(page)) {
                page = nextListed(page, base + bytes);
                if (page < 0) {
                    return;
                }
            }
            for (long a = Math.max(page, base); a < Math.min(page + 4096, base + bytes); a += 64) {
                try {
                    if (bit(space.read64(a), 31)) {
                        found.add((int) (firstSsid + (a - base) / 64));
                    }
                } catch (WalkFault ignored) {
                    // not translatable: no CD there
                }
            }
        }
    }

    private long nextListed(long from, long end) {
        var pages = memory.listedPages(from, end);
        return pages.isEmpty() ? -1 : pages.first();
    }

    /** Intermediate physical address space seen through stage 2, for nested CD fetches and stage-1 walks. */
    private static final class Stage2Memory implements TableMemory {
        private final VmsaWalker stage2;
        private final boolean s2ptw;
        private final SparseMemory memory;
        private final Map<Long, VmsaWalker.Leaf> pages = new HashMap<>();

        Stage2Memory(VmsaWalker stage2, boolean s2ptw, SparseMemory memory) {
            this.stage2 = stage2;
            this.s2ptw = s2ptw;
            this.memory = memory;
        }

        private VmsaWalker.Leaf page(long ipa) {
            long page = ipa & ~4095L;
            return pages.computeIfAbsent(page, stage2::translate);
        }

        boolean listed(long ipa) {
            VmsaWalker.Leaf leaf = page(ipa);
            return leaf != null && leaf.read() && memory.isListed(leaf.output());
        }

        @Override
        public long read64(long ipa) throws WalkFault {
            VmsaWalker.Leaf leaf = page(ipa);
            if (leaf == null) {
                throw new WalkFault("stage 2 does not translate IPA " + hex(ipa));
            }
            if (!leaf.read()) {
                throw new WalkFault("stage-2 F_PERMISSION: no read permission (S2AP) at IPA " + hex(ipa));
            }
            if (s2ptw && field(leaf.descriptor(), 5, 4) == 0) {
                throw new WalkFault("stage-2 F_PERMISSION: S2PTW=1 and IPA " + hex(ipa) + " is Device memory");
            }
            return memory.read64(leaf.output() + (ipa & 4095));
        }

        /** A stage-1 descriptor update (AF, dirty state) writes through stage 2, which must grant write. */
        @Override
        public boolean writable(long ipa) {
            VmsaWalker.Leaf leaf = page(ipa);
            return leaf != null && leaf.write();
        }
    }
}
