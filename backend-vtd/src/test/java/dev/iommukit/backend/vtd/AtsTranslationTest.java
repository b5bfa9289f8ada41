package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.Faults.assertRecorded;
import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * ATS translation requests (digest §3.2 DTE, §10): answered from the same caches and tables as
 * untranslated requests; a missing translation or missing permission is answered with no access
 * and leaves no fault record; DTE=0 and structure faults are recorded with AT=01.
 */
class AtsTranslationTest {
    private static final RequesterId DEV = RequesterId.parse("00:03.0");
    private static final int SID = DEV.value();
    private VtdMachine m = new VtdMachine();

    @AfterEach
    void close() {
        m.close();
    }

    private TranslationOutcome ats(int pasid, long address, AccessType access) {
        TranslationOutcome out = new TranslationOutcome();
        m.hw.dmaPort().translateAts(DmaRequest.of(SID, pasid, address, 4, access), out);
        return out;
    }

    private BackendDomain secondLevelDevice(boolean ats) {
        m.driver.probeDevice(DEV, 8);
        BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.driver.attach(DEV, Pasid.NONE, d);
        if (ats) {
            m.driver.enablePageRequests(DEV);
        }
        return d;
    }

    private void assertNothingRecorded() {
        assertThat(m.reported).isEmpty();
        assertThat(m.hw.read32(FSTS_REG)).isZero();
        assertThat(m.frcdHigh(0)).isZero();
    }

