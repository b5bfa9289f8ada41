package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.SmmuFixture.cd0;
import static dev.iommukit.cli.inspect.SmmuFixture.cd1;
import static dev.iommukit.cli.inspect.SmmuFixture.l1std;
import static dev.iommukit.cli.inspect.SmmuFixture.ranges;
import static dev.iommukit.cli.inspect.SmmuFixture.s1;
import static dev.iommukit.cli.inspect.SmmuFixture.s2;
import static dev.iommukit.cli.inspect.SmmuFixture.ste0;
import static dev.iommukit.cli.inspect.SmmuFixture.ste1;
import static dev.iommukit.cli.inspect.SmmuFixture.ste2;
import static dev.iommukit.cli.inspect.SmmuFixture.walk;
import static dev.iommukit.cli.inspect.SmmuFixture.walker;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SmmuV3WalkerTest {
    static final int NONE = Requester.NO_PASID;
    static final int SID = 0x18;

    /** Stage 1 with 4K granule and T0SZ=16 (48-bit VA, start level 0, §8.1) at {@code ttb}. */
    static long s1Cd(SmmuFixture f, long ttb) {
        long cd = f.dump.alloc(64);
        f.dump.write(cd, cd0(16, 0, 5, 1), cd1(ttb));
        return cd;
    }

    @Test
    void linearStreamTable_stage1_4kPagesAnd2mBlocks_sec2_sec3_sec4_sec7() {
        SmmuFixture f = SmmuFixture.linear(8);
        long ttb = f.dump.alloc(4096);
        f.dump.vmsaMap(12, 0, 48, ttb, 0x1000, 0x8000_1000L, 3, s1(true, false));
        f.dump.vmsaMap(12, 0, 48, ttb, 0x2000, 0x8000_2000L, 3, s1(true, true));
        f.dump.vmsaMap(12, 0, 48, ttb, 0x20_0000, 0x9000_0000L, 2, s1(true, false));
        f.dump.vmsaMap(12, 0, 48, ttb, 0x40_0000, 0x9020_0000L, 2, s1(true, false));
        f.steLinear(SID, ste0(0b101, 0, s1Cd(f, ttb), 0), ste1(0));
        WalkResult r = walk(f.build(SID), SID, NONE);

        assertThat(r.kind()).isEqualTo(WalkResult.Kind.TRANSLATED);
        assertThat(ranges(r)).containsExactly(
                "0x1000-0x1fff -> 0x80001000 rw 4K pages",
                "0x2000-0x2fff -> 0x80002000 r- 4K pages",
                "0x200000-0x5fffff -> 0x90000000 rw 2M blocks");
        assertThat(r.structures().get(0)).startsWith("STE @0x").contains("V=1 Config=0b101(S1 only) S1Fmt=0");
        assertThat(r.structures().get(1)).startsWith("CD @0x").contains("V=1 T0SZ=16 TG0=0(4K)", "AA64=1", "A=1",
                "ASID=1", "TTB0=" + Ranges.hex(ttbOf(r)));
    }

    private static long ttbOf(WalkResult r) {
        String cd = r.structures().get(1);
        return Long.parseUnsignedLong(cd.replaceAll(".*TTB0=0x([0-9a-f]+).*", "$1"), 16);
    }

    @Test
    void unprivilegedAccess_followsApBits_apTable_andAccessFlag_sec7_3() {
        SmmuFixture f = SmmuFixture.linear(8);
        long ttb = f.dump.alloc(4096);
        f.dump.vmsaMap(12, 0, 48, ttb, 0x1000, 0x1000, 3, s1(false, false)); // AP=00: privileged only
        f.dump.vmsaMap(12, 0, 48, ttb, 0x2000, 0x2000, 3, s1(true, false) & ~(1L << 10)); // AF=0
        f.dump.vmsaMap(12, 0, 48, ttb, 0x3000, 0x3000, 3, s1(true, false));
        // A second 1G region whose L2 table descriptor has APTable=0b10 (no write) at bits [62:61].
        f.dump.vmsaMap(12, 0, 48, ttb, 0x4000_0000L, 0x5000, 3, s1(true, false));
        long l0 = ttb;
        long l1 = f.dump.read64(l0) & 0xFFFF_FFFF_F000L;
        f.dump.write64(l1 + 8, f.dump.read64(l1 + 8) | 2L << 61);
        f.steLinear(SID, ste0(0b101, 0, s1Cd(f, ttb), 0), 0);

        assertThat(ranges(walk(f.build(SID), SID, NONE))).containsExactly(
                "0x3000-0x3fff -> 0x3000 rw 4K pages",
                "0x40000000-0x40000fff -> 0x5000 r- 4K pages");
    }

    @Test
    void twoLevelStreamTable_l1stdSpanAndL2Ptr_sec2() {
        SmmuFixture f = SmmuFixture.twoLevel(16, 8);
        long l2 = f.dump.alloc(64 * 256);
        int sid = 0x1_23; // L1 index 1, L2 index 0x23
        f.dump.write64(f.strtab + 8, l1std(9, l2));
        f.dump.write(l2 + 64 * 0x23, ste0(0b100, 0, 0, 0), 0);
        Dump d = f.build(sid, 0x2_00, 0x1_ff);
        WalkResult r = walk(d, sid, NONE);
        assertThat(r.kind()).isEqualTo(WalkResult.Kind.IDENTITY);
        assertThat(r.structures().get(0)).isEqualTo("L1STD @" + Ranges.hex(f.strtab + 8) + ": Span=9 L2Ptr="
                + Ranges.hex(l2));
        assertThat(walk(d, 0x2_00, NONE).reason()).startsWith("C_BAD_STREAMID: L1STD Span=0");
        assertThat(walk(d, 0x1_ff, NONE).reason()).startsWith("C_BAD_STE");
    }

    @Test
    void twoLevelStreamTable_indexBeyondSpan_isBadStreamId_sec2() {
        SmmuFixture f = SmmuFixture.twoLevel(16, 8);
        long l2 = f.dump.alloc(64 * 256);
        f.dump.write64(f.strtab, l1std(3, l2)); // 2^(3-1) = 4 STEs
        f.dump.write(l2 + 64 * 4, ste0(0b100, 0, 0, 0), 0);
        assertThat(walk(f.build(4), 4, NONE).reason()).startsWith("C_BAD_STREAMID: StreamID[SPLIT-1:0]=4");
    }

    @Test
    void bypassSte_isIdentity_andRefusesSubstreams_sec3_1_sec10() {
        SmmuFixture f = SmmuFixture.linear(8);
        f.steLinear(SID, ste0(0b100, 0, 0, 0), 0);
        Dump d = f.build(SID);
        assertThat(walk(d, SID, NONE).kind()).isEqualTo(WalkResult.Kind.IDENTITY);
        assertThat(walk(d, SID, 1).reason()).startsWith("C_BAD_SUBSTREAMID");
    }

    @Test
    void abortSte_invalidSte_andOutOfRangeSid_block_sec3() {
        SmmuFixture f = SmmuFixture.linear(5);
        f.steLinear(1, ste0(0b000, 0, 0, 0), 0);
        f.steLinear(2, ste0(0b100, 0, 0, 0) & ~1L, 0); // V=0
        Dump d = f.build(1, 2, 0x40);
        assertThat(walk(d, 1, NONE).reason()).contains("Config=0b000");
        assertThat(walk(d, 2, NONE).reason()).isEqualTo("C_BAD_STE: STE V=0");
        assertThat(walk(d, 0x40, NONE).reason()).startsWith("C_BAD_STREAMID: StreamID 0x40 >= 2^5");
    }

    @Test
    void disabledSmmu_followsGbpaAbort_sec1_6() {
        SmmuFixture f = SmmuFixture.linear(5);
        f.registers.put("CR0", 0L);
        assertThat(walk(f.build(1), 1, NONE).kind()).isEqualTo(WalkResult.Kind.IDENTITY);
        SmmuFixture g = SmmuFixture.linear(5);
        g.registers.put("CR0", 0L);
        g.registers.put("GBPA", 1L << 20);
        assertThat(walk(g.build(1), 1, NONE).kind()).isEqualTo(WalkResult.Kind.BLOCKED);
    }

    @Test
    void granule64k_startsAtLevel2ForT0sz22_and512mBlocks_sec7_2_sec8_1() {
        SmmuFixture f = SmmuFixture.linear(8);
        long ttb = f.dump.alloc(65536);
        // T0SZ=22: IA=42, 64K granule: levels = ceil((42-16)/13) = 2, start level 2 (8192 entries).
        f.dump.vmsaMap(16, 2, 42, ttb, 0x1_0000, 0x8001_0000L, 3, s1(true, false));
        f.dump.vmsaMap(16, 2, 42, ttb, 0x2000_0000L, 0xA000_0000L, 2, s1(true, true));
        long cd = f.dump.alloc(64);
        f.dump.write(cd, cd0(22, 1, 5, 1), cd1(ttb)); // TG0=1: 64K
        f.steLinear(SID, ste0(0b101, 0, cd, 0), 0);
        assertThat(ranges(walk(f.build(SID), SID, NONE))).containsExactly(
                "0x10000-0x1ffff -> 0x80010000 rw 64K pages",
                "0x20000000-0x3fffffff -> 0xa0000000 r- 512M blocks");
    }

    @Test
    void stage2Only_concatenatedInitialTables_sec3_3_sec8_2() {
        SmmuFixture f = SmmuFixture.linear(8);
        // S2T0SZ=24 (IA=40) with 4K and S2SL0=1 (start level 1): R=39 < 40, so 2 concatenated tables.
        long s2ttb = f.dump.alloc(2 * 4096);
        f.dump.vmsaMap(12, 1, 40, s2ttb, 0x80_4000_0000L, 0x7000_0000L, 2, s2(true, true)); // second table
        f.dump.vmsaMap(12, 1, 40, s2ttb, 0x3000, 0x6000_3000L, 3, s2(true, false));
        f.steLinear(SID, ste0(0b110, 0, 0, 0), 0, ste2(1, 24, 1, 0, 5), s2ttb);
        WalkResult r = walk(f.build(SID), SID, NONE);
        assertThat(r.structures().get(0)).contains("Config=0b110(S2 only)", "S2VMID=1 S2T0SZ=24 S2SL0=1 S2TG=0(4K)",
                "S2PS=5(48-bit) S2AA64=1", "S2TTB=" + Ranges.hex(s2ttb));
        assertThat(ranges(r)).containsExactly(
                "0x3000-0x3fff -> 0x60003000 r- S2 4K pages",
                "0x8040000000-0x80401fffff -> 0x70000000 rw S2 2M blocks");
    }

    @Test
    void stage2_inconsistentStartLevel_isBadSte_sec8_2() {
        SmmuFixture f = SmmuFixture.linear(8);
        // S2T0SZ=24 (IA 40) with S2SL0=0 (start L2): would need 2^(40-30) = 1024 > 16 tables.
        f.steLinear(SID, ste0(0b110, 0, 0, 0), 0, ste2(1, 24, 0, 0, 5), f.dump.alloc(4096));
        assertThat(walk(f.build(SID), SID, NONE).reason()).startsWith("C_BAD_STE: S2SL0=0 inconsistent");
    }

    @Test
    void substreams_linearCdTable_s1dssSsid0_sec4_1_sec10() {
        SmmuFixture f = SmmuFixture.linear(8);
        long cds = f.dump.alloc(64 * 16);
        long ttb0 = f.dump.alloc(4096);
        long ttb3 = f.dump.alloc(4096);
        f.dump.vmsaMap(12, 0, 48, ttb0, 0x1000, 0x1000, 3, s1(true, false));
        f.dump.vmsaMap(12, 0, 48, ttb3, 0x3000, 0x3000, 3, s1(true, false));
        f.dump.write(cds, cd0(16, 0, 5, 1), cd1(ttb0));
        f.dump.write(cds + 3 * 64, cd0(16, 0, 5, 3), cd1(ttb3));
        f.steLinear(SID, ste0(0b101, 0, cds, 4), ste1(0b10));
        Dump d = f.build(SID);
        assertThat(ranges(walk(d, SID, NONE))).containsExactly("0x1000-0x1fff -> 0x1000 rw 4K pages");
        assertThat(walk(d, SID, 0).reason()).startsWith("F_STREAM_DISABLED");
        assertThat(ranges(walk(d, SID, 3))).containsExactly("0x3000-0x3fff -> 0x3000 rw 4K pages");
        assertThat(walk(d, SID, 2).reason()).isEqualTo("C_BAD_CD: CD V=0");
        assertThat(walk(d, SID, 16).reason()).startsWith("C_BAD_SUBSTREAMID: SSID 16 >= 2^S1CDMax");
        assertThat(walker(d).pasidsInTables(SID)).containsExactly(0, 3);
    }

    @Test
    void substreams_s1dssTerminateAndBypass_sec3_2_sec10() {
        SmmuFixture f = SmmuFixture.linear(8);
        f.steLinear(1, ste0(0b101, 0, f.dump.alloc(4096), 4), ste1(0b00));
        f.steLinear(2, ste0(0b101, 0, f.dump.alloc(4096), 4), ste1(0b01));
        Dump d = f.build(1, 2);
        assertThat(walk(d, 1, NONE).reason()).startsWith("F_STREAM_DISABLED");
        assertThat(walk(d, 2, NONE).kind()).isEqualTo(WalkResult.Kind.IDENTITY);
    }

    @Test
    void twoLevelCdTable_l1cdValidAndL2Ptr_sec4_1() {
        SmmuFixture f = SmmuFixture.linear(8);
        long l1 = f.dump.alloc(8 * 16);
        long leaf = f.dump.alloc(64 * 64);
        long ttb = f.dump.alloc(4096);
        f.dump.vmsaMap(12, 0, 48, ttb, 0x7000, 0x7000, 3, s1(true, false));
        int ssid = 64 + 5; // L1 index 1 (SSID[9:6]), CD 5 in the 4K leaf (SSID[5:0])
        f.dump.write64(l1 + 8, leaf | 1); // L1CD: V 0, L2Ptr [51:12]
        f.dump.write(leaf + 5 * 64, cd0(16, 0, 5, 9), cd1(ttb));
        f.steLinear(SID, ste0(0b101, 1, l1, 10), ste1(0b10));
        Dump d = f.build(SID);
        WalkResult r = walk(d, SID, ssid);
        assertThat(r.structures().get(1)).isEqualTo("L1CD @" + Ranges.hex(l1 + 8) + ": V=1 L2Ptr=" + Ranges.hex(leaf));
        assertThat(ranges(r)).containsExactly("0x7000-0x7fff -> 0x7000 rw 4K pages");
        assertThat(walk(d, SID, 5).reason()).startsWith("C_BAD_SUBSTREAMID: L1CD V=0");
        assertThat(walker(d).pasidsInTables(SID)).containsExactly(ssid);
    }

    @Test
    void nested_cdAndStage1TablesAtIpa_outputThroughStage2_sec9() {
        SmmuFixture f = SmmuFixture.linear(8);
        long s2ttb = f.dump.alloc(2 * 4096);
        // Guest-physical layout: CD at IPA 0x1000_0000, stage-1 table pages at IPA 0x1000_1000..., data at 0x2000_0000.
        long cdPa = f.dump.alloc(4096);
        long hostTables = f.dump.alloc(16 * 4096);
        f.dump.vmsaMap(12, 1, 40, s2ttb, 0x1000_0000L, cdPa, 3, s2(true, false));
        for (int i = 0; i < 4; i++) {
            f.dump.vmsaMap(12, 1, 40, s2ttb, 0x1000_1000L + 4096L * i, hostTables + 4096L * i, 3, s2(true, false));
        }
        f.dump.vmsaMap(12, 1, 40, s2ttb, 0x2000_0000L, 0x9000_0000L, 2, s2(true, true));
        // Guest stage-1 tables, written at their host PAs with IPA pointers: L0 at IPA 0x10001000, L1, L2, L3.
        long ipaL0 = 0x1000_1000L;
        for (int level = 0; level < 3; level++) {
            f.dump.write64(hostTables + 4096L * level, (ipaL0 + 4096L * (level + 1)) | 0b11);
        }
        f.dump.write64(hostTables + 3 * 4096L + 8 * 5, 0x2000_5000L | s1(true, false) | 0b11);
        f.dump.write(cdPa, cd0(16, 0, 5, 1), cd1(ipaL0));
        f.steLinear(SID, ste0(0b111, 0, 0x1000_0000L, 0), 0, ste2(1, 24, 1, 0, 5), s2ttb);
        WalkResult r = walk(f.build(SID), SID, NONE);
        assertThat(ranges(r)).containsExactly("0x5000-0x5fff -> 0x90005000 rw 4K pages / S2 2M blocks");
    }

    /**
     * Nested, CD.HA=1 (§4.2 bit 43) with IDR0.HTTU=1 (§1.2 [7:6]): a guest leaf with AF=0 is usable only when the
     * hardware can set AF, a write through stage 2 to the table page; a read-only stage-2 mapping of that page
     * leaves it unreachable (stage-2 permission fault on the update, CLASS=TT).
     */
    @Test
    void nested_accessFlagUpdateNeedsStage2Write_sec9() {
        for (boolean tablesWritable : new boolean[] {true, false}) {
            SmmuFixture f = SmmuFixture.linear(8);
            f.registers.put("IDR0", SmmuFixture.IDR0 | 1L << 6);
            long s2ttb = f.dump.alloc(2 * 4096);
            long cdPa = f.dump.alloc(4096);
            long hostTables = f.dump.alloc(16 * 4096);
            f.dump.vmsaMap(12, 1, 40, s2ttb, 0x1000_0000L, cdPa, 3, s2(true, false));
            for (int i = 0; i < 4; i++) {
                f.dump.vmsaMap(12, 1, 40, s2ttb, 0x1000_1000L + 4096L * i, hostTables + 4096L * i, 3,
                        s2(true, tablesWritable));
            }
            f.dump.vmsaMap(12, 1, 40, s2ttb, 0x2000_0000L, 0x9000_0000L, 2, s2(true, true));
            long ipaL0 = 0x1000_1000L;
            for (int level = 0; level < 3; level++) {
                f.dump.write64(hostTables + 4096L * level, (ipaL0 + 4096L * (level + 1)) | 0b11);
            }
            long leafWithoutAf = (0x2000_5000L | s1(true, false) | 0b11) & ~(1L << 10);
            f.dump.write64(hostTables + 3 * 4096L + 8 * 5, leafWithoutAf);
            f.dump.write(cdPa, cd0(16, 0, 5, 1) | 1L << 43, cd1(ipaL0));
            f.steLinear(SID, ste0(0b111, 0, 0x1000_0000L, 0), 0, ste2(1, 24, 1, 0, 5), s2ttb);
            WalkResult r = walk(f.build(SID), SID, NONE);
            if (tablesWritable) {
                assertThat(ranges(r)).containsExactly("0x5000-0x5fff -> 0x90005000 rw 4K pages / S2 2M blocks");
            } else {
                assertThat(r.ranges()).isEmpty();
                assertThat(r.notes()).anyMatch(n -> n.contains("AF=0, and stage 2 denies the write that sets it"));
            }
        }
    }

    @Test
    void nested_stage1TableOutsideStage2_faultsThere_sec9() {
        SmmuFixture f = SmmuFixture.linear(8);
        long s2ttb = f.dump.alloc(2 * 4096);
        long cdPa = f.dump.alloc(4096);
        f.dump.vmsaMap(12, 1, 40, s2ttb, 0x1000_0000L, cdPa, 3, s2(true, false));
        f.dump.write(cdPa, cd0(16, 0, 5, 1), cd1(0x5555_0000L)); // TTB0 IPA not mapped at stage 2
        f.steLinear(SID, ste0(0b111, 0, 0x1000_0000L, 0), 0, ste2(1, 24, 1, 0, 5), s2ttb);
        WalkResult r = walk(f.build(SID), SID, NONE);
        assertThat(r.kind()).isEqualTo(WalkResult.Kind.BLOCKED);
        assertThat(r.notes()).anyMatch(n -> n.contains("stage 2 does not translate IPA 0x55550000"));
    }

    @Test
    void granule16k_twoEntryLevel0_and32mBlocks_sec7_2_sec8_1() {
        SmmuFixture f = SmmuFixture.linear(8);
        long ttb = f.dump.alloc(4096);
        // T0SZ=16 with 16K: start level 0 with a 2-entry table (IA[47]).
        f.dump.vmsaMap(14, 0, 48, ttb, 0x8000_0000_0000L, 0x4000_0000L, 2, s1(true, false));
        f.dump.vmsaMap(14, 0, 48, ttb, 0x4000, 0x8000_4000L, 3, s1(true, false));
        long cd = f.dump.alloc(64);
        f.dump.write(cd, cd0(16, 2, 5, 1), cd1(ttb)); // TG0=2: 16K
        f.steLinear(SID, ste0(0b101, 0, cd, 0), 0);
        assertThat(ranges(walk(f.build(SID), SID, NONE))).containsExactly(
                "0x4000-0x7fff -> 0x80004000 rw 16K pages",
                "0x800000000000-0x800001ffffff -> 0x40000000 rw 32M blocks");
    }

    @Test
    void ttb1Region_isWalkedWhenEpd1IsClear_withTg1Encoding_sec4_2() {
        SmmuFixture f = SmmuFixture.linear(8);
        long ttb1 = f.dump.alloc(4096);
        // T1SZ=25: IA=39, start level 1; the region is 0xffffff8000000000 upwards.
        f.dump.vmsaMap(12, 1, 39, ttb1, 0x1000, 0x6000_1000L, 3, s1(true, false));
        long cd = f.dump.alloc(64);
        long d0 = (cd0(16, 0, 5, 1) & ~(1L << 30)) | 1L << 14 | 25L << 16 | 2L << 22; // EPD0=1, EPD1=0, TG1=2 (4K)
        f.dump.write(cd, d0, 0, ttb1);
        f.steLinear(SID, ste0(0b101, 0, cd, 0), 0);
        assertThat(ranges(walk(f.build(SID), SID, NONE))).containsExactly(
                "0xffffff8000001000-0xffffff8000001fff -> 0x60001000 rw 4K pages");
    }

    @Test
    void selfReferencingTables_stopAtTheWalkBudget_andSaySo() {
        SmmuFixture f = SmmuFixture.linear(8);
        long ttb = f.dump.alloc(4096);
        for (int i = 0; i < 512; i++) {
            f.dump.write64(ttb + 8L * i, ttb | s1(true, false) | 0b11); // every entry points back at the table
        }
        long cd = f.dump.alloc(64);
        f.dump.write(cd, cd0(16, 0, 5, 1), cd1(ttb));
        f.steLinear(SID, ste0(0b101, 0, cd, 0), 0);
        WalkResult r = walk(f.build(SID), SID, NONE);
        assertThat(r.reason()).endsWith("walk truncated");
        assertThat(r.notes()).anyMatch(n -> n.startsWith("walk stopped after ") && n.endsWith("the ranges below are incomplete"));
    }

    @Test
    void privcfgPrivileged_withAttrPermsOvr_makesApBitsPrivileged_sec3_2_sec7_3() {
        SmmuFixture f = SmmuFixture.linear(8);
        f.registers.put("IDR1", SmmuFixture.IDR1 | 1L << 26); // ATTR_PERMS_OVR
        long ttb = f.dump.alloc(4096);
        f.dump.vmsaMap(12, 0, 48, ttb, 0x1000, 0x1000, 3, s1(false, false)); // AP=00: privileged RW
        f.dump.vmsaMap(12, 0, 48, ttb, 0x2000, 0x2000, 3, s1(false, true)); // AP=10: privileged RO
        f.steLinear(SID, ste0(0b101, 0, s1Cd(f, ttb), 0), 3L << 48); // PRIVCFG [49:48]=0b11
        f.steLinear(SID + 1, ste0(0b101, 0, s1Cd(f, ttb), 0), 0);
        Dump d = f.build(SID, SID + 1);
        assertThat(ranges(walk(d, SID, NONE))).containsExactly(
                "0x1000-0x1fff -> 0x1000 rw 4K pages",
                "0x2000-0x2fff -> 0x2000 r- 4K pages");
        assertThat(walk(d, SID + 1, NONE).kind()).isEqualTo(WalkResult.Kind.BLOCKED);
    }
}
