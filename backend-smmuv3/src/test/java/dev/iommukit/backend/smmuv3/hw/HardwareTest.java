package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.arch.SmmuRegisters.*;
import static dev.iommukit.backend.smmuv3.hw.HardwareRig.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.backend.smmuv3.arch.ContextDescriptor;
import dev.iommukit.backend.smmuv3.arch.StreamTableEntry;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.fault.FaultReason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The hardware half programmed by hand, as a conformance test would drive silicon. */
class HardwareTest {
    private final HardwareRig rig = new HardwareRig();

    // stage 1 tables by hand: 4K granule, 48-bit; VA 0x4000_1000 -> PA RAM + 0x20_0000
    private static final long ROOT = FREE;
    private static final long L1 = FREE + 0x1000;
    private static final long L2 = FREE + 0x2000;
    private static final long L3 = FREE + 0x3000;
    private static final long CD = FREE + 0x8000;
    private static final long VA = 0x4000_1000L;
    private static final long PA = RAM + 0x20_0000L;
    private static final long PAGE = PA | 3 | 1 << 6 | 3 << 8 | 1 << 10 | 1 << 11; // AP[1], SH, AF, nG

    private static long cd0(int asid) {
        return 16L | 3 << 12 | 1L << 30 | 1L << 31 | 5L << 32 | 1L << 41 | 1L << 45 | 1L << 46 | (long) asid << 48;
    }

    private void stage1(int sid, int asid, long leaf) {
        rig.words(ROOT, L1 | 3);
        rig.words(L1 + 8, L2 | 3);
        rig.words(L2, L3 | 3);
        rig.words(L3 + 8, leaf);
        rig.words(CD, cd0(asid), ROOT);
        rig.ste(sid, 1 | 0b101 << 1 | CD);
    }

    @Test
    void resetValues() {
        assertThat(rig.regs.read32(IDR0)).as("S2P S1P TTF COHACC ATS NS1ATS ASID16 MSI PRI VMID16 CD2L TTENDIAN ATSRECERR STALL_MODEL TERM_MODEL ST_LEVEL")
                .isEqualTo(1 | 1 << 1 | 2 << 2 | 1 << 4 | 1 << 10 | 1 << 11 | 1 << 12 | 1 << 13 | 1 << 16 | 1 << 18 | 1 << 19 | 2 << 21
                | 1 << 23 | 1 << 24 | 1 << 26 | 1 << 27);
        assertThat(rig.regs.read32(IDR1)).isEqualTo(8 | 20 << 6 | 19 << 11 | 19 << 16 | 19 << 21);
        assertThat(rig.regs.read32(IDR3)).as("RIL, BBML=2").isEqualTo(1 << 10 | 2 << 11);
        assertThat(rig.regs.read32(IDR5)).isEqualTo(5 | 1 << 4 | 1 << 5 | 1 << 6);
        assertThat(rig.regs.read32(GBPA)).isEqualTo(1 << 20);
        for (int off : new int[] {CR0, CR0ACK, CR1, CR2, IRQ_CTRL, IRQ_CTRLACK, GERROR, GERRORN, STRTAB_BASE_CFG, CMDQ_PROD,
            CMDQ_CONS, EVENTQ_PROD, EVENTQ_CONS, PRIQ_PROD, PRIQ_CONS, PRIQ_IRQ_CFG1, PRIQ_IRQ_CFG2, 0x0FF0, IDR2, IDR4}) {
            assertThat(rig.regs.read32(off)).as("0x%x", off).isZero();
        }
        assertThat(rig.regs.read64(STRTAB_BASE)).isZero();
        TranslationOutcome out = rig.dma(0, Pasid.NONE, 0x1000, AccessType.READ);
        assertThat(out.fault().record().name()).isEqualTo("GBPA_ABORT");
        assertThat(out.fault().reason()).isEqualTo(FaultReason.BLOCKED);
    }

