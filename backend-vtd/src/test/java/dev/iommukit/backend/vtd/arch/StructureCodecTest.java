package dev.iommukit.backend.vtd.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** Pins root, context, PASID-directory and PASID-table entries to digest §2-§5. */
class StructureCodecTest {
    @Test
    void rootEntryHalves() {
        // §2: LP bit 0, LCTP 63:12, UP bit 64, UCTP 127:76
        RootEntry r = new RootEntry(true, 0x1234_5000L, true, 0xABCD_E000L);
        assertThat(r.lower()).isEqualTo(0x1234_5001L);
        assertThat(r.upper()).isEqualTo(0xABCD_E001L);
        assertThat(RootEntry.decode(r.lower(), r.upper())).isEqualTo(r);
        assertThat(RootEntry.address(0x10_0000L, 3)).isEqualTo(0x10_0030L);
        assertThat(RootEntry.halfOffset(0x7F)).isZero();
        assertThat(RootEntry.halfOffset(0x80)).isEqualTo(8);
        assertThat(RootEntry.reservedBits(0x1234_5003L, 48)).isEqualTo(2L);
        assertThat(RootEntry.reservedBits(1L << 50 | 1, 48)).isEqualTo(1L << 50);
    }

    @Test
    void scalableContextEntry() {
        // §3.2: P 0, FPD 1, DTE 2, PASIDE 3, PRE 4, PDTS 11:9, PASIDDIRPTR 63:12, RID_PASID 83:64, RID_PRIV 84
        ScalableContextEntry e = new ScalableContextEntry(true, true, true, true, true, 7, 0x5555_5000L, 0xABCDE, true);
        long[] q = e.encode();
        assertThat(q[0]).isEqualTo(0x5555_5000L | 7L << 9 | 0x1F);
        assertThat(q[1]).isEqualTo(0xABCDEL | 1L << 20);
        assertThat(q[2]).isZero();
        assertThat(q[3]).isZero();
        assertThat(ScalableContextEntry.decode(q[0], q[1])).isEqualTo(e);
        assertThat(e.directoryEntries()).isEqualTo(1 << 14);
        assertThat(ScalableContextEntry.pdtsFor(20)).isEqualTo(7);
        assertThat(ScalableContextEntry.pdtsFor(8)).isZero();
        assertThat(ScalableContextEntry.address(0x2000, 0x85)).isEqualTo(0x2000 + 5 * 32);
        assertThat(ScalableContextEntry.QW0_RESERVED).isEqualTo(0x1E0L);
        assertThat(ScalableContextEntry.QW1_RESERVED).isEqualTo(0xFFFF_FFFF_FFE0_0000L);
    }

    @Test
    void pasidDirectoryEntry() {
        // §4: P 0, FPD 1, 11:2 reserved, SMPTBLPTR 63:12; index PASID[19:6]
        assertThat(new PasidDirectoryEntry(true, true, 0x7000).encode()).isEqualTo(0x7003L);
        assertThat(PasidDirectoryEntry.decode(0x7001L)).isEqualTo(new PasidDirectoryEntry(true, false, 0x7000));
        assertThat(PasidDirectoryEntry.index(0xFFFFF)).isEqualTo(0x3FFF);
        assertThat(PasidDirectoryEntry.address(0x1000, 0x41)).isEqualTo(0x1008L);
        assertThat(PasidDirectoryEntry.RESERVED).isEqualTo(0xFFCL);
    }

