package dev.iommukit.cli.inspect;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A hand-built SMMUv3 machine for tests. Every encoder below pins the bit positions of spec/smmuv3.md, section by
 * section, independently of the code under test.
 */
final class SmmuFixture {
    static final String UNIT = "smmu0";

    // §1.2 IDR0: S2P 0, S1P 1, TTF [3:2]=2 (AArch64), HTTU [7:6], ASID16 12, VMID16 18, CD2L 19, ST_LEVEL [28:27]=1.
    static final long IDR0 = 1L | 1L << 1 | 2L << 2 | 1L << 12 | 1L << 18 | 1L << 19 | 1L << 27;
    // §1.3 IDR1: SIDSIZE [5:0]=16, SSIDSIZE [10:6]=20.
    static final long IDR1 = 16 | 20L << 6;
    // §1.4 IDR5: OAS [2:0]=5 (48 bits), GRAN4K 4, GRAN16K 5, GRAN64K 6.
    static final long IDR5 = 5 | 1L << 4 | 1L << 5 | 1L << 6;

    final TestDump dump = new TestDump();
    final Map<String, Long> registers = new LinkedHashMap<>();
    long strtab;

    /** Linear stream table of 2^log2size STEs (§1.7 FMT=0, §2). */
    static SmmuFixture linear(int log2size) {
        SmmuFixture f = new SmmuFixture();
        f.strtab = f.dump.alloc(64L << log2size);
        f.registers.put("STRTAB_BASE", f.strtab);
        f.registers.put("STRTAB_BASE_CFG", (long) log2size);
        return f;
    }

    /** 2-level stream table (§1.7: FMT [17:16]=1, SPLIT [10:6], LOG2SIZE [5:0]). */
    static SmmuFixture twoLevel(int log2size, int split) {
        SmmuFixture f = new SmmuFixture();
        f.strtab = f.dump.alloc(8L << Math.max(0, log2size - split));
        f.registers.put("STRTAB_BASE", f.strtab);
        f.registers.put("STRTAB_BASE_CFG", (long) log2size | (long) split << 6 | 1L << 16);
        return f;
    }

    private SmmuFixture() {
        registers.put("IDR0", IDR0);
        registers.put("IDR1", IDR1);
        registers.put("IDR5", IDR5);
        registers.put("CR0", 1L); // §1.5 SMMUEN bit 0
        registers.put("GBPA", 0L);
    }

    /** L1STD (§2): Span [4:0], L2Ptr [51:6]. */
    static long l1std(int span, long l2ptr) {
        return span | l2ptr;
    }

    /** STE dword 0 (§3.1): V 0, Config [3:1], S1Fmt [5:4], S1ContextPtr [51:6], S1CDMax [63:59]. */
    static long ste0(int config, int s1fmt, long contextPtr, int s1cdmax) {
        return 1L | (long) config << 1 | (long) s1fmt << 4 | contextPtr | (long) s1cdmax << 59;
    }

    /** STE dword 1 (§3.2): S1DSS [1:0]. */
    static long ste1(int s1dss) {
        return s1dss;
    }

    /**
     * STE dword 2 (§3.3): S2VMID [15:0], S2T0SZ [37:32], S2SL0 [39:38], S2TG [47:46], S2PS [50:48], S2AA64 51.
     */
    static long ste2(int vmid, int s2t0sz, int s2sl0, int s2tg, int s2ps) {
        return vmid | (long) s2t0sz << 32 | (long) s2sl0 << 38 | (long) s2tg << 46 | (long) s2ps << 48 | 1L << 51;
    }

    /**
     * CD dword 0 (§4.2): T0SZ [5:0], TG0 [7:6], EPD1 30, V 31, IPS [34:32], AA64 41, R 45, A 46, ASET 47,
     * ASID [63:48]. EPD1=1 as Linux writes it.
     */
    static long cd0(int t0sz, int tg0, int ips, int asid) {
        return t0sz | (long) tg0 << 6 | 1L << 30 | 1L << 31 | (long) ips << 32 | 1L << 41 | 1L << 45 | 1L << 46
                | 1L << 47 | (long) asid << 48;
    }

    /** CD dword 1 (§4.3): TTB0 [51:4]. */
    static long cd1(long ttb0) {
        return ttb0;
    }

    /** Stage-1 leaf attributes (§7.3): AF 10, AP[1] 6 (EL0 access), AP[2] 7 (read-only), SH [9:8]=ISH. */
    static long s1(boolean el0, boolean readOnly) {
        return 1L << 10 | 3L << 8 | (el0 ? 1L << 6 : 0) | (readOnly ? 1L << 7 : 0);
    }

    /** Stage-2 leaf attributes (§7.4): MemAttr [5:2]=0xF, S2AP[0] 6 read, S2AP[1] 7 write, AF 10. */
    static long s2(boolean read, boolean write) {
        return 0xFL << 2 | (read ? 1L << 6 : 0) | (write ? 1L << 7 : 0) | 1L << 10 | 3L << 8;
    }

    /** Writes the 8 dwords of an STE for {@code sid} in a linear table. */
    void steLinear(int sid, long... dwords) {
        dump.write(strtab + 64L * sid, dwords);
    }

    Dump build(int... rids) {
        dump.unit(UNIT, "smmuv3", registers, rids);
        return dump.dump();
    }

    static UnitWalker walker(Dump d) {
        return UnitWalker.forUnit(d.units().get(0), d.memory()).orElseThrow();
    }

    static WalkResult walk(Dump d, int rid, int pasid) {
        return walker(d).walk(new Requester(rid, pasid));
    }

    static List<String> ranges(WalkResult r) {
        return r.ranges().stream().map(Mapping::toString).toList();
    }
}
