package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.Faults.assertRecorded;
import static dev.iommukit.backend.vtd.Faults.high;
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
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.pgtable.x86.X86PagingEntry;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/** DMA through second-level (digest §8), first-level (§7) and pass-through entries, for every page size. */
class TranslationTest {
    private static final RequesterId DEV = RequesterId.parse("02:00.0");
    private static final int SID = DEV.value();

    @ParameterizedTest
    @ValueSource(strings = {"39", "48", "57"})
    void secondLevelEveryPageSizeEveryWidth(String width) {
        try (VtdMachine m = new VtdMachine(Map.of("addressWidth", width))) {
            m.driver.probeDevice(DEV, 0);
            BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            m.driver.attach(DEV, Pasid.NONE, d);
            long top = (1L << Integer.parseInt(width)) - (1L << 30);
            d.map(0x1000, 0x7000, 4096, 2, Permissions.READ_WRITE);
            d.map(0x40_0000L, 0x1060_0000L, 1L << 21, 1, Permissions.READ);
            d.map(top, 0x1_0000_0000L, 1L << 30, 1, Permissions.READ_WRITE);
            assertThat(m.read(SID, 0x1234)).isEqualTo(0x7234);
            assertThat(m.read(SID, 0x2FF8)).isEqualTo(0x8FF8);
            assertThat(m.read(SID, 0x5F_FFF0L)).isEqualTo(0x107F_FFF0L);
            assertThat(m.read(SID, top + 0x1234_5678L)).isEqualTo(0x1_0000_0000L + 0x1234_5678L);
            // twice: the second translation is an IOTLB hit
            assertThat(m.read(SID, top + 0x1234_5678L)).isEqualTo(0x1_0000_0000L + 0x1234_5678L);
            long slRoot = m.memory.read64(m.pasidEntryAddress(SID, 0)) & ~0xFFFL;
            int levels = (Integer.parseInt(width) - 12) / 9;
            assertThat(m.memory.read64(m.leafSlot(slRoot, levels, 0x40_0000L, 21))).as("PS, R").isEqualTo(0x1060_0000L | 0x81);
            assertThat(m.memory.read64(m.leafSlot(slRoot, levels, top, 30))).as("PS, R, W").isEqualTo(0x1_0000_0000L | 0x83);
            assertThat(m.dma(SID, Pasid.NONE, 0x40_0000L, AccessType.WRITE).fault().record().name()).isEqualTo("SGN.6");
            assertThat(m.reported).hasSize(1);
        }
    }

    @Test
    void firstLevelEveryPageSize() {
        try (VtdMachine m = new VtdMachine(Map.of("pagingLevel", "first"))) {
            m.driver.probeDevice(DEV, 0);
            BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            m.driver.attach(DEV, Pasid.NONE, d);
            assertThat(d.info().apertureEnd()).isEqualTo((1L << 47) - 1);
            d.map(0x1000, 0x7000, 4096, 1, Permissions.READ);
            d.map(0x20_0000L, 0x60_0000L, 1L << 21, 1, Permissions.READ_WRITE);
            d.map(0x7F_C000_0000L, 0x4000_0000L, 1L << 30, 1, Permissions.READ_WRITE);
            assertThat(m.read(SID, 0x1010)).isEqualTo(0x7010);
            assertThat(m.read(SID, 0x3F_FFF0L)).isEqualTo(0x7F_FFF0L);
            assertThat(m.dma(SID, Pasid.NONE, 0x7F_C000_1000L, AccessType.WRITE).physicalAddress()).isEqualTo(0x4000_1000L);
            assertRecorded(m, m.dma(SID, Pasid.NONE, 0x1010, AccessType.WRITE), 0, "SGN.6", FaultReason.PERMISSION, 0x1000,
                    high(SID, 0x85, true, false, 0, false, false));
            assertRecorded(m, m.dma(SID, Pasid.NONE, 0x9000, AccessType.READ), 1, "SFS.2", FaultReason.NOT_MAPPED, 0x9000,
                    high(SID, 0x71, false, false, 0, false, false));
            assertRecorded(m, m.dma(SID, Pasid.NONE, 0x0000_8000_0000_0000L, AccessType.READ), 2, "SGN.1", FaultReason.NOT_MAPPED,
                    0x0000_8000_0000_0000L, high(SID, 0x80, false, false, 0, false, false));
        }
    }