    @Test
    void pasidTableEntryFieldPositions() {
        // §5 (absolute bits; qword = bit/64)
        PasidTableEntry all = new PasidTableEntry(true, true, 3, true, 4, true, 0xAAAA_A000L, 0xBEEF, true, true, true, true, 1, true,
                true, true, true, 0xCCCC_C000L);
        long[] q = all.encode();
        assertThat(q[0]).isEqualTo(1L | 2L | 3L << 2 | 1L << 5 | 4L << 6 | 1L << 9 | 0xAAAA_A000L);
        assertThat(q[1]).isEqualTo(0xBEEFL | 1L << 23 | 1L << 24);
        assertThat(q[2]).isEqualTo(1L | 2L | 1L << 2 | 1L << 4 | 1L << 5 | 1L << 6 | 1L << 7 | 0xCCCC_C000L);
        for (int i = 3; i < 8; i++) {
            assertThat(q[i]).isZero();
        }
        assertThat(PasidTableEntry.decode(q[0], q[1], q[2])).isEqualTo(all);
        assertThat(PasidTableEntry.index(0x12345)).isEqualTo(5);
        assertThat(PasidTableEntry.address(0x4000, 0x41)).isEqualTo(0x4040L);
        assertThat(PasidTableEntry.QW1_RESERVED).isEqualTo(0x7F_0000L);
        assertThat(PasidTableEntry.QW1_MTS_FIELDS).isEqualTo(0xFE00_0000L);
        assertThat(PasidTableEntry.QW2_RESERVED).isEqualTo(0xF00L);
        // PGTT (8:6): 001 FL only, 010 SL only, 011 nested, 100 pass-through (Linux PASID_ENTRY_PGTT_*)
        assertThat(List.of(PasidTableEntry.PGTT_FIRST_LEVEL, PasidTableEntry.PGTT_SECOND_LEVEL, PasidTableEntry.PGTT_NESTED,
                PasidTableEntry.PGTT_PASS_THROUGH)).containsExactly(1, 2, 3, 4);
    }

    @Test
    void pasidEntryShapesUsedByTheDriver() {
        long[] sl = PasidTableEntry.secondLevel(2, 0x9000, 5, true, true).encode();
        assertThat(sl[0]).isEqualTo(0x9000L | 2L << 6 | 2L << 2 | 1);
        assertThat(sl[1]).isEqualTo(5L | 1L << 23);
        assertThat(sl[2]).isEqualTo(1L);
        long[] fl = PasidTableEntry.firstLevel(0, 0x8000, 6, true, true, true).encode();
        assertThat(fl[0]).isEqualTo(1L << 6 | 1);
        assertThat(fl[2]).isEqualTo(0x8000L | 1L << 4 | 1);
        long[] pt = PasidTableEntry.passThrough(2, 1, true, true).encode();
        assertThat(pt[0]).isEqualTo(4L << 6 | 2L << 2 | 1);
        assertThat(PasidTableEntry.NOT_PRESENT.encode()).containsOnly(0L);
        // P=0 with FPD (bit 1): what an SVA quiesce writes.
        assertThat(PasidTableEntry.NOT_PRESENT_UNRECORDED.encode()).containsExactly(2L, 0L, 0L, 0L, 0L, 0L, 0L, 0L);
        // Native SVA bind: FL only, FLPM=00, SRE=0, WPE=0, PWSNP, FLPTPTR = CR3.
        long[] sva = PasidTableEntry.firstLevel(0, 0x1234_5000L, 7, true, false, false).encode();
        assertThat(sva).containsExactly(1L << 6 | 1, 7L | 1L << 23, 0x1234_5000L, 0L, 0L, 0L, 0L, 0L);
    }

    @Property(tries = 200)
    void pasidEntryRoundTrip(@ForAll boolean p, @ForAll @IntRange(max = 7) int aw, @ForAll @IntRange(max = 7) int pgtt,
                             @ForAll @IntRange(max = 0xFFFF) int did, @ForAll @IntRange(max = 3) int flpm, @ForAll boolean flag) {
        PasidTableEntry e = new PasidTableEntry(p, flag, aw, !flag, pgtt, flag, 0x1_2345_6000L, did, flag, !flag, flag, !flag, flpm,
                flag, !flag, flag, !flag, 0x7_6543_2000L);
        long[] q = e.encode();
        assertThat(PasidTableEntry.decode(q[0], q[1], q[2])).isEqualTo(e);
    }
}
