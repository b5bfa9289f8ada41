package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.arch.SmmuRegisters.*;
import static dev.iommukit.backend.smmuv3.hw.PriRig.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.smmuv3.arch.AtsCommand;
import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The PRI queue and CMD_PRI_RESP of the hardware half, driven through registers and memory (spec §6.4, chapter 8). */
class PriQueueHardwareTest {
    private static final long OVF = 1L << 31;
    private final PriRig rig = new PriRig();

    private int prod() {
        return rig.regs.read32(PRIQ_PROD);
    }

    @Test
    void recordIsWrittenAtProdExactlyAndInterruptsOnFirstEntry() {
        rig.enable();
        rig.hw.dmaPort().pageRequest(new PageRequestMessage(9, 0x12345, 0xDEAD_B000L, true, true, true, true, 0x1A5, true));
        assertThat(rig.priEntry(0)).containsExactly(9L | 0x12345L << 32 | 1L << 58 | 1L << 59 | 1L << 60 | 1L << 61 | 1L << 62 | 1L << 63,
                0xDEAD_B000L | 0x1A5);
        assertThat(prod()).isEqualTo(1);
        assertThat(rig.priInterrupts).hasValue(1);
        // without PASID: SSV=0, SSID 0, Exec and Priv dropped
        rig.hw.dmaPort().pageRequest(new PageRequestMessage(9, Pasid.NONE, 0x7000, false, true, true, true, 3, false));
        assertThat(rig.priEntry(1)).containsExactly(9L | 1L << 61, 0x7000L | 3);
        assertThat(prod()).isEqualTo(2);
        assertThat(rig.priInterrupts).as("LO=0: only on the empty to non-empty transition").hasValue(1);
        rig.regs.write32(PRIQ_CONS, 2);
        rig.pageRequest(9, Pasid.NONE, 0x8000, true, false, 4, true);
        assertThat(rig.priInterrupts).hasValue(2);
        assertThat(rig.responses).isEmpty();
        assertThat(rig.eventInterrupts).hasValue(0);
    }

    @Test
    void pageRequestsAreQueuedWhateverTheSteSays() { // spec 8.2: EATS/ATSCHK do not apply; no STE is read
        rig.enable();
        rig.ste(5); // V=0
        rig.pageRequest(5, 1, 0x1000, true, false, 1, true);
        rig.pageRequest(200, Pasid.NONE, 0x1000, true, false, 2, true);
        assertThat(prod()).isEqualTo(2);
        assertThat(rig.regs.read32(EVENTQ_PROD)).isZero();
        assertThat(rig.responses).isEmpty();
    }

    @Test
    void lastOnlyInterruptsForLastRequests() {
        rig.regs.write32(PRIQ_IRQ_CFG2, (int) (1L << 31));
        rig.enable();
        rig.pageRequest(9, Pasid.NONE, 0x1000, true, false, 1, false);
        rig.pageRequest(9, Pasid.NONE, 0x2000, true, false, 1, false);
        assertThat(rig.priInterrupts).hasValue(0);
        rig.pageRequest(9, Pasid.NONE, 0x3000, true, false, 1, true);
        assertThat(rig.priInterrupts).hasValue(1);
    }

    @Test
    void msiInsteadOfTheWiredLineWhenCfg0IsSet() {
        rig.regs.write64(PRIQ_IRQ_CFG0, FREE + 0x40);
        rig.regs.write32(PRIQ_IRQ_CFG1, 0xCAFE);
        rig.enable();
        rig.pageRequest(9, Pasid.NONE, 0x1000, true, false, 1, true);
        assertThat(rig.memory.read32(FREE + 0x40)).isEqualTo(0xCAFE);
        assertThat(rig.priInterrupts).hasValue(0);
    }

