package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.arch.SmmuRegisters.*;
import static dev.iommukit.backend.smmuv3.hw.PriRig.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** ATS translation requests of the hardware half (spec 3.9.1.2, 7.3.6), driven through registers and memory. */
class AtsHardwareTest {
    private static final long EATS_FULL = 1L << 28;
    private static final long ROOT = FREE;
    private static final long L1 = FREE + 0x1000;
    private static final long L2 = FREE + 0x2000;
    private static final long L3 = FREE + 0x3000;
    private static final long CD = FREE + 0x8000;
    private static final long VA = 0x4000_1000L;
    private static final long PA = RAM + 0x20_0000L;
    private static final long PAGE = PA | 3 | 1 << 6 | 3 << 8 | 1 << 10 | 1 << 11; // AP[1], SH, AF, nG

    private final PriRig rig = new PriRig();

    private static long cd0(int asid) {
        return 16L | 3 << 12 | 1L << 30 | 1L << 31 | 5L << 32 | 1L << 41 | 1L << 45 | 1L << 46 | (long) asid << 48;
    }

    /** Stage 1 STE for {@code sid} over tables mapping VA (page index 1 of the L3 table) with {@code leaf}. */
    private void stage1(int sid, long steDword1, long leaf) {
        rig.words(ROOT, L1 | 3);
        rig.words(L1 + 8, L2 | 3);
        rig.words(L2, L3 | 3);
        rig.words(L3 + 8, leaf);
        rig.words(CD, cd0(3), ROOT);
        rig.ste(sid, 1 | 0b101 << 1 | CD, steDword1);
    }

    private int events() {
        return rig.regs.read32(EVENTQ_PROD);
    }

