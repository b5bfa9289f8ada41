package dev.iommukit.cli.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.cli.inspect.SmmuStructures.Cd;
import dev.iommukit.cli.inspect.SmmuStructures.Ste;
import dev.iommukit.cli.inspect.VtdStructures.PasidEntry;
import dev.iommukit.cli.inspect.VtdStructures.ScalableContextEntry;
import org.junit.jupiter.api.Test;

/** Pins each decoded field to its position in the spec sheets, one bit pattern per field. */
class StructureFieldsTest {

    @Test
    void smmuSteFields_sec3() {
        long[] d = new long[8];
        d[0] = 1L | 0b111L << 1 | 2L << 4 | 0x000F_FFFF_FFFF_FFC0L | 20L << 59;
        d[1] = 0b10L | 1L << 27 | 2L << 30 | 3L << 48;
        d[2] = 0xBEEFL | 25L << 32 | 2L << 38 | 2L << 46 | 6L << 48 | 1L << 51 | 1L << 53 | 1L << 54 | 1L << 56;
        d[3] = 0x000F_FFFF_FFFF_FFF0L | 1L << 3;
        Ste ste = new Ste(d);
        assertThat(ste.valid()).isTrue();
        assertThat(ste.config()).isEqualTo(0b111);
        assertThat(ste.s1Fmt()).isEqualTo(2);
        assertThat(ste.s1ContextPtr()).isEqualTo(0x000F_FFFF_FFFF_FFC0L); // [51:6]
        assertThat(ste.s1CdMax()).isEqualTo(20); // [63:59]
        assertThat(ste.s1Dss()).isEqualTo(2); // d1[1:0]
        assertThat(ste.s1StallD()).isTrue(); // d1 bit 27
        assertThat(ste.strw()).isEqualTo(2); // d1[31:30]
        assertThat(ste.privcfg()).isEqualTo(3); // d1[49:48]
        assertThat(ste.s2Vmid()).isEqualTo(0xBEEF); // d2[15:0]
        assertThat(ste.s2T0sz()).isEqualTo(25); // d2[37:32]
        assertThat(ste.s2Sl0()).isEqualTo(2); // d2[39:38]
        assertThat(ste.s2Tg()).isEqualTo(2); // d2[47:46]
        assertThat(ste.s2Ps()).isEqualTo(6); // d2[50:48]
        assertThat(ste.s2Aa64()).isTrue(); // d2 bit 51
        assertThat(ste.s2Endi()).isFalse(); // d2 bit 52
        assertThat(ste.s2Affd()).isTrue(); // d2 bit 53
        assertThat(ste.s2Ptw()).isTrue(); // d2 bit 54
        assertThat(ste.s2Hd()).isFalse(); // d2 bit 55
        assertThat(ste.s2Ha()).isTrue(); // d2 bit 56
        assertThat(ste.s2Ds()).isTrue(); // d3 bit 3
        assertThat(ste.s2Ttb()).isEqualTo(0x000F_FFFF_FFFF_FFF0L); // d3[51:4]
        assertThat(ste.describe(0x4010000)).startsWith(
                "STE @0x4010000: V=1 Config=0b111(nested) S1Fmt=2 S1ContextPtr=0xfffffffffffc0 S1CDMax=20 "
                        + "S1DSS=0b10(SSID0)");
    }

    @Test
    void smmuCdFields_sec4_2_sec4_3() {
        long[] d = new long[8];
        d[0] = 25 | 2L << 6 | 1L << 14 | 1L << 15 | 30L << 16 | 3L << 22 | 1L << 30 | 1L << 31 | 4L << 32 | 1L << 35
                | 1L << 38 | 1L << 40 | 1L << 41 | 1L << 42 | 1L << 43 | 1L << 44 | 1L << 45 | 1L << 46
                | 0xABCDL << 48;
        d[1] = 1L << 1 | 0x0000_1234_5678_9AB0L;
        d[2] = 1L << 1 | 0x0000_0000_0000_1000L | 1L << 58;
        d[3] = 0x44FF_0400L;
        Cd cd = new Cd(d);
        assertThat(cd.t0sz()).isEqualTo(25);
        assertThat(cd.tg0()).isEqualTo(2);
        assertThat(cd.epd0()).isTrue();
        assertThat(cd.endi()).isTrue();
        assertThat(cd.t1sz()).isEqualTo(30);
        assertThat(cd.tg1()).isEqualTo(3);
        assertThat(cd.epd1()).isTrue();
        assertThat(cd.valid()).isTrue();
        assertThat(cd.ips()).isEqualTo(4);
        assertThat(cd.affd()).isTrue();
        assertThat(cd.tbi0()).isTrue();
        assertThat(cd.tbi1()).isFalse();
        assertThat(cd.pan()).isTrue();
        assertThat(cd.aa64()).isTrue();
        assertThat(cd.hd()).isTrue();
        assertThat(cd.ha()).isTrue();
        assertThat(cd.s()).isTrue();
        assertThat(cd.r()).isTrue();
        assertThat(cd.a()).isTrue();
        assertThat(cd.asid()).isEqualTo(0xABCD);
        assertThat(cd.had0()).isTrue();
        assertThat(cd.ttb0()).isEqualTo(0x0000_1234_5678_9AB0L);
        assertThat(cd.had1()).isTrue();
        assertThat(cd.ttb1()).isEqualTo(0x1000);
        assertThat(cd.ds()).isTrue();
        assertThat(cd.mair()).isEqualTo(0x44FF_0400L);
        assertThat(Cd.tg0Bits(0)).isEqualTo(12);
        assertThat(Cd.tg0Bits(1)).isEqualTo(16);
        assertThat(Cd.tg0Bits(2)).isEqualTo(14);
        assertThat(Cd.tg1Bits(1)).isEqualTo(14); // TG1: different encoding
        assertThat(Cd.tg1Bits(2)).isEqualTo(12);
        assertThat(Cd.tg1Bits(3)).isEqualTo(16);
        assertThat(Cd.tg1Bits(0)).isEqualTo(-1);
    }