    @Test
    void translationsAreAnsweredAndMissingOnesGetNoAccessWithoutRecord() {
        BackendDomain d = secondLevelDevice(true);
        d.map(0x1000, 0x5000, 4096, 1, Permissions.READ);
        TranslationOutcome ok = ats(Pasid.NONE, 0x1234, AccessType.READ);
        assertThat(ok.isTranslated()).isTrue();
        assertThat(ok.physicalAddress()).isEqualTo(0x5234);

        Fault notMapped = ats(Pasid.NONE, 0x9000, AccessType.READ).fault();
        assertThat(notMapped.reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(notMapped.record().name()).isEqualTo("SSS.2");
        assertThat(notMapped.record().words()).as("no fault record written").isEmpty();
        assertThat(notMapped.record().fields()).containsEntry("AT", 1L).containsEntry("F", 0L);
        assertThat(notMapped.stage()).as("second level is stage 2").isEqualTo(FaultStage.STAGE_2);

        Fault readOnly = ats(Pasid.NONE, 0x1000, AccessType.WRITE).fault();
        assertThat(readOnly.reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(readOnly.record().name()).isEqualTo("SGN.6");
        assertNothingRecorded();

        // The same misses as untranslated requests are recorded (AT=00).
        TranslationOutcome untranslated = m.dma(SID, Pasid.NONE, 0x9000, AccessType.READ);
        assertThat(untranslated.fault().record().words()).hasSize(2);
        assertThat(m.frcdHigh(0) >>> 60 & 3).as("AT=00").isZero();
        assertThat(untranslated.fault().stage()).isEqualTo(FaultStage.STAGE_2);
    }

    @Test
    void firstLevelMissIsAStageOneNoAccess() {
        m.close();
        m = new VtdMachine(Map.of("pagingLevel", "first"));
        BackendDomain d = secondLevelDevice(true);
        d.map(0x1000, 0x5000, 4096, 1, Permissions.READ);
        assertThat(ats(Pasid.NONE, 0x1000, AccessType.READ).physicalAddress()).isEqualTo(0x5000);
        Fault f = ats(Pasid.NONE, 0x4000, AccessType.READ).fault();
        assertThat(f.record().name()).isEqualTo("SFS.2");
        assertThat(f.reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(f.stage()).isEqualTo(FaultStage.STAGE_1);
        assertThat(ats(Pasid.NONE, 0x1000, AccessType.WRITE).fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertNothingRecorded();
    }

    @Test
    void firstLevelUnmapOfAnAtsDeviceFollowsTheRidPasidIotlbInvalidationWithDevTlb() {
        m.close();
        m = new VtdMachine(Map.of("pagingLevel", "first"));
        BackendDomain d = secondLevelDevice(true);
        d.map(0x40_0000L, 0x80_0000L, 4096, 2, Permissions.READ);
        long base = m.driver.invalidationQueue();
        long from = m.hw.read64(IQT_REG);
        d.unmap(0x40_0000L, 2 * 4096);
        long to = m.hw.read64(IQT_REG);
        assertThat((to - from + 8192) % 8192).as("p_iotlb, dev_tlb, inv_wait").isEqualTo(3 * 32);
        long[] pIotlb = {m.memory.read64(base + from), m.memory.read64(base + from + 8)};
        long[] devTlb = {m.memory.read64(base + (from + 32) % 8192), m.memory.read64(base + (from + 32) % 8192 + 8)};
        assertThat(pIotlb[0]).as("p_iotlb page-selective, DID 2, PASID 0").isEqualTo(6L | 3L << 4 | 2L << 16);
        assertThat(pIotlb[1]).isEqualTo(0x40_0000L | 1 | 1L << 6);
        assertThat(devTlb[0]).as("dev_tlb for the RID_PASID translation")
                .isEqualTo(3L | (SID & 0xFL) << 12 | (long) SID << 32 | (long) (SID >>> 4) << 52);
        assertThat(devTlb[1]).as("S=1, two pages: bit 12 clear").isEqualTo(0x40_0000L | 1);
    }

    @Test
    void translationRequestWithDteClearIsRecordedAsSct5() {
        secondLevelDevice(false).map(0x1000, 0x5000, 4096, 1, Permissions.READ);
        long high = SID | 0x44L << 32 | 1L << 60 | 1L << 62 | 1L << 63;
        assertRecorded(m, ats(Pasid.NONE, 0x1000, AccessType.READ), 0, "SCT.5", FaultReason.UNSUPPORTED_REQUEST, 0x1000, high);
        assertThat(m.reported.get(0).stage()).isEqualTo(FaultStage.NONE);
        // The untranslated request still goes through.
        assertThat(m.read(SID, 0x1000)).isEqualTo(0x5000);
    }

    @Test
    void structureFaultsOfTranslationRequestsAreRecordedWithAt01() {
        secondLevelDevice(true);
        // PASID 9 has nothing attached: its PASID table entry is not present (SPT.2 after the table of PASID 0..63 exists).
        long high = SID | 1L << 31 | 0x59L << 32 | 9L << 40 | 1L << 60 | 1L << 63;
        assertRecorded(m, ats(9, 0x2000, AccessType.WRITE), 0, "SPT.2", FaultReason.BLOCKED, 0x2000, high);
    }

    @Test
    void atsUsesTheIotlbAndFollowsDisable() {
        BackendDomain d = secondLevelDevice(true);
        d.map(0x1000, 0x5000, 4096, 1, Permissions.READ_WRITE);
        assertThat(ats(Pasid.NONE, 0x1000, AccessType.WRITE).physicalAddress()).isEqualTo(0x5000);
        long slRoot = m.memory.read64(m.pasidEntryAddress(SID, 0)) & ~0xFFFL;
        m.memory.write64(m.leafSlot(slRoot, 4, 0x1000, 12), 0x9000 | 3);
        assertThat(ats(Pasid.NONE, 0x1000, AccessType.READ).physicalAddress()).as("IOTLB hit, as for translate").isEqualTo(0x5000);
        d.unmap(0x1000, 4096);
        assertThat(ats(Pasid.NONE, 0x1000, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        m.driver.disablePageRequests(DEV);
        assertThat(ats(Pasid.NONE, 0x1000, AccessType.READ).fault().record().name()).as("context cache invalidated").isEqualTo("SCT.5");
    }
}
