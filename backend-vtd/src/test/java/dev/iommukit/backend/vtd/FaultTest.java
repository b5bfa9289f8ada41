package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.Faults.assertRecorded;
import static dev.iommukit.backend.vtd.Faults.high;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.backend.vtd.arch.RegisterOffsets;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.fault.FaultReason;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Every fault case with its exact fault recording register (digest §1.8) and fault reason
 * (digest §6 order, §10 codes): blocked and unknown requesters, not-present and permission,
 * hand-written bad structures, fetches outside RAM, PASID checks, FPD suppression.
 */
class FaultTest {
    private static final RequesterId DEV = RequesterId.parse("00:03.0");
    private static final int SID = DEV.value();
    private static final long OUTSIDE_RAM = 0x8000_0000L;
    private VtdMachine m = new VtdMachine();

    @AfterEach
    void close() {
        m.close();
    }

    private BackendDomain attachedSecondLevel(int pasidBits) {
        m.driver.probeDevice(DEV, pasidBits);
        BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.driver.attach(DEV, Pasid.NONE, d);
        return d;
    }

    private TranslationOutcome read(long address) {
        return m.dma(SID, Pasid.NONE, address, AccessType.READ);
    }

    private TranslationOutcome write(long address) {
        return m.dma(SID, Pasid.NONE, address, AccessType.WRITE);
    }

