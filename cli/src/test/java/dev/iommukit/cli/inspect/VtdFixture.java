package dev.iommukit.cli.inspect;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A hand-built VT-d scalable-mode machine for tests. Every encoder pins the bit positions of spec/vtd.md.
 */
final class VtdFixture {
    static final String UNIT = "dmar0";

    // §1.2 CAP_REG: SAGAW [12:8] bits 1,2 (39/48-bit), MGAW [21:16]=47, SLLPS [37:34]=0b0011, FL1GP 56.
    static final long CAP = 0b00110L << 8 | 47L << 16 | 0b11L << 34 | 1L << 56;
    // §1.3 ECAP_REG: QI 1, PT 6, NEST 26, SRS 31, PSS [39:35]=19, PASID 40, SMTS 43, SLTS 46, FLTS 47, SMPWCS 48.
    static final long ECAP = 1L << 1 | 1L << 6 | 1L << 26 | 1L << 31 | 19L << 35 | 1L << 40 | 1L << 43 | 1L << 46
            | 1L << 47 | 1L << 48;
    /** SL non-leaf entry bits (§8): R 0, W 1. */
    static final long SL_RW = 0b11;
    /** FL non-leaf entry bits (§7): P 0, R/W 1, U/S 2, A 5. */
    static final long FL_TABLE = 0x27;
    /** FL leaf bits: P, R/W, U/S, A, D 6. */
    static final long FL_LEAF = 0x67;

    final TestDump dump = new TestDump();
    final Map<String, Long> registers = new LinkedHashMap<>();
    final long rootTable;

    VtdFixture() {
        rootTable = dump.alloc(4096);
        registers.put("CAP_REG", CAP);
        registers.put("ECAP_REG", ECAP);
        registers.put("GSTS_REG", 1L << 31); // §1.4 TES bit 31
        registers.put("RTADDR_REG", rootTable | 1L << 10); // §1.5 TTM [11:10]=01, RTA [63:12]
    }

    /**
     * Installs a scalable-mode context for {@code rid} (root entry §2: LP 0 / LCTP [63:12], UP 64 / UCTP [127:76];
     * context entry §3.2: P 0, PASIDE 3, PDTS [11:9], PASIDDIRPTR [63:12], RID_PASID [83:64]) and returns the PASID
     * directory address.
     */
    long context(int rid, boolean paside, int pdts, int ridPasid) {
        int bus = rid >>> 8;
        int devfn = rid & 0xFF;
        long rootEntry = rootTable + 16L * bus;
        boolean upper = devfn >= 0x80;
        long half = rootEntry + (upper ? 8 : 0);
        long ctp = dump.read64(half) & ~0xFFFL;
        if (ctp == 0) {
            ctp = dump.alloc(4096);
            dump.write64(half, ctp | 1);
        }
        long dir = dump.alloc(8L << (pdts + 7));
        dump.write(ctp + 32L * (devfn & 0x7F), 1L | (paside ? 1L << 3 : 0) | (long) pdts << 9 | dir, ridPasid);
        return dir;
    }

    /** Writes a PASID entry (§5) for {@code pasid} under directory {@code dir} (dir entry §4: P 0, SMPTBLPTR). */
    long pasidEntry(long dir, int pasid, long q0, long q1, long q2) {
        long dirEntry = dir + 8L * (pasid >>> 6);
        long table = dump.read64(dirEntry) & ~0xFFFL;
        if (table == 0) {
            table = dump.alloc(4096);
            dump.write64(dirEntry, table | 1);
        }
        long at = table + 64L * (pasid & 0x3F);
        dump.write(at, q0, q1, q2);
        return at;
    }

    /** PASID entry qword 0 (§5): P 0, AW [4:2], PGTT [8:6], SLPTPTR [63:12]. */
    static long pe0(int aw, int pgtt, long slptptr) {
        return 1L | (long) aw << 2 | (long) pgtt << 6 | slptptr;
    }

    /** PASID entry qword 1: DID [79:64], PWSNP 87. */
    static long pe1(int did, boolean pwsnp) {
        return did | (pwsnp ? 1L << 23 : 0);
    }

    /** PASID entry qword 2: SRE 128, FLPM [131:130], WPE 132, FLPTPTR [191:140]. */
    static long pe2(int flpm, long flptptr) {
        return (long) flpm << 2 | flptptr;
    }

    Dump build(int... rids) {
        dump.unit(UNIT, "vtd", registers, rids);
        return dump.dump();
    }

    static WalkResult walk(Dump d, int rid, int pasid) {
        return UnitWalker.forUnit(d.units().get(0), d.memory()).orElseThrow().walk(new Requester(rid, pasid));
    }
}
