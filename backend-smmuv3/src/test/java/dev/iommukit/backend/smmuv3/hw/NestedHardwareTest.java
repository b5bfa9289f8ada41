package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.hw.HardwareRig.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultStage;
import org.junit.jupiter.api.Test;

/**
 * Nested (Config=111) walks programmed by hand: combined entries and TLBI by VA, aborts on the
 * stage 2 walk and on fetches through stage 2, and the stage every event is reported with.
 */
class NestedHardwareTest {
    private final HardwareRig rig = new HardwareRig().enable();

    // stage 2: 4K granule, IA 40 (S2T0SZ=24) starting at level 1 with two concatenated tables;
    // IPA [0, 2M) -> PA [RAM, RAM + 2M) as a block, IPA [2M, 4M) -> PA [RAM + 2M, RAM + 4M) as 512 pages,
    // IPA [1G, 2G) -> PA [RAM + 1G, ...) as a 1 GiB block, outside the rig's 64 MiB of RAM
    private static final long S2TTB = FREE + 0x80000;
    private static final long S2L2 = FREE + 0x82000;
    private static final long S2L3 = FREE + 0x83000;
    private static final long S2_ATTRS = 0xF << 2 | 3 << 6 | 3 << 8 | 1 << 10;
    private static final long STE2 = 9L | 24L << 32 | 1L << 38 | 5L << 48 | 1L << 51 | 1L << 58;
    // stage 1 (IPAs): CD, root, L1, L2
    private static final long CD = 0x9000;
    private static final long ROOT = 0xA000;
    private static final long L1 = 0xB000;
    private static final long L2 = 0xC000;
    private static final long VA = 0x4000_0000L;

    private static long cd0(int asid) {
        return 16L | 3 << 12 | 1L << 30 | 1L << 31 | 5L << 32 | 1L << 41 | 1L << 45 | 1L << 46 | (long) asid << 48;
    }

    /** Guest memory write: IPA [0, 4M) is PA RAM + IPA. */
    private void g(long ipa, long... words) {
        rig.words(RAM + ipa, words);
    }

    private void build() {
        rig.words(S2TTB, S2L2 | 3, RAM + (1L << 30) | 1 | S2_ATTRS);
        rig.words(S2L2, RAM | 1 | S2_ATTRS, S2L3 | 3);
        for (int i = 0; i < 512; i++) {
            rig.words(S2L3 + 8L * i, RAM + 0x20_0000L + 0x1000L * i | 3 | S2_ATTRS);
        }
        g(ROOT, L1 | 3);
        g(L1 + 8, L2 | 3);
        // a 2 MiB stage 1 block VA [1G, 1G + 2M) -> IPA [2M, 4M): stage 2 maps it with 4 KiB pages
        g(L2, 0x20_0000L | 1 | 1 << 6 | 3 << 8 | 1 << 10 | 1 << 11);
        g(CD, cd0(7), ROOT);
        rig.ste(1, 1 | 0b111 << 1 | CD, 0, STE2, S2TTB);
    }

    private Fault fault(long address) {
        var out = rig.dma(1, Pasid.NONE, address, AccessType.READ);
        assertThat(out.isTranslated()).isFalse();
        return out.fault();
    }

    @Test
    void oneTlbiByVaRemovesEveryCombinedEntryOfAStage1Block() {
        build();
        for (int k : new int[] {0, 5, 300}) {
            assertThat(rig.dma(1, Pasid.NONE, VA + 0x1000L * k, AccessType.READ).physicalAddress()).isEqualTo(RAM + 0x20_0000L + 0x1000L * k);
        }
        g(L2, 0L | 1 | 1 << 6 | 3 << 8 | 1 << 10 | 1 << 11); // the block now maps IPA [0, 2M)
        assertThat(rig.dma(1, Pasid.NONE, VA + 0x5000, AccessType.READ).physicalAddress()).as("stale").isEqualTo(RAM + 0x20_5000L);
        rig.command(Command.tlbiS2Ipa(9, 0x20_5000L, true));
        assertThat(rig.dma(1, Pasid.NONE, VA + 0x5000, AccessType.READ).physicalAddress()).as("TLBI_S2_IPA leaves combined entries")
                .isEqualTo(RAM + 0x20_5000L);
        rig.command(Command.tlbiNhVa(9, 7, VA + 0x12_3000L, true)); // any address of the stage 1 block
        for (int k : new int[] {0, 5, 300}) {
            assertThat(rig.dma(1, Pasid.NONE, VA + 0x1000L * k, AccessType.READ).physicalAddress()).as("page %d", k)
                    .isEqualTo(RAM + 0x1000L * k);
        }
    }