    @Test
    void probedButUnattachedDeviceIsBlocked() {
        m.driver.probeDevice(DEV, 0);
        // No PASID table yet: the PASID directory entry is not present (SPD.2).
        assertRecorded(m, read(0x1234), 0, "SPD.2", FaultReason.BLOCKED, 0x1000, high(SID, 0x51, false, false, 0, false, false));
        BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.driver.attach(DEV, Pasid.NONE, d);
        m.driver.attach(DEV, Pasid.NONE, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        // The emptied PASID table went back to the allocator: the directory entry is not present again (SPD.2).
        assertRecorded(m, write(0x5678), 1, "SPD.2", FaultReason.BLOCKED, 0x5000, high(SID, 0x51, true, false, 0, false, false));
        d.free();
        // A present PASID table with this PASID's entry not present answers SPT.2.
        m.driver.probeDevice(RequesterId.parse("02:01.0"), 8);
        BackendDomain other = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.driver.attach(RequesterId.parse("02:01.0"), 5, other);
        int otherSid = RequesterId.parse("02:01.0").value();
        assertThat(m.dma(otherSid, Pasid.NONE, 0x5678, AccessType.WRITE).fault().record().name()).isEqualTo("SPT.2");
    }

    @Test
    void unknownRequesters() {
        int otherBus = RequesterId.parse("07:00.0").value();
        TranslationOutcome o = m.dma(otherBus, Pasid.NONE, 0x2000, AccessType.READ);
        assertRecorded(m, o, 0, "SRT.2", FaultReason.UNKNOWN_REQUESTER, 0x2000, high(otherBus, 0x39, false, false, 0, false, false));
        m.driver.probeDevice(DEV, 0);
        int sameBus = RequesterId.parse("00:04.0").value();
        o = m.dma(sameBus, Pasid.NONE, 0x3000, AccessType.WRITE);
        assertRecorded(m, o, 1, "SCT.2", FaultReason.UNKNOWN_REQUESTER, 0x3000, high(sameBus, 0x41, true, false, 0, false, false));
    }

    @Test
    void notPresentAndPermissionFaults() {
        BackendDomain d = attachedSecondLevel(0);
        d.map(0x10_0000L, 0x20_0000L, 4096, 1, Permissions.READ);
        d.map(0x11_0000L, 0x21_0000L, 4096, 1, Permissions.WRITE);
        assertThat(read(0x10_0008L).physicalAddress()).isEqualTo(0x20_0008L);
        assertRecorded(m, read(0x40_0000L), 0, "SSS.2", FaultReason.NOT_MAPPED, 0x40_0000L, high(SID, 0x79, false, false, 0, false, false));
        assertRecorded(m, write(0x10_0010L), 1, "SGN.6", FaultReason.PERMISSION, 0x10_0000L, high(SID, 0x85, true, false, 0, false, false));
        assertRecorded(m, read(0x11_0010L), 2, "SGN.7", FaultReason.PERMISSION, 0x11_0000L, high(SID, 0x86, false, false, 0, false, false));
        assertThat(write(0x11_0010L).physicalAddress()).isEqualTo(0x21_0010L);
    }

    @Test
    void inputBeyondAddressWidthAndInterruptRange() {
        m.close();
        m = new VtdMachine(Map.of("addressWidth", "39"));
        BackendDomain d = attachedSecondLevel(0);
        assertRecorded(m, read(1L << 39), 0, "SGN.5", FaultReason.NOT_MAPPED, 1L << 39, high(SID, 0x84, false, false, 0, false, false));
        assertThatThrownBy(() -> d.map(0x1000, 0xFEE0_0000L, 4096, 1, Permissions.READ_WRITE))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("interrupt address range");
        // the driver refuses such a mapping; a hostile table can still hold one: hardware answers SGN.8
        d.map(0x1000, 0x5000, 4096, 1, Permissions.READ_WRITE);
        long slRoot = m.memory.read64(m.pasidEntryAddress(SID, 0)) & ~0xFFFL;
        m.memory.write64(m.leafSlot(slRoot, 3, 0x1000, 12), 0xFEE0_0000L | 3);
        assertRecorded(m, write(0x1010), 1, "SGN.8", FaultReason.PERMISSION, 0x1000, high(SID, 0x87, true, false, 0, false, false));
    }

    @Test
    void passThroughAboveHostAddressWidth() {
        m.driver.probeDevice(DEV, 0);
        m.driver.attach(DEV, Pasid.NONE, m.driver.allocateDomain(DomainType.IDENTITY, DomainOptions.DEFAULT));
        assertThat(read(0x1234_5678L).physicalAddress()).isEqualTo(0x1234_5678L);
        assertRecorded(m, read(1L << 48), 0, "SGN.4", FaultReason.ADDRESS_SIZE, 1L << 48, high(SID, 0x83, false, false, 0, false, false));
    }

    @Test
    void pasidChecks() {
        m.driver.probeDevice(DEV, 0);
        TranslationOutcome o = m.dma(SID, 3, 0x1000, AccessType.READ);
        assertRecorded(m, o, 0, "SCT.6", FaultReason.BLOCKED, 0x1000, high(SID, 0x45, false, true, 3, false, false));
        RequesterId p = RequesterId.parse("00:05.0");
        m.driver.probeDevice(p, 8);
        o = m.dma(p.value(), 8192, 0x1000, AccessType.READ);
        assertRecorded(m, o, 1, "SCT.7", FaultReason.BLOCKED, 0x1000, high(p.value(), 0x46, false, true, 8192, false, false));
        o = m.dma(p.value(), 0, 0x1000, AccessType.READ);
        assertRecorded(m, o, 2, "SCT.9", FaultReason.UNSUPPORTED_REQUEST, 0x1000, high(p.value(), 0x48, false, true, 0, false, false));
        o = m.dma(p.value(), 1 << 20, 0x1000, AccessType.READ);
        assertThat(o.fault().record().name()).isEqualTo("SGN.10");
        o = m.dma(p.value(), 9, 0x1000, AccessType.WRITE);
        assertRecorded(m, o, 4, "SPD.2", FaultReason.BLOCKED, 0x1000, high(p.value(), 0x51, true, true, 9, false, false));
    }

    @Test
    void supervisorAndExecuteRequests() {
        m.driver.probeDevice(DEV, 8);
        BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.driver.attach(DEV, 7, d);
        d.map(0x1000, 0x9000, 4096, 1, Permissions.READ_WRITE);
        assertThat(m.dma(new DmaRequest(SID, 7, 0x1000, 4, AccessType.READ, false, true)).physicalAddress()).isEqualTo(0x9000);
        TranslationOutcome o = m.dma(new DmaRequest(SID, 7, 0x1000, 4, AccessType.READ, true, false));
        assertRecorded(m, o, 0, "SPT.5", FaultReason.UNSUPPORTED_REQUEST, 0x1000, high(SID, 0x5C, false, true, 7, false, true));
        // SRE cleared by hand in another PASID entry, before anything cached it.
        m.driver.attach(DEV, 8, d);
        long pe = m.pasidEntryAddress(SID, 8);
        m.memory.write64(pe + 16, m.memory.read64(pe + 16) & ~1L);
        o = m.dma(new DmaRequest(SID, 8, 0x1000, 4, AccessType.WRITE, false, true));
        assertRecorded(m, o, 1, "SPT.6", FaultReason.UNSUPPORTED_REQUEST, 0x1000, high(SID, 0x5D, true, true, 8, true, false));
    }

    @Test
    void reservedBitsInEveryStructure() {
        BackendDomain d = attachedSecondLevel(0);
        d.map(0x1000, 0x9000, 4096, 1, Permissions.READ_WRITE);
        long root = m.driver.rootTable();
        long ce = m.contextEntryAddress(SID);
        long dirEntry = m.memory.read64(ce) & ~0xFFFL;
        long pe = m.pasidEntryAddress(SID, 0);
        long slRoot = m.memory.read64(pe) & ~0xFFFL;
        long leaf = m.leafSlot(slRoot, 4, 0x1000, 12);

        m.memory.write64(leaf, m.memory.read64(leaf) | 1L << 11);
        m.invalidateAll();
        assertRecorded(m, read(0x1000), 0, "SSS.3", FaultReason.BAD_CONFIGURATION, 0x1000, high(SID, 0x7A, false, false, 0, false, false));

        m.memory.write64(pe + 24, 1);
        m.invalidateAll();
        assertRecorded(m, read(0x2000), 1, "SPT.3", FaultReason.BAD_CONFIGURATION, 0x2000, high(SID, 0x5A, false, false, 0, false, false));
        m.memory.write64(pe + 24, 0);

        long de = m.memory.read64(dirEntry);
        m.memory.write64(dirEntry, de | 1L << 5);
        m.invalidateAll();
        assertRecorded(m, read(0x2000), 2, "SPD.3", FaultReason.BAD_CONFIGURATION, 0x2000, high(SID, 0x52, false, false, 0, false, false));
        m.memory.write64(dirEntry, de);

        long ctx = m.memory.read64(ce);
        m.memory.write64(ce, ctx | 1L << 6);
        m.invalidateAll();
        assertRecorded(m, read(0x2000), 3, "SCT.3", FaultReason.BAD_CONFIGURATION, 0x2000, high(SID, 0x42, false, false, 0, false, false));
        m.memory.write64(ce, ctx);

        long re = m.memory.read64(root);
        m.memory.write64(root, re | 1L << 3);
        m.invalidateAll();
        assertRecorded(m, read(0x2000), 4, "SRT.3", FaultReason.BAD_CONFIGURATION, 0x2000, high(SID, 0x3A, false, false, 0, false, false));
        m.memory.write64(root, re);
    }

    @Test
    void garbageAndInvalidEntries() {
        attachedSecondLevel(0);
        long pe = m.pasidEntryAddress(SID, 0);
        long q0 = m.memory.read64(pe);
        m.memory.write64(pe, (q0 & ~(7L << 6)) | 5L << 6); // PGTT=101 is reserved (011 is nested, ECAP.NEST=1)
        m.invalidateAll();
        assertRecorded(m, read(0x1000), 0, "SPT.4", FaultReason.BAD_CONFIGURATION, 0x1000, high(SID, 0x5B, false, false, 0, false, false));
        m.memory.write64(pe, (q0 & ~(7L << 2)) | 4L << 2);
        m.invalidateAll();
        assertRecorded(m, read(0x1000), 1, "SPT.4", FaultReason.BAD_CONFIGURATION, 0x1000, high(SID, 0x5B, false, false, 0, false, false));
        m.memory.write64(pe, q0 & ~1L);
        m.invalidateAll();
        assertRecorded(m, read(0x1000), 2, "SPT.2", FaultReason.BLOCKED, 0x1000, high(SID, 0x59, false, false, 0, false, false));
        // random garbage in every qword: some architectural fault, never an exception
        java.util.Random r = new java.util.Random(7);
        for (int i = 0; i < 200; i++) {
            for (int q = 0; q < 8; q++) {
                m.memory.write64(pe + 8L * q, r.nextLong() | (q == 0 ? 1 : 0));
            }
            m.invalidateAll();
            TranslationOutcome o = read(r.nextLong() & 0xFFFF_FFFF_F000L);
            if (!o.isTranslated()) {
                assertThat(o.fault().record().format()).isEqualTo("vtd-frcd");
            }
        }
    }

    @Test
    void fetchesOutsideRam() {
        BackendDomain d = attachedSecondLevel(0);
        d.map(0x1000, 0x9000, 4096, 1, Permissions.READ_WRITE);
        long ce = m.contextEntryAddress(SID);
        long pe = m.pasidEntryAddress(SID, 0);
        long slRoot = m.memory.read64(pe) & ~0xFFFL;

        long pml4e = m.memory.read64(slRoot);
        m.memory.write64(slRoot, OUTSIDE_RAM | 3);
        m.invalidateAll();
        assertRecorded(m, read(0x1000), 0, "SSS.1", FaultReason.EXTERNAL_ABORT, 0x1000, high(SID, 0x78, false, false, 0, false, false));
        m.memory.write64(slRoot, pml4e);

        long q0 = m.memory.read64(pe);
        m.memory.write64(pe, OUTSIDE_RAM | (q0 & 0xFFF));
        m.invalidateAll();
        assertRecorded(m, read(0x1000), 1, "SSS.4", FaultReason.EXTERNAL_ABORT, 0x1000, high(SID, 0x7B, false, false, 0, false, false));

        long dirPtr = m.memory.read64(ce) & ~0xFFFL;
        long de = m.memory.read64(dirPtr);
        m.memory.write64(dirPtr, OUTSIDE_RAM | 1);
        m.invalidateAll();
        assertRecorded(m, read(0x1000), 2, "SPT.1", FaultReason.EXTERNAL_ABORT, 0x1000, high(SID, 0x58, false, false, 0, false, false));
        m.memory.write64(dirPtr, de);

        long ctx = m.memory.read64(ce);
        m.memory.write64(ce, OUTSIDE_RAM | (ctx & 0xFFF));
        m.invalidateAll();
        assertRecorded(m, read(0x1000), 3, "SPD.1", FaultReason.EXTERNAL_ABORT, 0x1000, high(SID, 0x50, false, false, 0, false, false));
        m.memory.write64(ce, ctx);

        long root = m.driver.rootTable();
        long re = m.memory.read64(root);
        m.memory.write64(root, OUTSIDE_RAM | 1);
        m.invalidateAll();
        assertRecorded(m, read(0x1000), 4, "SCT.1", FaultReason.EXTERNAL_ABORT, 0x1000, high(SID, 0x40, false, false, 0, false, false));
        m.memory.write64(root, re);
    }

    @Test
    void fpdSuppressesQualifiedFaultsOnly() {
        m.driver.probeDevice(DEV, 0);
        long ce = m.contextEntryAddress(SID);
        m.memory.write64(ce, m.memory.read64(ce) | 2);
        TranslationOutcome o = read(0x1000);
        assertThat(o.fault().record().name()).isEqualTo("SPD.2");
        assertThat(o.fault().reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(o.fault().record().words()).as("not recorded").isEmpty();
        assertThat(m.reported).isEmpty();
        assertThat(m.frcdHigh(0)).isZero();
        // a root-table fault is not qualified: still recorded
        int other = RequesterId.parse("09:00.0").value();
        assertThat(m.dma(other, Pasid.NONE, 0, AccessType.READ).fault().record().words()).hasSize(2);
        assertThat(m.reported).hasSize(1);
    }

    @Test
    void invalidRootTableTypeIsRta1() {
        m.driver.probeDevice(DEV, 0);
        m.hw.write64(RegisterOffsets.RTADDR_REG, m.driver.rootTable() | 2L << 10);
        m.hw.write32(RegisterOffsets.GCMD_REG, RegisterOffsets.GCMD_TE | RegisterOffsets.GCMD_QIE | RegisterOffsets.GCMD_SRTP);
        assertRecorded(m, read(0x1000), 0, "RTA.1", FaultReason.BAD_CONFIGURATION, 0x1000, high(SID, 0x30, false, false, 0, false, false));
        m.hw.write64(RegisterOffsets.RTADDR_REG, m.driver.rootTable() | 1L << 10);
        m.hw.write32(RegisterOffsets.GCMD_REG, RegisterOffsets.GCMD_TE | RegisterOffsets.GCMD_QIE | RegisterOffsets.GCMD_SRTP);
    }
}