    @Test
    void indexWrapsAndFullQueueOverflowsWithoutWriting() {
        rig.enable();
        for (int i = 0; i < 4; i++) {
            rig.pageRequest(9, Pasid.NONE, 0x1000L * (i + 1), true, false, i, true);
        }
        assertThat(prod()).as("index 0, WRAP=1: full").isEqualTo(1 << PRIQ_LOG2);
        rig.pageRequest(9, Pasid.NONE, 0x9000, true, false, 9, true);
        assertThat(prod() & 0xFFFF_FFFFL).as("OVFLG toggled, index unchanged").isEqualTo(OVF | 1 << PRIQ_LOG2);
        assertThat(rig.priEntry(0)[1]).as("nothing overwritten").isEqualTo(0x1000L);
        assertThat(rig.responses).as("discarded Last=1 without PASID: automatic Success without PASID")
                .containsExactly(new PageResponseMessage(9, Pasid.NONE, 9, PageResponseCode.SUCCESS));
        // room made without acknowledging: still nothing written while OVFLG != OVACKFLG
        rig.regs.write32(PRIQ_CONS, 2);
        rig.pageRequest(9, Pasid.NONE, 0xA000, true, false, 10, false);
        rig.pageRequest(9, Pasid.NONE, 0xB000, true, false, 10, true);
        assertThat(prod() & 0xFFFF_FFFFL).isEqualTo(OVF | 1 << PRIQ_LOG2);
        assertThat(rig.priEntry(0)[1]).isEqualTo(0x1000L);
        assertThat(rig.responses).as("Last=0 dropped silently").containsExactly(
                new PageResponseMessage(9, Pasid.NONE, 9, PageResponseCode.SUCCESS),
                new PageResponseMessage(9, Pasid.NONE, 10, PageResponseCode.SUCCESS));
        // acknowledge: OVACKFLG = OVFLG, writing resumes at PROD
        rig.regs.write32(PRIQ_CONS, (int) (OVF | 2));
        rig.pageRequest(9, Pasid.NONE, 0xC000, true, false, 11, true);
        assertThat(rig.priEntry(0)[1]).isEqualTo(0xC000L | 11);
        assertThat(prod() & 0xFFFF_FFFFL).isEqualTo(OVF | 1 << PRIQ_LOG2 | 1);
        assertThat(rig.responses).hasSize(2);
    }

    private void fillQueue() {
        for (int i = 0; i < 4; i++) {
            rig.pageRequest(9, Pasid.NONE, 0x1000, true, false, i, false);
        }
    }

    @ParameterizedTest(name = "STE dword 1 0x{1}: {2}")
    @CsvSource({
        "1,40000,pasid",      // STE V=1 abort, PPAR=1
        "1,0,none",           // PPAR=0
        "0,40000,failure"})   // V=0: the STE cannot be checked
    void overflowResponseToARequestWithPasidFollowsStePpar(int valid, String d1, String expect) {
        rig.enable();
        rig.ste(9, valid, Long.parseLong(d1, 16));
        fillQueue();
        rig.pageRequest(9, 77, 0x5000, false, true, 0x100, true);
        PageResponseMessage r = rig.responses.get(0);
        switch (expect) {
            case "pasid" -> assertThat(r).isEqualTo(new PageResponseMessage(9, 77, 0x100, PageResponseCode.SUCCESS));
            case "none" -> assertThat(r).isEqualTo(new PageResponseMessage(9, Pasid.NONE, 0x100, PageResponseCode.SUCCESS));
            default -> assertThat(r).isEqualTo(new PageResponseMessage(9, Pasid.NONE, 0x100, PageResponseCode.RESPONSE_FAILURE));
        }
        assertThat(rig.regs.read32(EVENTQ_PROD)).as("REC_CFG_ATS=0: no event").isZero();
    }

    @Test
    void overflowSteCheckRecordsCBadSteWithRecCfgAts() { // spec 8.1
        rig.regs.write32(CR2, 1 << 3 | 1 << 1);
        rig.enable();
        fillQueue();
        rig.pageRequest(9, 77, 0x5000, true, false, 5, true);
        assertThat(rig.responses).containsExactly(new PageResponseMessage(9, Pasid.NONE, 5, PageResponseCode.RESPONSE_FAILURE));
        assertThat(rig.event(0)[0]).isEqualTo(9L << 32 | 77L << 12 | 1L << 11 | 0x04);
    }