    @Test
    void firstLevelUserSupervisorAndHardwareAccessedDirty() {
        try (VtdMachine m = new VtdMachine(Map.of("pagingLevel", "first"))) {
            m.driver.probeDevice(DEV, 8);
            BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            m.driver.attach(DEV, 3, d);
            d.map(0x1000, 0x7000, 4096, 1, Permissions.READ_WRITE);
            d.map(0x2000, 0x8000, 4096, 1, Permissions.READ);
            long pml4 = m.memory.read64(m.pasidEntryAddress(SID, 3) + 16) & ~0xFFFL;
            long pte1 = m.leafSlot(pml4, 4, 0x1000, 12);
            long pte2 = m.leafSlot(pml4, 4, 0x2000, 12);
            // Software hands A/D to hardware and takes U/S away from the second page.
            m.memory.write64(pte1, m.memory.read64(pte1) & ~(X86PagingEntry.A | X86PagingEntry.D));
            m.memory.write64(pte2, m.memory.read64(pte2) & ~X86PagingEntry.US);
            assertThat(m.dma(SID, 3, 0x1000, AccessType.READ).physicalAddress()).isEqualTo(0x7000);
            assertThat(m.memory.read64(pte1) & (X86PagingEntry.A | X86PagingEntry.D)).as("A set by a read").isEqualTo(X86PagingEntry.A);
            assertThat(m.dma(SID, 3, 0x1008, AccessType.WRITE).physicalAddress()).isEqualTo(0x7008);
            assertThat(m.memory.read64(pte1) & X86PagingEntry.D).as("D set by a write").isNotZero();

            assertRecorded(m, m.dma(SID, 3, 0x2000, AccessType.READ), 0, "SGN.2", FaultReason.PERMISSION, 0x2000,
                    high(SID, 0x81, false, true, 3, false, false));
            assertThat(m.dma(new DmaRequest(SID, 3, 0x2000, 4, AccessType.READ, false, true)).physicalAddress()).isEqualTo(0x8000);
            // WPE=1: a supervisor write obeys R/W
            TranslationOutcome o = m.dma(new DmaRequest(SID, 3, 0x2000, 4, AccessType.WRITE, false, true));
            assertRecorded(m, o, 1, "SGN.6", FaultReason.PERMISSION, 0x2000, high(SID, 0x85, true, true, 3, true, false));

            // Without PWSNP hardware may not update A/D: SFS.9.
            m.driver.attach(DEV, 4, d);
            long pe4 = m.pasidEntryAddress(SID, 4);
            m.memory.write64(pe4 + 8, m.memory.read64(pe4 + 8) & ~(1L << 23));
            m.memory.write64(pte1, m.memory.read64(pte1) & ~X86PagingEntry.A);
            assertRecorded(m, m.dma(SID, 4, 0x1000, AccessType.READ), 2, "SFS.9", FaultReason.ACCESS_FLAG, 0x1000,
                    high(SID, 0x90, false, true, 4, false, false));
        }
    }

    @Test
    void firstLevelBadTables() {
        try (VtdMachine m = new VtdMachine(Map.of("pagingLevel", "first"))) {
            m.driver.probeDevice(DEV, 0);
            BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            m.driver.attach(DEV, Pasid.NONE, d);
            d.map(0x1000, 0x7000, 4096, 1, Permissions.READ_WRITE);
            long pe = m.pasidEntryAddress(SID, 0);
            long pml4 = m.memory.read64(pe + 16) & ~0xFFFL;
            long e = m.memory.read64(pml4);
            m.memory.write64(pml4, e | X86PagingEntry.PS);
            assertRecorded(m, m.dma(SID, Pasid.NONE, 0x1000, AccessType.READ), 0, "SFS.3", FaultReason.BAD_CONFIGURATION, 0x1000,
                    high(SID, 0x72, false, false, 0, false, false));
            m.memory.write64(pml4, (e & 0xFFF) | 0x8000_0000L);
            assertRecorded(m, m.dma(SID, Pasid.NONE, 0x1000, AccessType.READ), 1, "SFS.1", FaultReason.EXTERNAL_ABORT, 0x1000,
                    high(SID, 0x70, false, false, 0, false, false));
            m.memory.write64(pml4, e);
            long q2 = m.memory.read64(pe + 16);
            m.memory.write64(pe + 16, (q2 & 0xFFF) | 0x8000_0000L);
            m.invalidateAll();
            assertRecorded(m, m.dma(SID, Pasid.NONE, 0x1000, AccessType.READ), 2, "SFS.4", FaultReason.EXTERNAL_ABORT, 0x1000,
                    high(SID, 0x73, false, false, 0, false, false));
        }
    }