    @Test
    void smmuAddressSizes_sec1_4() {
        assertThat(java.util.stream.IntStream.range(0, 8).map(SmmuStructures::addressSizeBits).boxed().toList())
                .containsExactly(32, 36, 40, 42, 44, 48, 52, 56);
    }

    @Test
    void vmsaStage1StartLevels_sec8_1() {
        assertThat(VmsaWalker.stage1StartLevel(12, 48)).isEqualTo(0); // T0SZ 16
        assertThat(VmsaWalker.stage1StartLevel(12, 40)).isEqualTo(0); // T0SZ 24
        assertThat(VmsaWalker.stage1StartLevel(12, 39)).isEqualTo(1); // T0SZ 25
        assertThat(VmsaWalker.stage1StartLevel(12, 30)).isEqualTo(2); // T0SZ 34
        assertThat(VmsaWalker.stage1StartLevel(14, 48)).isEqualTo(0); // 16K T0SZ 16
        assertThat(VmsaWalker.stage1StartLevel(14, 47)).isEqualTo(1); // 16K T0SZ 17
        assertThat(VmsaWalker.stage1StartLevel(14, 36)).isEqualTo(2); // 16K T0SZ 28
        assertThat(VmsaWalker.stage1StartLevel(16, 48)).isEqualTo(1); // 64K T0SZ 16
        assertThat(VmsaWalker.stage1StartLevel(16, 42)).isEqualTo(2); // 64K T0SZ 22
        assertThat(VmsaWalker.stage1StartLevel(16, 29)).isEqualTo(3); // 64K T0SZ 35
    }

    @Test
    void vtdContextEntryFields_sec3_2() {
        long[] q = {1L | 1L << 1 | 1L << 2 | 1L << 3 | 1L << 4 | 7L << 9 | 0x0000_0012_3456_7000L, 0xABCDEL | 1L << 20,
                0, 0};
        ScalableContextEntry c = new ScalableContextEntry(q);
        assertThat(c.present()).isTrue();
        assertThat(c.fpd()).isTrue();
        assertThat(c.dte()).isTrue();
        assertThat(c.paside()).isTrue();
        assertThat(c.pre()).isTrue();
        assertThat(c.pdts()).isEqualTo(7);
        assertThat(c.directoryEntries()).isEqualTo(16384);
        assertThat(c.pasidDirPtr()).isEqualTo(0x0000_0012_3456_7000L);
        assertThat(c.ridPasid()).isEqualTo(0xABCDE); // [83:64]
        assertThat(c.ridPriv()).isTrue(); // 84
        assertThat(c.reservedSet()).isFalse();
        assertThat(new ScalableContextEntry(new long[] {1L << 5, 0, 0, 0}).reservedSet()).isTrue(); // 8:5
        assertThat(new ScalableContextEntry(new long[] {0, 1L << 21, 0, 0}).reservedSet()).isTrue(); // 127:85
    }

    @Test
    void vtdPasidEntryFields_sec5() {
        long[] q = new long[8];
        q[0] = 1L | 1L << 1 | 3L << 2 | 1L << 5 | 0b011L << 6 | 1L << 9 | 0x0000_0045_6789_A000L;
        q[1] = 0x1234L | 1L << 23 | 1L << 24;
        q[2] = 1L | 1L << 1 | 1L << 2 | 1L << 4 | 1L << 7 | 0x0000_0000_CAFE_0000L;
        PasidEntry pe = new PasidEntry(q);
        assertThat(pe.present()).isTrue();
        assertThat(pe.aw()).isEqualTo(3); // 4:2
        assertThat(pe.pgtt()).isEqualTo(3); // 8:6
        assertThat(pe.slade()).isTrue(); // 9
        assertThat(pe.slptptr()).isEqualTo(0x0000_0045_6789_A000L); // 63:12
        assertThat(pe.did()).isEqualTo(0x1234); // 79:64
        assertThat(pe.pwsnp()).isTrue(); // 87
        assertThat(pe.sre()).isTrue(); // 128
        assertThat(pe.ere()).isTrue(); // 129
        assertThat(pe.flpm()).isEqualTo(1); // 131:130
        assertThat(pe.wpe()).isTrue(); // 132
        assertThat(pe.eafe()).isTrue(); // 135
        assertThat(pe.flptptr()).isEqualTo(0xCAFE_0000L); // 191:140
        assertThat(pe.reservedSet()).isFalse();
        long[] bad = q.clone();
        bad[3] = 1;
        assertThat(new PasidEntry(bad).reservedSet()).isTrue(); // 511:192
        assertThat(pe.describe(0x1000)).contains("PGTT=0b011(nested)", "FLPM=1", "DID=4660");
    }
}