    @Test
    void everyNestedEventCarriesItsStage() {
        build();
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).isTranslated()).isTrue();
        // stage 1 translation fault
        Fault s1 = fault(VA + (4L << 20));
        assertThat(s1.record().name()).isEqualTo("F_TRANSLATION");
        assertThat(s1.stage()).isEqualTo(FaultStage.STAGE_1);
        // stage 1 walk reading a PA outside RAM (stage 2 maps the IPA there): F_WALK_EABT, S2=0, CLASS=TT
        g(L1 + 16, (1L << 30) | 3);
        Fault eabt = fault(VA + (1L << 30));
        assertThat(eabt.record().name()).isEqualTo("F_WALK_EABT");
        assertThat(eabt.record().fields()).containsEntry("S2", 0L).containsEntry("CLASS", 1L)
                .containsEntry("InputAddr", VA + (1L << 30)).containsEntry("FetchAddr", RAM + (1L << 30));
        assertThat(eabt.stage()).isEqualTo(FaultStage.NONE);
        // the CD behind a stage 2 mapping to nowhere: F_CD_FETCH with the PA (S2=0)
        rig.ste(2, 1 | 0b111 << 1 | (1L << 30) + 0x40, 0, STE2, S2TTB);
        Fault cdFetch = rig.dma(2, Pasid.NONE, VA, AccessType.READ).fault();
        assertThat(cdFetch.record().words()).containsExactly(0x09L | 2L << 32, 0L, 0L, RAM + (1L << 30) + 0x40);
        assertThat(cdFetch.stage()).isEqualTo(FaultStage.NONE);
        // an ILLEGAL guest CD (T0SZ=50)
        g(CD + 0x40, cd0(7) & ~0x3FL | 50, ROOT);
        rig.ste(3, 1 | 0b111 << 1 | (CD + 0x40), 0, STE2, S2TTB);
        Fault badCd = rig.dma(3, Pasid.NONE, VA, AccessType.READ).fault();
        assertThat(badCd.record().name()).isEqualTo("C_BAD_CD");
        assertThat(badCd.stage()).isEqualTo(FaultStage.NONE);
        // the stage 2 walk itself aborts while translating the CD address: F_WALK_EABT, S2=1, CLASS=CD
        long nowhere = 0x1000_0000L;
        rig.ste(4, 1 | 0b111 << 1 | CD, 0, STE2 & ~0xFFFFL | 10, nowhere); // a VMID of its own: VMID 9's stage 2 entries are cached
        Fault s2Walk = rig.dma(4, Pasid.NONE, VA, AccessType.READ).fault();
        assertThat(s2Walk.record().words()).containsExactly(0x0BL | 4L << 32, 1L << 35 | 1L << 39, VA, nowhere);
        assertThat(s2Walk.stage()).isEqualTo(FaultStage.STAGE_2);
        // stage 2 only (Config=110): stage 2 faults are stage 2's
        rig.ste(5, 1 | 0b110 << 1, 0, STE2, S2TTB);
        Fault s2 = rig.dma(5, Pasid.NONE, 0x40_0000L, AccessType.WRITE).fault();
        assertThat(s2.record().fields()).containsEntry("S2", 1L).containsEntry("CLASS", 2L).containsEntry("IPA", 0x40_0000L);
        assertThat(s2.stage()).isEqualTo(FaultStage.STAGE_2);
    }
}