    @Test
    void fullAtsTranslatesLikeAnOrdinaryRequest() {
        rig.enable();
        stage1(9, EATS_FULL, PAGE);
        TranslationOutcome out = rig.ats(9, Pasid.NONE, VA + 0x10, AccessType.WRITE);
        assertThat(out.physicalAddress()).isEqualTo(PA + 0x10);
        assertThat(events()).isZero();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "not present,0,READ,NOT_MAPPED,F_TRANSLATION,16",
        "write to a read-only page,0x80,WRITE,PERMISSION,F_PERMISSION,19",
        "access flag clear,-0x400,READ,ACCESS_FLAG,F_ACCESS,18"})
    void translationFaultsAnswerNoAccessWithoutAnEvent(String what, long attrChange, AccessType access, FaultReason reason,
                                                       String event, int code) {
        rig.enable();
        long leaf = attrChange == 0 ? 0 : attrChange > 0 ? PAGE | attrChange : PAGE & ~(-attrChange);
        stage1(9, EATS_FULL, leaf);
        TranslationOutcome out = rig.ats(9, Pasid.NONE, VA, access);
        assertThat(out.isTranslated()).isFalse();
        assertThat(out.fault().reason()).isEqualTo(reason);
        assertThat(out.fault().stage()).isEqualTo(FaultStage.STAGE_1);
        assertThat(out.fault().record().name()).isEqualTo(event);
        assertThat(out.fault().record().code()).isEqualTo(code);
        assertThat(out.fault().record().words()).as("not recorded: no words").isEmpty();
        assertThat(events()).isZero();
        assertThat(rig.eventInterrupts).hasValue(0);
        // the same access untranslated is recorded
        assertThat(rig.dma(9, Pasid.NONE, VA, access).fault().record().name()).isEqualTo(event);
        assertThat(events()).isEqualTo(1);
    }

    @Test
    void stage2FaultIsReportedAsStage2WithoutAnEvent() {
        rig.enable();
        long ttb = FREE + 0x10000;
        // stage 2 only, 4K, IA 40, start L1, EATS=01, tables empty
        rig.ste(2, 1 | 0b110 << 1, EATS_FULL, 5L | 24L << 32 | 1L << 38 | 5L << 48 | 1L << 51 | 1L << 58, ttb);
        TranslationOutcome out = rig.ats(2, Pasid.NONE, 0x1000, AccessType.READ);
        assertThat(out.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(out.fault().stage()).isEqualTo(FaultStage.STAGE_2);
        assertThat(events()).isZero();
    }

    @Test
    void eatsZeroRefusesWithFBadAtsTreqRecorded() { // spec 7.3.6
        rig.enable();
        stage1(9, 0, PAGE);
        TranslationOutcome out = rig.ats(9, 5, VA, AccessType.READ);
        assertThat(out.fault().record().name()).isEqualTo("F_BAD_ATS_TREQ");
        assertThat(out.fault().reason()).isEqualTo(FaultReason.UNSUPPORTED_REQUEST);
        assertThat(rig.event(0)).containsExactly(9L << 32 | 5L << 12 | 1L << 11 | 0x05, 1L << 35, VA, 0);
        assertThat(rig.eventInterrupts).hasValue(1);
        assertThat(rig.dma(9, Pasid.NONE, VA, AccessType.READ).physicalAddress()).as("ordinary traffic unaffected").isEqualTo(PA);
    }

    @Test
    void splitStageEatsIsIllegal() { // NS1ATS=1
        rig.enable();
        stage1(9, 2L << 28, PAGE);
        assertThat(rig.dma(9, Pasid.NONE, VA, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_STE");
    }

    @Test
    void reservedEatsBehavesAsZero() { // EATS=0b11 without DPT
        rig.enable();
        stage1(9, 3L << 28, PAGE);
        assertThat(rig.dma(9, Pasid.NONE, VA, AccessType.READ).physicalAddress()).isEqualTo(PA);
        assertThat(rig.ats(9, Pasid.NONE, VA, AccessType.READ).fault().record().name()).isEqualTo("F_BAD_ATS_TREQ");
    }

    @Test
    void bypassSteRefusesWithFBadAtsTreq() {
        rig.enable();
        rig.ste(4, 1 | 0b100 << 1, EATS_FULL);
        assertThat(rig.ats(4, Pasid.NONE, 0x1000, AccessType.READ).fault().record().name()).isEqualTo("F_BAD_ATS_TREQ");
        assertThat(rig.event(0)[0]).isEqualTo(4L << 32 | 0x05);
        assertThat(rig.dma(4, Pasid.NONE, 0x1000, AccessType.READ).physicalAddress()).isEqualTo(0x1000);
    }

    @Test
    void abortSteRefusesSilently() {
        rig.enable();
        rig.ste(4, 1, EATS_FULL);
        TranslationOutcome out = rig.ats(4, Pasid.NONE, 0x1000, AccessType.READ);
        assertThat(out.fault().record().name()).isEqualTo("STE_ABORT");
        assertThat(out.fault().reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(events()).isZero();
    }

    @Test
    void smmuDisabledRefusesWithFBadAtsTreq() {
        rig.regs.write64(EVENTQ_BASE, EVENTQ | 3);
        rig.regs.write32(IRQ_CTRL, 4);
        rig.regs.write32(CR0, 0b00100);
        assertThat(rig.ats(4, Pasid.NONE, 0x1000, AccessType.WRITE).fault().record().name()).isEqualTo("F_BAD_ATS_TREQ");
        assertThat(rig.event(0)).containsExactly(4L << 32 | 0x05, 0, 0x1000, 0);
    }

    @ParameterizedTest(name = "REC_CFG_ATS={0}")
    @CsvSource({"0", "1"})
    void configurationErrorsAreRecordedOnlyWithRecCfgAts(int recCfgAts) { // spec 3.9.1.2
        rig.regs.write32(CR2, recCfgAts << 3 | 1 << 1);
        rig.enable();
        rig.ste(6); // V=0
        TranslationOutcome out = rig.ats(6, Pasid.NONE, 0x1000, AccessType.READ);
        assertThat(out.fault().record().name()).isEqualTo("C_BAD_STE");
        assertThat(out.fault().reason()).isEqualTo(FaultReason.BAD_CONFIGURATION);
        assertThat(events()).isEqualTo(recCfgAts);
        TranslationOutcome outside = rig.ats(300, Pasid.NONE, 0x1000, AccessType.READ);
        assertThat(outside.fault().record().name()).isEqualTo("C_BAD_STREAMID");
        assertThat(events()).isEqualTo(2 * recCfgAts);
    }

    @Test
    void substreamBypassOfAStage1SteIsIdentity() { // S1DSS=bypass with Config=101: Success, identity
        rig.enable();
        rig.words(CD, cd0(3), ROOT);
        rig.ste(9, 1 | 0b101 << 1 | CD | 2L << 59, EATS_FULL | 1);
        assertThat(rig.ats(9, Pasid.NONE, 0x1234_5000L, AccessType.WRITE).physicalAddress()).isEqualTo(0x1234_5000L);
    }
}