    @Test
    void stopMarkersGetNoResponse() {
        rig.enable();
        rig.ste(9, 1, 1L << 18);
        fillQueue();
        rig.pageRequest(9, 77, 0, false, false, 0, true); // Stop PASID marker
        rig.regs.write32(CR0, 0b11101); // PRIQEN=0
        rig.pageRequest(9, 77, 0, false, false, 0, true);
        assertThat(rig.responses).isEmpty();
    }

    @Test
    void disabledQueueAnswersEveryRequestWithResponseFailure() { // spec 8.2
        rig.enable();
        rig.regs.write32(CR0, 0b11101); // PRIQEN=0
        rig.pageRequest(9, 3, 0x1000, true, false, 1, false);
        rig.pageRequest(9, 3, 0x2000, true, false, 1, true);
        assertThat(rig.responses).containsExactly(
                new PageResponseMessage(9, Pasid.NONE, 1, PageResponseCode.RESPONSE_FAILURE),
                new PageResponseMessage(9, Pasid.NONE, 1, PageResponseCode.RESPONSE_FAILURE));
        rig.responses.clear();
        rig.regs.write32(CR0, 0b11110); // PRIQEN=1 but SMMUEN=0
        rig.pageRequest(9, Pasid.NONE, 0x1000, true, false, 2, true);
        assertThat(rig.responses).containsExactly(new PageResponseMessage(9, Pasid.NONE, 2, PageResponseCode.RESPONSE_FAILURE));
        assertThat(prod()).isZero();
    }

    @Test
    void abortWritingTheQueueRaisesPriqAbtErr() { // spec 8.2
        rig.regs.write64(PRIQ_BASE, 0x1000_0000L | PRIQ_LOG2);
        rig.regs.write64(STRTAB_BASE, STRTAB);
        rig.regs.write32(STRTAB_BASE_CFG, 8);
        rig.regs.write32(CR0, 0b00011);
        rig.pageRequest(9, Pasid.NONE, 0x1000, true, false, 1, true);
        assertThat(rig.regs.read32(GERROR) ^ rig.regs.read32(GERRORN)).isEqualTo(1 << 3);
        rig.pageRequest(9, Pasid.NONE, 0x2000, true, false, 2, false);
        assertThat(rig.responses).containsExactly(
                new PageResponseMessage(9, Pasid.NONE, 1, PageResponseCode.RESPONSE_FAILURE),
                new PageResponseMessage(9, Pasid.NONE, 2, PageResponseCode.RESPONSE_FAILURE));
        assertThat(prod()).isZero();
    }

    @ParameterizedTest(name = "Resp={0}")
    @CsvSource({"0,RESPONSE_FAILURE", "1,INVALID_REQUEST", "2,SUCCESS"})
    void priRespSendsThePrgResponse(int resp, PageResponseCode code) { // spec §5.4
        rig.enable();
        rig.command(AtsCommand.priResp(0x42, true, 0xABCDE, 0x1FF, resp));
        rig.command(AtsCommand.priResp(0x43, false, 0, 7, resp));
        rig.sync();
        assertThat(rig.responses).containsExactly(new PageResponseMessage(0x42, 0xABCDE, 0x1FF, code),
                new PageResponseMessage(0x43, Pasid.NONE, 7, code));
        assertThat(rig.regs.read32(CMDQ_CONS)).isEqualTo(3);
    }

    @Test
    void priRespWithReservedRespIsIllegal() {
        rig.enable();
        rig.command(AtsCommand.priResp(0x42, false, 0, 1, AtsCommand.RESP_RESERVED));
        assertThat(rig.regs.read32(CMDQ_CONS)).isEqualTo(1 << 24);
        assertThat(rig.regs.read32(GERROR) & 1).isEqualTo(1);
        assertThat(rig.responses).isEmpty();
    }

    @Test
    void priRespAndAtcInvAreIgnoredWhileSmmuenIsZero() {
        rig.regs.write64(CMDQ_BASE, CMDQ | 4);
        rig.regs.write32(CR0, 0b01000);
        rig.command(AtsCommand.priResp(0x42, false, 0, 1, AtsCommand.RESP_SUCCESS));
        rig.command(AtsCommand.atcInvAll(0x42, false, 0));
        rig.sync();
        assertThat(rig.regs.read32(CMDQ_CONS)).isEqualTo(3);
        assertThat(rig.responses).isEmpty();
    }