    @Test
    void identityAndAuxiliaryDomainsAtPasids() {
        try (VtdMachine m = new VtdMachine()) {
            m.driver.probeDevice(DEV, 20);
            BackendDomain identity = m.driver.allocateDomain(DomainType.IDENTITY, DomainOptions.DEFAULT);
            BackendDomain aux = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            m.driver.attach(DEV, Pasid.NONE, identity);
            m.driver.attach(DEV, 0xFFFFF, aux);
            aux.map(0x1000, 0xA000, 4096, 1, Permissions.READ);
            assertThat(m.read(SID, 0x1000)).isEqualTo(0x1000);
            assertThat(m.dma(SID, 0xFFFFF, 0x1000, AccessType.READ).physicalAddress()).isEqualTo(0xA000);
            m.driver.attach(DEV, 0x40, identity);
            assertThat(m.dma(SID, 0x40, 0x5000, AccessType.WRITE).physicalAddress()).isEqualTo(0x5000);
            // replacing a domain at a PASID
            m.driver.attach(DEV, 0x40, aux);
            assertThat(m.dma(SID, 0x40, 0x1000, AccessType.READ).physicalAddress()).isEqualTo(0xA000);
            assertThat(m.reported).isEmpty();
        }
    }

    @Test
    void firstLevelFiveLevelPagingByHand() {
        try (VtdMachine m = new VtdMachine(Map.of("pagingLevel", "first"))) {
            m.driver.probeDevice(DEV, 0);
            BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            m.driver.attach(DEV, Pasid.NONE, d);
            d.map(0x1000, 0x7000, 4096, 1, Permissions.READ);
            long pe = m.pasidEntryAddress(SID, 0);
            long q2 = m.memory.read64(pe + 16);
            long pml4 = q2 & ~0xFFFL;
            // A PML5 table whose entry 1 (bits 56:48 = 1) points at the domain's PML4; FLPM=01.
            long pml5 = m.allocator.allocatePage("test pml5");
            m.memory.write64(pml5 + 8, pml4 | X86PagingEntry.P | X86PagingEntry.RW | X86PagingEntry.US | X86PagingEntry.A);
            m.memory.write64(pe + 16, pml5 | (q2 & 0xFFF) | 1L << 2);
            m.invalidateAll();
            assertThat(m.read(SID, (1L << 48) | 0x1010)).isEqualTo(0x7010);
            assertRecorded(m, m.dma(SID, Pasid.NONE, 0x1010, AccessType.READ), 0, "SFS.2", FaultReason.NOT_MAPPED, 0x1000,
                    high(SID, 0x71, false, false, 0, false, false));
            assertRecorded(m, m.dma(SID, Pasid.NONE, 1L << 57, AccessType.READ), 1, "SGN.1", FaultReason.NOT_MAPPED, 1L << 57,
                    high(SID, 0x80, false, false, 0, false, false));
            m.memory.write64(pe + 16, q2 | 2L << 2);
            m.invalidateAll();
            assertRecorded(m, m.dma(SID, Pasid.NONE, 0x1010, AccessType.READ), 2, "SPT.4", FaultReason.BAD_CONFIGURATION, 0x1000,
                    high(SID, 0x5B, false, false, 0, false, false));
            m.memory.write64(pe + 16, q2);
            m.invalidateAll();
            m.allocator.free(pml5);
        }
    }
}