    @Test
    void gbpaTakesWritesOnlyWithUpdate() {
        rig.regs.write32(GBPA, 0);
        assertThat(rig.regs.read32(GBPA)).isEqualTo(1 << 20);
        rig.regs.write32(GBPA, 1 << 31 | 1 << 12);
        assertThat(rig.regs.read32(GBPA)).as("UPDATE reads 0 once done").isEqualTo(1 << 12);
        assertThat(rig.dma(0, Pasid.NONE, 0x1234, AccessType.WRITE).physicalAddress()).isEqualTo(0x1234);
    }

    @Test
    void ackRegistersFollowAndBasesLockWhileEnabled() {
        rig.enable();
        assertThat(rig.regs.read32(CR0ACK)).isEqualTo(0b1101);
        assertThat(rig.regs.read32(IRQ_CTRLACK)).isEqualTo(4);
        rig.regs.write64(STRTAB_BASE, 0x1234_0000L);
        rig.regs.write32(STRTAB_BASE_CFG, 3);
        rig.regs.write64(CMDQ_BASE, 0x5555_0000L);
        assertThat(rig.regs.read64(STRTAB_BASE)).isEqualTo(STRTAB);
        assertThat(rig.regs.read32(STRTAB_BASE_CFG)).isEqualTo(8);
        assertThat(rig.regs.read64(CMDQ_BASE)).isEqualTo(CMDQ | 4);
        // 32-bit halves of a 64-bit register
        rig.regs.write32(CR0, 0);
        rig.regs.write32(STRTAB_BASE + 4, 0x1);
        assertThat(rig.regs.read64(STRTAB_BASE)).isEqualTo(1L << 32 | STRTAB);
    }