    @Test
    void atcInvIsAcceptedAndCompletesAtTheSync() {
        rig.enable();
        rig.command(AtsCommand.atcInvRange(9, true, 5, 0x4000_0000L, 0x20_0000));
        rig.command(AtsCommand.atcInvAll(9, false, 0));
        long[] global = AtsCommand.atcInvAll(9, true, 5);
        global[0] |= AtsCommand.ATC_GLOBAL.of(1);
        rig.command(global);
        rig.sync();
        assertThat(rig.regs.read32(CMDQ_CONS)).isEqualTo(4);
        assertThat(rig.regs.read32(GERROR)).isZero();
    }

    @Test
    void withoutPriTheQueueDoesNotExistAndPriRespIsIllegal() { // spec §5.2: ILL if IDR0.PRI=0
        PriRig noPri = new PriRig(false);
        assertThat(noPri.regs.read32(IDR0) & (1 << 16)).isZero();
        assertThat(noPri.regs.read32(IDR0) & (1 << 10)).as("ATS stays").isNotZero();
        assertThat(noPri.regs.read32(IDR1) >>> 11 & 0x1F).as("PRIQS").isZero();
        noPri.enable();
        assertThat(noPri.regs.read32(CR0)).as("PRIQEN is RES0").isEqualTo(0b11101);
        assertThat(noPri.regs.read32(IRQ_CTRL)).as("PRIQ_IRQEN is RES0").isEqualTo(5);
        assertThat(noPri.regs.read64(PRIQ_BASE)).isZero();
        noPri.pageRequest(9, Pasid.NONE, 0x1000, true, false, 1, true);
        assertThat(noPri.responses).containsExactly(new PageResponseMessage(9, Pasid.NONE, 1, PageResponseCode.RESPONSE_FAILURE));
        noPri.command(AtsCommand.atcInvAll(9, false, 0));
        assertThat(noPri.regs.read32(CMDQ_CONS)).as("ATC_INV legal with ATS").isEqualTo(1);
        noPri.command(AtsCommand.priResp(9, false, 0, 1, AtsCommand.RESP_SUCCESS));
        assertThat(noPri.regs.read32(CMDQ_CONS)).isEqualTo(1 | 1 << 24);
        assertThat(noPri.responses).hasSize(1);
    }

    @Test
    void priqRegistersLockWhileEnabled() {
        rig.enable();
        rig.regs.write64(PRIQ_IRQ_CFG0, FREE);
        rig.regs.write32(PRIQ_IRQ_CFG1, 5);
        rig.regs.write32(PRIQ_IRQ_CFG2, -1);
        assertThat(List.of(rig.regs.read64(PRIQ_IRQ_CFG0), (long) rig.regs.read32(PRIQ_IRQ_CFG1), (long) rig.regs.read32(PRIQ_IRQ_CFG2)))
                .as("guarded by PRIQ_IRQEN").containsExactly(0L, 0L, 0L);
        rig.regs.write32(IRQ_CTRL, 5);
        rig.regs.write32(PRIQ_IRQ_CFG2, -1);
        assertThat(rig.regs.read32(PRIQ_IRQ_CFG2) & 0xFFFF_FFFFL).as("LO, SH, MemAttr").isEqualTo(OVF | 0x3F);
        rig.regs.write64(PRIQ_BASE, FREE | 3);
        rig.regs.write32(PRIQ_PROD, 3);
        assertThat(rig.regs.read64(PRIQ_BASE)).isEqualTo(PRIQ | PRIQ_LOG2);
        assertThat(prod()).isZero();
        rig.regs.write32(PRIQ_CONS, 0xFFFF_FFFF);
        assertThat(rig.regs.read32(PRIQ_CONS) & 0xFFFF_FFFFL).as("RD, RD_WRAP and OVACKFLG only").isEqualTo(OVF | 7);
        rig.command(Command.sync());
        assertThat(rig.regs.read32(CMDQ_CONS)).isEqualTo(1);
    }
}
