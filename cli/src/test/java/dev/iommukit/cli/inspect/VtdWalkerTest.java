package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.SmmuFixture.ranges;
import static dev.iommukit.cli.inspect.VtdFixture.FL_LEAF;
import static dev.iommukit.cli.inspect.VtdFixture.FL_TABLE;
import static dev.iommukit.cli.inspect.VtdFixture.SL_RW;
import static dev.iommukit.cli.inspect.VtdFixture.pe0;
import static dev.iommukit.cli.inspect.VtdFixture.pe1;
import static dev.iommukit.cli.inspect.VtdFixture.pe2;
import static dev.iommukit.cli.inspect.VtdFixture.walk;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class VtdWalkerTest {
    static final int NONE = Requester.NO_PASID;
    static final int RID = 0x20;

    @Test
    void passThrough_pgtt100_viaRidPasid0_sec3_2_sec5() {
        VtdFixture f = new VtdFixture();
        long dir = f.context(RID, false, 0, 0);
        f.pasidEntry(dir, 0, pe0(2, 0b100, 0), pe1(1, true), 1); // SRE=1 as Linux writes it
        Dump d = f.build(RID);
        WalkResult r = walk(d, RID, NONE);
        assertThat(r.kind()).isEqualTo(WalkResult.Kind.IDENTITY);
        assertThat(r.structures()).hasSize(4);
        assertThat(r.structures().get(0)).startsWith("root entry @" + Ranges.hex(f.rootTable + 0)).contains("LP=1");
        assertThat(r.structures().get(1)).contains("P=1", "PASIDE=0", "PDTS=0(128 dir entries)", "RID_PASID=0");
        assertThat(r.structures().get(3)).contains("PGTT=0b100(pass-through)", "DID=1", "PWSNP=1", "SRE=1");
        assertThat(walk(d, RID, 5).reason()).startsWith("SCT.6");
    }

    @Test
    void secondLevel4Level_2mPageAnd4kPages_cumulativeRw_sec8() {
        VtdFixture f = new VtdFixture();
        long sl = f.dump.alloc(4096);
        f.dump.intelMap(4, sl, 0x20_0000, 0x8000_0000L, 2, SL_RW, SL_RW); // 2M page
        f.dump.intelMap(4, sl, 0x1000, 0x9000_1000L, 1, SL_RW, 0b01); // read-only leaf
        f.dump.intelMap(4, sl, 0x4000_0000L, 0xA000_0000L, 1, SL_RW, SL_RW);
        // Clear W in the PDE above 0x40000000: the leaf's W no longer counts (§8: permissions ANDed).
        long pml4e = f.dump.read64(sl) & ~0xFFFL;
        long pdpe = f.dump.read64(pml4e + 8) & ~0xFFFL;
        f.dump.write64(pdpe, f.dump.read64(pdpe) & ~0b10L);
        long dir = f.context(RID, false, 0, 0);
        f.pasidEntry(dir, 0, pe0(2, 0b010, sl), pe1(7, true), 0);
        WalkResult r = walk(f.build(RID), RID, NONE);
        assertThat(ranges(r)).containsExactly(
                "0x1000-0x1fff -> 0x90001000 r- 4K pages",
                "0x200000-0x3fffff -> 0x80000000 rw 2M pages",
                "0x40000000-0x40000fff -> 0xa0000000 r- 4K pages");
        assertThat(r.structures().get(3)).contains("AW=0b010", "PGTT=0b010(SL only)", "SLPTPTR=" + Ranges.hex(sl));
    }

    @Test
    void secondLevel_psInPml4e_isReservedAndUnreachable_sec8() {
        VtdFixture f = new VtdFixture();
        long sl = f.dump.alloc(4096);
        f.dump.write64(sl, 0x8000_0000L | 1L << 7 | SL_RW);
        long dir = f.context(RID, false, 0, 0);
        f.pasidEntry(dir, 0, pe0(2, 0b010, sl), pe1(7, true), 0);
        WalkResult r = walk(f.build(RID), RID, NONE);
        assertThat(r.kind()).isEqualTo(WalkResult.Kind.BLOCKED);
        assertThat(r.notes()).anyMatch(n -> n.contains("PS set in a level-4 entry -> SSS.3"));
    }

    @Test
    void firstLevel4Level_userAccessNeedsUsEverywhere_canonicalHighHalf_sec7() {
        VtdFixture f = new VtdFixture();
        long fl = f.dump.alloc(4096);
        f.dump.intelMap(4, fl, 0x1000, 0x5000_1000L, 1, FL_TABLE, FL_LEAF);
        f.dump.intelMap(4, fl, 0x2000, 0x5000_2000L, 1, FL_TABLE, FL_LEAF & ~0b100L); // U/S=0: supervisor only
        f.dump.intelMap(4, fl, 0x3000, 0x5000_3000L, 1, FL_TABLE, FL_LEAF & ~0b10L); // R/W=0: read-only
        f.dump.intelMap(4, fl, 0x20_0000, 0x6000_0000L, 2, FL_TABLE, FL_LEAF); // 2M page
        f.dump.intelMap(4, fl, 0xFFFF_8000_0000_0000L, 0x7000_0000L, 1, FL_TABLE, FL_LEAF);
        long dir = f.context(RID, false, 0, 0);
        f.pasidEntry(dir, 0, pe0(0, 0b001, 0), pe1(3, true), pe2(0, fl));
        WalkResult r = walk(f.build(RID), RID, NONE);
        assertThat(ranges(r)).containsExactly(
                "0x1000-0x1fff -> 0x50001000 rw 4K pages",
                "0x3000-0x3fff -> 0x50003000 r- 4K pages",
                "0x200000-0x3fffff -> 0x60000000 rw 2M pages",
                "0xffff800000000000-0xffff800000000fff -> 0x70000000 rw 4K pages");
        assertThat(r.structures().get(3)).contains("PGTT=0b001(FL only)", "FLPM=0", "FLPTPTR=" + Ranges.hex(fl));
    }

    @Test
    void firstLevel_accessedFlagWithoutSnoopedWalk_faults_sec7() {
        VtdFixture f = new VtdFixture();
        long fl = f.dump.alloc(4096);
        f.dump.intelMap(4, fl, 0x1000, 0x5000_1000L, 1, FL_TABLE, FL_LEAF & ~0x20L); // A=0
        f.dump.intelMap(4, fl, 0x2000, 0x5000_2000L, 1, FL_TABLE, FL_LEAF & ~0x40L); // D=0
        long dir = f.context(RID, false, 0, 0);
        f.pasidEntry(dir, 0, pe0(0, 0b001, 0), pe1(3, false), pe2(0, fl)); // PWSNP=0
        WalkResult r = walk(f.build(RID), RID, NONE);
        assertThat(ranges(r)).containsExactly("0x2000-0x2fff -> 0x50002000 r- 4K pages");
        assertThat(r.notes()).anyMatch(n -> n.contains("SFS.9"));
    }

    @Test
    void pasidRequests_paside_ridPasidAndPresentBits_sec6() {
        VtdFixture f = new VtdFixture();
        long sl = f.dump.alloc(4096);
        f.dump.intelMap(4, sl, 0x1000, 0x1000, 1, SL_RW, SL_RW);
        long dir = f.context(RID, true, 1, 0);
        f.pasidEntry(dir, 0, pe0(2, 0b100, 0), pe1(1, true), 0);
        f.pasidEntry(dir, 5, pe0(2, 0b010, sl), pe1(2, true), 0);
        f.pasidEntry(dir, 300, pe0(2, 0b010, sl) & ~1L, pe1(2, true), 0); // P=0
        Dump d = f.build(RID);
        assertThat(walk(d, RID, NONE).kind()).isEqualTo(WalkResult.Kind.IDENTITY);
        assertThat(ranges(walk(d, RID, 5))).containsExactly("0x1000-0x1fff -> 0x1000 rw 4K pages");
        assertThat(walk(d, RID, 0).reason()).startsWith("SCT.9");
        assertThat(walk(d, RID, 300).reason()).startsWith("SPT.2");
        assertThat(walk(d, RID, 6).reason()).startsWith("SPT.2");
        assertThat(walk(d, RID, 1 << 14).reason()).startsWith("SCT.7"); // PDTS=1: 256 dir entries
        assertThat(UnitWalker.forUnit(d.units().get(0), d.memory()).orElseThrow().pasidsInTables(RID))
                .containsExactly(0, 5);
    }

    @Test
    void nested_firstLevelTablesAtGpa_outputThroughSecondLevel_sec9() {
        VtdFixture f = new VtdFixture();
        long sl = f.dump.alloc(4096);
        long hostFl = f.dump.alloc(4 * 4096);
        long gpaFl = 0x1000_0000L;
        for (int i = 0; i < 4; i++) {
            f.dump.intelMap(4, sl, gpaFl + 4096L * i, hostFl + 4096L * i, 1, SL_RW, SL_RW);
        }
        f.dump.intelMap(4, sl, 0x2000_0000L, 0xC000_0000L, 2, SL_RW, 0b01); // guest RAM, read-only at SL
        // Guest FL tables at GPAs: PML4 -> PDPT -> PD -> PT, leaf for VA 0x7000 -> GPA 0x20007000.
        for (int level = 0; level < 3; level++) {
            f.dump.write64(hostFl + 4096L * level, (gpaFl + 4096L * (level + 1)) | FL_TABLE);
        }
        f.dump.write64(hostFl + 3 * 4096L + 8 * 7, 0x2000_7000L | FL_LEAF);
        long dir = f.context(RID, true, 0, 0);
        f.pasidEntry(dir, 9, pe0(2, 0b011, sl), pe1(4, true), pe2(0, gpaFl));
        WalkResult r = walk(f.build(RID), RID, 9);
        assertThat(ranges(r)).containsExactly("0x7000-0x7fff -> 0xc0007000 r- 4K pages / SL 2M pages");
    }

    @Test
    void translationDisabled_andUpperContextHalf_sec1_4_sec2() {
        VtdFixture off = new VtdFixture();
        off.registers.put("GSTS_REG", 0L);
        assertThat(walk(off.build(RID), RID, NONE).kind()).isEqualTo(WalkResult.Kind.IDENTITY);

        VtdFixture f = new VtdFixture();
        int upper = 0x0190; // bus 1, devfn 0x90: UP / UCTP at bits 64 / 127:76
        long dir = f.context(upper, false, 0, 0);
        f.pasidEntry(dir, 0, pe0(2, 0b100, 0), pe1(1, true), 0);
        Dump d = f.build(upper, 0x0110);
        WalkResult r = walk(d, upper, NONE);
        assertThat(r.kind()).isEqualTo(WalkResult.Kind.IDENTITY);
        assertThat(r.structures().get(0)).contains("LP=0", "UP=1");
        assertThat(walk(d, 0x0110, NONE).reason()).isEqualTo("SRT.2: root entry LP=0");
    }

    @Test
    void outputInInterruptRange_isCutOut_sec6() {
        VtdFixture f = new VtdFixture();
        long sl = f.dump.alloc(4096);
        f.dump.intelMap(4, sl, 0x20_0000, 0xFEE0_0000L, 2, SL_RW, SL_RW);
        f.dump.intelMap(4, sl, 0x40_0000, 0xFF00_0000L, 2, SL_RW, SL_RW);
        long dir = f.context(RID, false, 0, 0);
        f.pasidEntry(dir, 0, pe0(2, 0b010, sl), pe1(7, true), 0);
        // 0xFEEx_xxxx is cut out; the rest of that 2M page (0xFEF00000-0xFEFFFFFF) and the next page stay.
        assertThat(ranges(walk(f.build(RID), RID, NONE))).containsExactly("0x300000-0x5fffff -> 0xfef00000 rw 2M pages");
    }

    @Test
    void secondLevel3Level_aw001_with1gPage_andInputLimit_sec8() {
        VtdFixture f = new VtdFixture();
        long sl = f.dump.alloc(4096);
        f.dump.intelMap(3, sl, 0x4000_0000L, 0x1_0000_0000L, 3, SL_RW, SL_RW); // 1G page in the PDPE
        long dir = f.context(RID, false, 0, 0);
        f.pasidEntry(dir, 0, pe0(1, 0b010, sl), pe1(7, true), 0);
        assertThat(ranges(walk(f.build(RID), RID, NONE))).containsExactly(
                "0x40000000-0x7fffffff -> 0x100000000 rw 1G pages");
    }

    @Test
    void firstLevel5Level_needsFl5lp_sec5_sec7() {
        VtdFixture f = new VtdFixture();
        long fl = f.dump.alloc(4096);
        f.dump.intelMap(5, fl, 0x00AB_0000_0000_0000L, 0x5000_0000L, 1, FL_TABLE, FL_LEAF);
        long dir = f.context(RID, false, 0, 0);
        f.pasidEntry(dir, 0, pe0(0, 0b001, 0), pe1(3, true), pe2(1, fl));
        assertThat(walk(f.build(RID), RID, NONE).reason()).startsWith("SPT.4: FLPM=1 unsupported");
        VtdFixture g = new VtdFixture();
        g.registers.put("CAP_REG", VtdFixture.CAP | 1L << 60); // FL5LP
        long fl5 = g.dump.alloc(4096);
        g.dump.intelMap(5, fl5, 0x00AB_0000_0000_0000L, 0x5000_0000L, 1, FL_TABLE, FL_LEAF);
        long dir5 = g.context(RID, false, 0, 0);
        g.pasidEntry(dir5, 0, pe0(0, 0b001, 0), pe1(3, true), pe2(1, fl5));
        assertThat(ranges(walk(g.build(RID), RID, NONE))).containsExactly(
                "0xab000000000000-0xab000000000fff -> 0x50000000 rw 4K pages");
    }

    @Test
    void legacyMode_ttm00_contextTtAndSecondLevel_sec3_1() {
        VtdFixture f = new VtdFixture();
        f.registers.put("RTADDR_REG", f.rootTable); // TTM=00
        long ctp = f.dump.alloc(4096);
        long sl = f.dump.alloc(4096);
        f.dump.intelMap(4, sl, 0x1000, 0x2000, 1, SL_RW, SL_RW);
        f.dump.write64(f.rootTable, ctp | 1); // legacy root: P 0, CTP [63:12]
        int devfn = RID & 0xFF;
        f.dump.write(ctp + 16L * devfn, 1L | sl, 2L | 5L << 8); // P, TT=00, SLPTPTR; AW [66:64]=010, DID [87:72]=5
        f.dump.write(ctp + 16L * (devfn + 1), 1L | 2L << 2, 2L); // TT=10 pass-through
        Dump d = f.build(RID, RID + 1);
        WalkResult r = walk(d, RID, NONE);
        assertThat(r.structures().get(1)).contains("(legacy): P=1 FPD=0 TT=0b00", "AW=0b010 DID=5");
        assertThat(ranges(r)).containsExactly("0x1000-0x1fff -> 0x2000 rw 4K pages");
        assertThat(walk(d, RID, 3).reason()).startsWith("RTA.2");
        assertThat(walk(d, RID + 1, NONE).kind()).isEqualTo(WalkResult.Kind.IDENTITY);
    }

    @Test
    void secondLevelAccessedFlags_withSladeButNoSnoopedWalk_fault_sec8() {
        VtdFixture f = new VtdFixture();
        f.registers.put("ECAP_REG", VtdFixture.ECAP | 1L << 45); // SLADS
        long sl = f.dump.alloc(4096);
        long accessed = 1L << 8;
        f.dump.intelMap(4, sl, 0x1000, 0x1000, 1, SL_RW | accessed, SL_RW | accessed | 1L << 9); // A and D set
        f.dump.intelMap(4, sl, 0x2000, 0x2000, 1, SL_RW | accessed, SL_RW | accessed); // D=0: no write
        f.dump.intelMap(4, sl, 0x4000_0000L, 0x3000, 1, SL_RW | accessed, SL_RW | accessed | 1L << 9);
        long pml4e = f.dump.read64(sl) & ~0xFFFL;
        f.dump.write64(pml4e + 8, f.dump.read64(pml4e + 8) & ~accessed); // A=0 in the PDPE above 0x40000000
        long dir = f.context(RID, false, 0, 0);
        f.pasidEntry(dir, 0, pe0(2, 0b010, sl) | 1L << 9, pe1(7, false), 0); // SLADE=1, PWSNP=0
        WalkResult r = walk(f.build(RID), RID, NONE);
        assertThat(ranges(r)).containsExactly(
                "0x1000-0x1fff -> 0x1000 rw 4K pages",
                "0x2000-0x2fff -> 0x2000 r- 4K pages");
        assertThat(r.notes()).anyMatch(n -> n.contains("SSS.5"));
    }

    @Test
    void ridPriv_makesRequestsWithoutPasidSupervisor_needsSre_sec3_2_sec7() {
        VtdFixture f = new VtdFixture();
        f.registers.put("ECAP_REG", VtdFixture.ECAP | 1L << 53); // RPRIVS
        long fl = f.dump.alloc(4096);
        f.dump.intelMap(4, fl, 0x1000, 0x1000, 1, FL_TABLE, FL_LEAF & ~0b110L); // supervisor, read-only
        long dir = f.context(RID, false, 0, 0);
        f.dump.write64(f.dump.read64(f.rootTable) & ~0xFFFL | (RID & 0x7F) * 32L + 8, 1L << 20); // RID_PRIV [84]
        f.pasidEntry(dir, 0, pe0(0, 0b001, 0), pe1(3, true), pe2(0, fl));
        assertThat(walk(f.build(RID), RID, NONE).reason()).startsWith("SPT.6");

        VtdFixture g = new VtdFixture();
        g.registers.put("ECAP_REG", VtdFixture.ECAP | 1L << 53);
        long fl2 = g.dump.alloc(4096);
        g.dump.intelMap(4, fl2, 0x1000, 0x1000, 1, FL_TABLE, FL_LEAF & ~0b110L);
        long dir2 = g.context(RID, false, 0, 0);
        g.dump.write64(g.dump.read64(g.rootTable) & ~0xFFFL | (RID & 0x7F) * 32L + 8, 1L << 20);
        g.pasidEntry(dir2, 0, pe0(0, 0b001, 0), pe1(3, true), pe2(0, fl2) | 1L); // SRE=1, WPE=0
        assertThat(ranges(walk(g.build(RID), RID, NONE))).containsExactly("0x1000-0x1fff -> 0x1000 rw 4K pages");
    }
}