    @Test
    void illegalCommandStopsQueueUntilAcknowledged() {
        rig.enable();
        rig.sync();
        assertThat(rig.regs.read32(CMDQ_CONS)).isEqualTo(1);
        rig.command(new long[] {0x7F, 0});
        assertThat(rig.regs.read32(CMDQ_CONS)).as("CONS at the bad command, ERR=CERROR_ILL").isEqualTo(1 | 1 << 24);
        assertThat(rig.regs.read32(GERROR) ^ rig.regs.read32(GERRORN)).isEqualTo(1);
        rig.sync();
        assertThat(rig.regs.read32(CMDQ_CONS) & 0x1F).as("stopped").isEqualTo(1);
        rig.words(CMDQ + 16, Command.sync()[0], 0);
        rig.regs.write32(GERRORN, rig.regs.read32(GERROR));
        assertThat(rig.regs.read32(CMDQ_CONS) & 0x1F).isEqualTo(3);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "SSec set,0x403,0",
        "TLBI range with NUM=SCALE=TTL=0,0x12,0x400",
        "CMD_SYNC CS=3,0x3046,0",
        "EL2 TLBI without HYP,0x20,0",
        "PRI_RESP with the reserved Resp=3,0x41,0x3000",
        "reserved opcode,0x99,0"})
    void illegalCommands(String what, String d0, String d1) {
        rig.enable();
        rig.command(new long[] {Long.decode(d0), Long.decode(d1)});
        assertThat(rig.regs.read32(CMDQ_CONS)).isEqualTo(1 << 24);
    }

    @Test
    void commandFetchAbortIsCerrorAbt() {
        rig.regs.write64(CMDQ_BASE, 0x1000_0000L | 4);
        rig.regs.write32(CR0, 0b1000);
        rig.regs.write32(CMDQ_PROD, 1);
        assertThat(rig.regs.read32(CMDQ_CONS)).isEqualTo(2 << 24);
    }

    @Test
    void configCacheKeepsStaleSteUntilCfgi() {
        rig.enable();
        rig.ste(1, 1 | 0b100 << 1);
        assertThat(rig.dma(1, Pasid.NONE, 0x5000, AccessType.READ).physicalAddress()).isEqualTo(0x5000);
        assertThat(rig.dma(1, 3, 0x5000, AccessType.READ).fault().record().name()).as("SSV=1 with Config=100").isEqualTo("C_BAD_SUBSTREAMID");
        rig.ste(1, 1);
        assertThat(rig.dma(1, Pasid.NONE, 0x5000, AccessType.READ).isTranslated()).as("stale bypass").isTrue();
        rig.command(Command.cfgiSte(2, true));
        rig.sync();
        assertThat(rig.dma(1, Pasid.NONE, 0x5000, AccessType.READ).isTranslated()).as("other SID invalidated").isTrue();
        rig.command(Command.cfgiSte(1, true));
        rig.sync();
        assertThat(rig.dma(1, Pasid.NONE, 0x5000, AccessType.READ).fault().record().name()).isEqualTo("STE_ABORT");
        rig.ste(1, 1 | 0b100 << 1);
        rig.command(Command.cfgiAll());
        assertThat(rig.dma(1, Pasid.NONE, 0x5000, AccessType.READ).isTranslated()).isTrue();
        rig.ste(1, 1);
        rig.command(Command.cfgiSteRange(0, 0)); // SIDs 0..1
        assertThat(rig.dma(1, Pasid.NONE, 0x5000, AccessType.READ).isTranslated()).isFalse();
    }

    @Test
    void cdCacheIsInvalidatedByCfgiCd() {
        rig.enable();
        stage1(3, 7, PAGE);
        assertThat(rig.dma(3, Pasid.NONE, VA, AccessType.READ).physicalAddress()).isEqualTo(PA);
        rig.words(CD, 0);
        rig.command(Command.cfgiSte(4, true));
        assertThat(rig.dma(3, Pasid.NONE, VA + 0x10, AccessType.READ).isTranslated()).as("stale CD").isTrue();
        rig.command(Command.cfgiCd(3, 0, true));
        assertThat(rig.dma(3, Pasid.NONE, VA, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_CD");
        rig.words(CD, cd0(7));
        rig.command(Command.cfgiCdAll(3));
        assertThat(rig.dma(3, Pasid.NONE, VA, AccessType.READ).isTranslated()).isTrue();
    }

    @Test
    void twoLevelStreamTableSpanRules() {
        // LOG2SIZE 8, SPLIT 6: 4 L1STDs at STRTAB
        rig.regs.write64(STRTAB_BASE, STRTAB);
        rig.regs.write32(STRTAB_BASE_CFG, 8 | 6 << 6 | 1 << 16);
        rig.regs.write64(EVENTQ_BASE, EVENTQ | 3);
        rig.regs.write32(CR2, 2);
        rig.regs.write32(CR0, 0b0101);
        long l2 = FREE;
        rig.words(STRTAB + 8, l2 | 3); // SIDs 64..127, Span 3: 4 STEs
        for (int i = 0; i < 4; i++) {
            rig.words(l2 + 64L * i, 1 | 0b100 << 1);
        }
        assertThat(rig.dma(64 + 3, Pasid.NONE, 0x40, AccessType.READ).physicalAddress()).isEqualTo(0x40);
        assertThat(rig.dma(64 + 4, Pasid.NONE, 0x40, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_STREAMID");
        assertThat(rig.dma(0, Pasid.NONE, 0x40, AccessType.READ).fault().record().name()).as("Span 0").isEqualTo("C_BAD_STREAMID");
        rig.words(STRTAB + 16, l2 | 8); // Span 8 > SPLIT + 1
        assertThat(rig.dma(128, Pasid.NONE, 0x40, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_STREAMID");
        rig.words(STRTAB + 24, 0x1000_0000L | 7); // L2 outside RAM
        TranslationOutcome out = rig.dma(192, Pasid.NONE, 0x40, AccessType.READ);
        assertThat(out.fault().record().name()).isEqualTo("F_STE_FETCH");
        assertThat(out.fault().record().fields()).containsEntry("FetchAddr", 0x1000_0000L);
        assertThat(rig.regs.read32(EVENTQ_PROD)).isEqualTo(4);
        assertThat(rig.event(3)).containsExactly(192L << 32 | 3, 0, 0, 0x1000_0000L);
    }

    @Test
    void badStreamIdIsRecordedOnlyWithRecinvsid() {
        rig.enable();
        rig.regs.write32(CR0, 0);
        rig.regs.write32(STRTAB_BASE_CFG, 4);
        rig.regs.write32(CR0, 0b1101);
        assertThat(rig.dma(16, Pasid.NONE, 0, AccessType.READ).fault().reason()).isEqualTo(FaultReason.UNKNOWN_REQUESTER);
        assertThat(rig.regs.read32(EVENTQ_PROD)).isZero();
        rig.regs.write32(CR2, 2);
        rig.dma(16, Pasid.NONE, 0, AccessType.READ);
        assertThat(rig.regs.read32(EVENTQ_PROD)).isEqualTo(1);
        assertThat(rig.interrupts.get()).isEqualTo(1);
    }

    @Test
    void eventQueueOverflowTogglesOvflgAndDiscards() {
        rig.enable();
        rig.ste(1);
        for (int i = 0; i < 10; i++) {
            rig.dma(1, Pasid.NONE, i, AccessType.READ);
        }
        assertThat(rig.regs.read32(EVENTQ_PROD)).as("full: index 0, wrap 1, OVFLG").isEqualTo(1 << 31 | 8);
        assertThat(rig.interrupts.get()).isEqualTo(8);
        rig.regs.write32(EVENTQ_CONS, 1 << 31 | 8 | 0); // consumed all, overflow acknowledged... index 0 wrap 1
        rig.dma(1, Pasid.NONE, 0, AccessType.READ);
        assertThat(rig.regs.read32(EVENTQ_PROD)).isEqualTo(1 << 31 | 9);
        assertThat(rig.event(0)[0]).isEqualTo(1L << 32 | 4);
    }

    @Test
    void eventQueueWriteAbortRaisesGerror() {
        rig.regs.write64(STRTAB_BASE, STRTAB);
        rig.regs.write32(STRTAB_BASE_CFG, 8);
        rig.regs.write64(EVENTQ_BASE, 0x1000_0000L | 3);
        rig.regs.write32(CR0, 0b0101);
        rig.ste(1);
        rig.dma(1, Pasid.NONE, 0, AccessType.READ);
        assertThat(rig.regs.read32(GERROR) ^ rig.regs.read32(GERRORN)).isEqualTo(1 << 2);
    }

    @Test
    void stage1WalkWithTlbTaggingAndInvalidation() {
        rig.enable();
        stage1(1, 7, PAGE);
        assertThat(rig.dma(1, Pasid.NONE, VA + 0x24, AccessType.WRITE).physicalAddress()).isEqualTo(PA + 0x24);
        rig.words(L3 + 8, 0); // unmapped without TLBI: still cached
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).isTranslated()).isTrue();
        rig.command(Command.tlbiNhAsid(0, 8)); // other ASID
        rig.command(Command.tlbiNhVa(0, 7, VA + 0x1000, true)); // other page
        rig.command(Command.tlbiNhVa(1, 7, VA, true)); // other VMID
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).isTranslated()).isTrue();
        rig.command(Command.tlbiNhVa(0, 7, VA, true));
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).fault().record().name()).isEqualTo("F_TRANSLATION");
        // a global (nG=0) entry survives TLBI_NH_ASID, not TLBI_NH_VA or NH_ALL
        rig.words(L3 + 8, PAGE & ~(1L << 11));
        rig.dma(1, Pasid.NONE, VA, AccessType.READ);
        rig.words(L3 + 8, 0);
        rig.command(Command.tlbiNhAsid(0, 7));
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).isTranslated()).isTrue();
        rig.command(Command.tlbiNhAll(0));
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).isTranslated()).isFalse();
    }

    @Test
    void rangeTlbiCoversNumTimesTwoToScaleGranules() {
        rig.enable();
        stage1(1, 7, PAGE);
        rig.dma(1, Pasid.NONE, VA, AccessType.READ);
        rig.words(L3 + 8, 0);
        rig.command(Command.tlbiNhVaRange(0, 7, VA - 0x3000, true, 1, 0, 2, 0)); // 3 pages: VA-0x3000 .. VA-1
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).isTranslated()).isTrue();
        rig.command(Command.tlbiNhVaRange(0, 7, VA - 0x3000, true, 1, 0, 1, 1)); // 2 * 2 pages: up to VA + 0x1000
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).isTranslated()).isFalse();
    }

    @Test
    void stage1AttributeFaults() {
        rig.enable();
        stage1(1, 7, PAGE & ~(1L << 10)); // AF = 0
        TranslationOutcome af = rig.dma(1, Pasid.NONE, VA, AccessType.READ);
        assertThat(af.fault().record().name()).isEqualTo("F_ACCESS");
        assertThat(af.fault().reason()).isEqualTo(FaultReason.ACCESS_FLAG);
        rig.words(L3 + 8, PAGE | 1L << 7); // read-only
        rig.words(L2, L3 | 3 | 1L << 61); // APTable: no EL0 access below
        rig.command(Command.cfgiAll());
        TranslationOutcome ap = rig.dma(1, Pasid.NONE, VA, AccessType.READ);
        assertThat(ap.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        rig.words(L2, L3 | 3);
        rig.command(Command.tlbiNsnhAll());
        rig.words(L3 + 8, (PAGE & ~0x0000_FFFF_FFFF_F000L) | 0x2_0000_0000_0000L); // output beyond 48 bits
        TranslationOutcome size = rig.dma(1, Pasid.NONE, VA, AccessType.READ);
        assertThat(size.fault().record().name()).isEqualTo("F_ADDR_SIZE");
        assertThat(size.fault().reason()).isEqualTo(FaultReason.ADDRESS_SIZE);
        rig.words(L3 + 8, PAGE);
        TranslationOutcome top = rig.dma(1, Pasid.NONE, 0x0001_0000_0000_0000L | VA, AccessType.READ);
        assertThat(top.fault().record().name()).as("bits above T0SZ range").isEqualTo("F_TRANSLATION");
        TranslationOutcome ttb1 = rig.dma(1, Pasid.NONE, 0xFFFF_0000_0000_0000L | VA, AccessType.READ);
        assertThat(ttb1.fault().record().name()).as("TTB1 range with EPD1=1").isEqualTo("F_TRANSLATION");
    }

    @Test
    void unrecordedTranslationFaultsWhenRIsZero() {
        rig.enable();
        stage1(1, 7, 0);
        rig.words(CD, cd0(7) & ~(1L << 45));
        TranslationOutcome out = rig.dma(1, Pasid.NONE, VA, AccessType.READ);
        assertThat(out.fault().record().name()).isEqualTo("F_TRANSLATION");
        assertThat(rig.regs.read32(EVENTQ_PROD)).isZero();
    }

    @Test
    void stage2ConcatenatedRoot() {
        rig.enable();
        // 4K, IA 40 (S2T0SZ 24), start L1 (SL0=1): two concatenated L1 tables at S2TTB (8 KiB)
        long ttb = FREE + 0x10000;
        long l2 = FREE + 0x20000;
        long ipa = 0x80_4000_0000L + 0x1000; // bit 39 set: second table, L1 index 1
        rig.words(ttb + 0x1000 + 8, l2 | 3);
        rig.words(l2, (PA & ~0x1FFFFFL) | 1 | 0xF << 2 | 3 << 6 | 3 << 8 | 1 << 10); // 2M block RW
        rig.ste(2, 1 | 0b110 << 1, 0, 5L | 24L << 32 | 1L << 38 | 5L << 48 | 1L << 51 | 1L << 58, ttb);
        assertThat(rig.dma(2, Pasid.NONE, ipa, AccessType.WRITE).physicalAddress()).isEqualTo((PA & ~0x1FFFFFL) + 0x1000);
        TranslationOutcome beyond = rig.dma(2, Pasid.NONE, 1L << 40, AccessType.READ);
        assertThat(beyond.fault().record().name()).isEqualTo("F_TRANSLATION");
        assertThat(beyond.fault().record().fields()).containsEntry("S2", 1L).containsEntry("IPA", 1L << 40);
        assertThat(rig.dma(2, 1, ipa, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_SUBSTREAMID");
        // TLBI_S2_IPA of the VMID drops it
        rig.words(l2, 0);
        rig.command(Command.tlbiS2Ipa(5, ipa + 0x5000, true));
        assertThat(rig.dma(2, Pasid.NONE, ipa, AccessType.READ).isTranslated()).isFalse();
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({
        "V=0,0,0,0",
        "S1CDMax 21 > SSIDSIZE,0xA80000008000000B,0,0",
        "S1STALLD with no stall,0x8000000B,0x8000000,0",
        "EATS=0b10 (split-stage) with NS1ATS=1,0x8000000B,0x20000000,0",
        "STRW=EL2 without HYP,0x8000000B,0x80000000,0",
        "nested with S2AA64=0,0xF,0,0",
        "S2TG reserved,0xD,0,0x8CD0100000000",
        "S2T0SZ 40 out of range,0xD,0,0x8080000000000",
        "S2SL0 inconsistent,0xD,0,0x80000D0000000",
        "S2AA64=0,0xD,0,0x0040000000",
        "S2S with no stall,0xD,0,0x208000D000000000",
        "S2HA without HTTU,0xD,0,0x10080000D000000"})
    void illegalStes(String what, String d0, String d1, String d2) {
        rig.enable();
        rig.ste(9, hex(d0), hex(d1), hex(d2));
        TranslationOutcome out = rig.dma(9, Pasid.NONE, 0, AccessType.READ);
        assertThat(out.fault().record().name()).isEqualTo("C_BAD_STE");
        assertThat(rig.event(0)).containsExactly(9L << 32 | 4, 0, 0, 0);
    }

    private static long hex(String s) {
        return s.startsWith("0x") ? Long.parseUnsignedLong(s.substring(2), 16) : Long.parseLong(s);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"A=0,46", "S=1,44", "AA64=0,41", "ENDI,15", "HA,43", "TG0 reserved,7"})
    void illegalCds(String what, int bit) {
        rig.enable();
        stage1(1, 7, PAGE);
        long d0 = cd0(7);
        long bad = (d0 >>> bit & 1) == 0 ? d0 | 1L << bit : d0 & ~(1L << bit);
        if (bit == 7) {
            bad = d0 | 3L << 6;
        }
        rig.words(CD, bad);
        TranslationOutcome out = rig.dma(1, Pasid.NONE, VA, AccessType.READ);
        assertThat(out.fault().record().name()).isEqualTo("C_BAD_CD");
        assertThat(out.fault().reason()).isEqualTo(FaultReason.BAD_CONFIGURATION);
    }

    @Test
    void cdT0szOutOfRangeAndTtbBeyondIps() {
        rig.enable();
        stage1(1, 7, PAGE);
        rig.words(CD, (cd0(7) & ~0x3FL) | 40);
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_CD");
        rig.words(CD, (cd0(7) & ~(7L << 32)) | 0L << 32); // IPS 32 bits, TTB0 above 4 GiB? no: RAM is at 1 GiB
        rig.words(CD + 8, 0x1_0000_0000L);
        rig.command(Command.cfgiCdAll(1));
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_CD");
    }

    @Test
    void substreamRules() {
        rig.enable();
        long table = FREE + 0x40000;
        rig.words(table + 64, cd0(9), ROOT);
        stage1(1, 7, PAGE);
        rig.ste(1, 1 | 0b101 << 1 | table | 2L << 59, StreamTableEntry.S1DSS_SSID0);
        assertThat(rig.dma(1, 1, VA, AccessType.READ).physicalAddress()).isEqualTo(PA);
        assertThat(rig.dma(1, 4, VA, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_SUBSTREAMID");
        assertThat(rig.dma(1, 0, VA, AccessType.READ).fault().record().name()).isEqualTo("F_STREAM_DISABLED");
        assertThat(rig.dma(1, 2, VA, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_CD");
        assertThat(rig.dma(1, 2, VA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(rig.event(0)[0]).as("SubstreamID without SSV").isEqualTo(1L << 32 | 4 << 12 | 8);
        assertThat(ContextDescriptor.V.get(rig.memory.read64(table))).isZero();
    }

    @Test
    void streamDisabledRecordsStreamIdOnly() {
        rig.enable();
        stage1(1, 7, PAGE);
        rig.ste(1, 1 | 0b101 << 1 | CD | 2L << 59, StreamTableEntry.S1DSS_TERMINATE);
        TranslationOutcome out = rig.dma(1, Pasid.NONE, VA, AccessType.READ);
        assertThat(out.fault().reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(rig.event(0)).containsExactly(1L << 32 | 6, 0, 0, 0);
        rig.ste(1, 1 | 0b101 << 1 | CD | 2L << 59, StreamTableEntry.S1DSS_BYPASS);
        rig.command(Command.cfgiSte(1, true));
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).physicalAddress()).as("S1DSS bypass").isEqualTo(VA);
    }

    @Test
    void invalidL1stdIsSilentWithoutRecinvsid() {
        rig.regs.write64(STRTAB_BASE, STRTAB);
        rig.regs.write32(STRTAB_BASE_CFG, 8 | 6 << 6 | 1 << 16);
        rig.regs.write64(EVENTQ_BASE, EVENTQ | 3);
        rig.regs.write32(CR0, 0b0101);
        assertThat(rig.dma(3, Pasid.NONE, 0, AccessType.READ).fault().reason()).isEqualTo(FaultReason.UNKNOWN_REQUESTER);
        assertThat(rig.regs.read32(EVENTQ_PROD)).isZero();
    }

    @Test
    void linearStreamTableBaseIsAlignedToItsSize() {
        rig.regs.write64(STRTAB_BASE, STRTAB + 0x2000 + 0x40); // 256 STEs = 16 KiB: low 14 bits ignored
        rig.regs.write32(STRTAB_BASE_CFG, 8);
        rig.regs.write32(CR0, 1);
        rig.ste(2, 1 | 0b100 << 1);
        assertThat(rig.dma(2, Pasid.NONE, 0x77, AccessType.READ).physicalAddress()).isEqualTo(0x77);
    }

    // nested: stage 2 maps IPA [0, 1 GiB) to PA [RAM, RAM + 1 GiB) with one L1 block (4K, IA 40, start L1)
    private static final long S2TTB = FREE + 0x80000;
    private static final long S2_BLOCK = RAM | 1 | 0xF << 2 | 3 << 6 | 3 << 8 | 1 << 10;

    private static long ipa(long pa) {
        return pa - RAM;
    }

    private void nested(int sid, long s2Block) {
        rig.words(S2TTB, s2Block);
        rig.words(ROOT, ipa(L1) | 3);
        rig.words(L1 + 8, ipa(L2) | 3);
        rig.words(L2, ipa(L3) | 3);
        rig.words(L3 + 8, ipa(PA) | 3 | 1 << 6 | 3 << 8 | 1 << 10 | 1 << 11);
        rig.words(CD, cd0(7), ipa(ROOT));
        rig.ste(sid, 1 | 0b111 << 1 | ipa(CD), 0, 9L | 24L << 32 | 1L << 38 | 5L << 48 | 1L << 51 | 1L << 54 | 1L << 58, S2TTB);
    }

    @Test
    void nestedTranslatesThroughBothStages() {
        rig.enable();
        nested(1, S2_BLOCK);
        assertThat(rig.dma(1, Pasid.NONE, VA + 0x30, AccessType.WRITE).physicalAddress()).isEqualTo(PA + 0x30);
        // combined entries are tagged ASID + VMID: TLBI_S2_IPA need not remove them, TLBI_NH_ALL(VMID) does
        rig.words(L3 + 8, 0);
        rig.command(Command.tlbiS2Ipa(9, ipa(PA), true));
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).isTranslated()).isTrue();
        rig.command(Command.tlbiNhAll(9));
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).fault().record().fields()).containsEntry("S2", 0L)
                .containsEntry("CLASS", 2L);
    }

    @Test
    void nestedStage2FaultsNameWhatWasBeingTranslated() {
        rig.enable();
        nested(1, S2_BLOCK);
        // CD fetch: CD IPA outside the stage 2 mapping
        rig.ste(1, 1 | 0b111 << 1 | 0x8000_0000L, 0, 9L | 24L << 32 | 1L << 38 | 5L << 48 | 1L << 51 | 1L << 58, S2TTB);
        TranslationOutcome cdFault = rig.dma(1, Pasid.NONE, VA, AccessType.READ);
        assertThat(cdFault.fault().record().name()).isEqualTo("F_TRANSLATION");
        assertThat(cdFault.fault().record().fields()).containsEntry("S2", 1L).containsEntry("CLASS", 0L)
                .containsEntry("IPA", 0x8000_0000L).containsEntry("InputAddr", VA);
        // stage 1 table descriptor at an unmapped IPA
        nested(2, S2_BLOCK);
        rig.words(L1 + 8, 0x8000_0000L | 3);
        TranslationOutcome ttFault = rig.dma(2, Pasid.NONE, VA, AccessType.READ);
        assertThat(ttFault.fault().record().fields()).containsEntry("S2", 1L).containsEntry("CLASS", 1L)
                .containsEntry("IPA", 0x8000_0000L).containsEntry("TTRnW", 1L);
        // final IPA unmapped
        rig.words(L1 + 8, ipa(L2) | 3);
        rig.words(L3 + 8, 0xC000_0000L | 3 | 1 << 6 | 1 << 10 | 1 << 11);
        rig.command(Command.tlbiNsnhAll());
        TranslationOutcome inFault = rig.dma(2, Pasid.NONE, VA + 4, AccessType.WRITE);
        assertThat(inFault.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(inFault.fault().record().fields()).containsEntry("S2", 1L).containsEntry("CLASS", 2L)
                .containsEntry("IPA", 0xC000_0000L).containsEntry("RnW", 0L);
    }

    @Test
    void nestedStage2PermissionsApplyToTheCombinedEntry() {
        rig.enable();
        nested(1, S2_BLOCK & ~(1L << 7)); // stage 2 read-only
        assertThat(rig.dma(1, Pasid.NONE, VA, AccessType.READ).physicalAddress()).isEqualTo(PA);
        TranslationOutcome w = rig.dma(1, Pasid.NONE, VA, AccessType.WRITE);
        assertThat(w.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(w.fault().record().fields()).containsEntry("S2", 1L).containsEntry("CLASS", 2L).containsEntry("IPA", ipa(PA));
        // S2PTW: stage 1 walks into stage 2 Device memory are stage 2 permission faults
        rig.words(S2TTB, (S2_BLOCK & ~(0xFL << 2)) | 0x1 << 2);
        rig.command(Command.tlbiNsnhAll());
        rig.command(Command.cfgiAll());
        TranslationOutcome ptw = rig.dma(1, Pasid.NONE, VA, AccessType.READ);
        assertThat(ptw.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(ptw.fault().record().fields()).containsEntry("S2", 1L).containsEntry("CLASS", 0L);
    }

    @Test
    void syncAndEventInterruptsAsMsiWrites() {
        rig.enable();
        long flag = FREE + 0x9000;
        rig.command(Command.syncMsi(flag, 0xCAFE));
        assertThat(rig.memory.read32(flag)).isEqualTo(0xCAFE);
        rig.command(Command.syncMsi(0x1000_0000L, 1)); // MSI outside RAM
        assertThat(rig.regs.read32(GERROR) ^ rig.regs.read32(GERRORN)).isEqualTo(1 << 4);
        rig.regs.write64(EVENTQ_IRQ_CFG0, flag + 8);
        rig.regs.write32(EVENTQ_IRQ_CFG1, 0x77);
        rig.ste(1);
        rig.dma(1, Pasid.NONE, 0, AccessType.READ);
        assertThat(rig.memory.read32(flag + 8)).isEqualTo(0x77);
        assertThat(rig.interrupts.get()).as("MSI instead of the wire").isZero();
    }
}
