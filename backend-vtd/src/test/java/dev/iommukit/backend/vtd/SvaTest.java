package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.Faults.assertRecorded;
import static dev.iommukit.backend.vtd.Faults.high;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.backend.vtd.arch.FaultRecord;
import dev.iommukit.backend.vtd.arch.RegisterOffsets;
import dev.iommukit.backend.vtd.hw.HardwareModel;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.pgtable.PageTable;
import dev.iommukit.spi.pgtable.x86.X86PagingEntry;
import dev.iommukit.spi.pgtable.x86.X86PagingFormat;
import java.util.ServiceLoader;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Native SVA (digest §14): a PASID translated by a process's own x86-64 4-level tables, built here
 * with user pages and A/D left to hardware, from a region apart from the IOMMU's table pool.
 */
class SvaTest {
    private static final RequesterId DEV = RequesterId.parse("00:03.0");
    private static final int SID = DEV.value();
    private static final int PASID = 9;
    /** The process's page-table pages: [256 MiB, 320 MiB), outside the unit's pool. */
    private static final long PROCESS_TABLES = 256L << 20;
    private static final long VA_RW = 0x0000_7F12_3456_7000L;
    private static final long PA_RW = 0x0300_5000L;
    private static final long VA_RO = 0x0000_7F12_3456_8000L;
    private static final long PA_RO = 0x0300_8000L;
    private static final long VA_2M = 0x0000_5555_4000_0000L;
    private static final long PA_2M = 0x0460_0000L;

    private final VtdMachine m = new VtdMachine();
    private final PageAllocator processAllocator = new PageAllocator(m.memory, PROCESS_TABLES, 64L << 20);
    private final PageTable process = new PageTable(new X86PagingFormat(4, true, true, false, false), processAllocator, "process");
    private final CpuAddressSpace space = new CpuAddressSpace(process.root(), "x86-64", 48);

    @AfterEach
    void close() {
        m.close();
    }

    private SvaDomain boundAtPasid9() {
        m.driver.probeDevice(DEV, 10);
        process.map(VA_RW, PA_RW, 4096, 1, Permissions.READ_WRITE);
        process.map(VA_RO, PA_RO, 4096, 1, Permissions.READ);
        process.map(VA_2M, PA_2M, 2L << 20, 1, Permissions.READ_WRITE);
        SvaDomain sva = m.driver.allocateSvaDomain(space);
        m.driver.attach(DEV, PASID, sva);
        return sva;
    }

    private TranslationOutcome dma(long va, AccessType access) {
        return m.dma(SID, PASID, va, access);
    }

    /** The slots of the 4 entries (PML4E, PDPE, PDE, PTE) a 4 KiB walk of {@code va} uses. */
    private long[] walkSlots(long va, int leafShift) {
        int n = (39 - leafShift) / 9 + 1;
        long[] slots = new long[n];
        long table = process.root();
        for (int i = 0; i < n; i++) {
            int shift = 39 - 9 * i;
            slots[i] = table + ((va >>> shift) & 0x1FF) * 8;
            table = m.memory.read64(slots[i]) & X86PagingEntry.ADDRESS_MASK;
        }
        return slots;
    }

    @Test
    void dmaReachesProcessPagesAndHardwareSetsAccessedAndDirty() {
        SvaDomain sva = boundAtPasid9();
        long[] rw = walkSlots(VA_RW, 12);
        for (long slot : rw) {
            assertThat(m.memory.read64(slot) & (X86PagingEntry.A | X86PagingEntry.D)).as("the CPU tables do not preset A/D").isZero();
        }
        assertThat(dma(VA_RW + 0x18, AccessType.READ).physicalAddress()).isEqualTo(PA_RW + 0x18);
        for (long slot : rw) {
            assertThat(m.memory.read64(slot) & X86PagingEntry.A).as("A in every entry used").isNotZero();
        }
        assertThat(m.memory.read64(rw[3]) & X86PagingEntry.D).as("no D after a read").isZero();
        assertThat(dma(VA_RW + 0x20, AccessType.WRITE).physicalAddress()).isEqualTo(PA_RW + 0x20);
        assertThat(m.memory.read64(rw[3])).as("PTE after the write: P, R/W, U/S, A, D").isEqualTo(PA_RW | 0x67);
        for (int i = 0; i < 3; i++) {
            assertThat(m.memory.read64(rw[i]) & X86PagingEntry.D).as("D only in the leaf").isZero();
        }
        // 2 MiB page: the PDE is the leaf and gets D.
        assertThat(dma(VA_2M + 0x12_3456L, AccessType.WRITE).physicalAddress()).isEqualTo(PA_2M + 0x12_3456L);
        long[] big = walkSlots(VA_2M, 21);
        assertThat(m.memory.read64(big[2])).isEqualTo(PA_2M | X86PagingEntry.PS | 0x67);
        // Read-only page: readable, a user write faults SGN.6 and leaves D clear.
        assertThat(dma(VA_RO, AccessType.READ).physicalAddress()).isEqualTo(PA_RO);
        assertRecorded(m, dma(VA_RO + 8, AccessType.WRITE), 0, "SGN.6", FaultReason.PERMISSION, VA_RO,
                high(SID, 0x85, true, true, PASID, false, false));
        assertThat(m.memory.read64(walkSlots(VA_RO, 12)[3]) & X86PagingEntry.D).isZero();
        // SRE=0: supervisor requests are refused (SPT.6).
        TranslationOutcome priv = m.dma(new DmaRequest(SID, PASID, VA_RW, 4, AccessType.READ, false, true));
        assertRecorded(m, priv, 1, "SPT.6", FaultReason.UNSUPPORTED_REQUEST, VA_RW, high(SID, 0x5D, false, true, PASID, true, false));
        // iovaToPhys walks the CPU tables without touching A/D.
        assertThat(sva.iovaToPhys(VA_RW + 0x123)).isEqualTo(PA_RW + 0x123);
        assertThat(sva.iovaToPhys(VA_2M + 0x1F_FFFFL)).isEqualTo(PA_2M + 0x1F_FFFFL);
        assertThat(sva.iovaToPhys(0x1000)).isEqualTo(-1);
        assertThat(sva.iovaToPhys(1L << 47)).as("non-canonical").isEqualTo(-1);
    }

    @Test
    void userRequestNeedsUserAtEveryLevel() {
        boundAtPasid9();
        long pde = walkSlots(VA_RW, 12)[2];
        // The process makes the PDE supervisor-only and tells the IOMMU.
        m.memory.write64(pde, m.memory.read64(pde) & ~X86PagingEntry.US);
        assertRecorded(m, dma(VA_RW, AccessType.READ), 0, "SGN.2", FaultReason.PERMISSION, VA_RW,
                high(SID, 0x81, false, true, PASID, false, false));
        assertThat(m.memory.read64(walkSlots(VA_RW, 12)[3]) & X86PagingEntry.A).as("no A for a refused access").isZero();
    }

    @Test
    void pasidEntryAndInvalidationsAsANativeBind() {
        SvaDomain sva = boundAtPasid9();
        DomainInfo info = sva.info();
        assertThat(info.type()).isEqualTo(DomainType.SVA);
        assertThat(info.pageSizes()).isZero();
        assertThat(info.attachableAtPasid()).isTrue();
        assertThat(info.translation()).isEqualTo("SVA: CPU x86-64 4-level tables (CR3), DID 2");
        assertThat(sva.addressSpace()).isEqualTo(space);
        long pe = m.pasidEntryAddress(SID, PASID);
        // qw0: P=1, FPD=0, PGTT=001 (8:6); qw1: DID 2 (79:64), PWSNP (87); qw2: SRE=0, FLPM=00, FLPTPTR = CR3.
        assertThat(m.memory.read64(pe)).isEqualTo(0x41L);
        assertThat(m.memory.read64(pe + 8)).isEqualTo(2L | 1L << 23);
        assertThat(m.memory.read64(pe + 16)).isEqualTo(process.root());
        for (int i = 3; i < 8; i++) {
            assertThat(m.memory.read64(pe + 8L * i)).isZero();
        }
        // Table 28 for a new PASID entry: pc_inv PASID-selective, p_iotlb_inv PASID-selective, inv_wait.
        long[][] last = lastDescriptors(3);
        assertThat(last[0]).containsExactly(7L | 1L << 4 | 2L << 16 | (long) PASID << 32, 0, 0, 0);
        assertThat(last[1]).containsExactly(6L | 2L << 4 | 2L << 16 | (long) PASID << 32, 0, 0, 0);
        assertThat(last[2][0] & 0xFFFF_FFFFL).as("inv_wait with SW").isEqualTo(0x25L);
    }

    /** The {@code n} descriptors just before IQT, oldest first. */
    private long[][] lastDescriptors(int n) {
        long iqa = m.hw.read64(RegisterOffsets.IQA_REG);
        long base = iqa & RegisterOffsets.IQA_BASE_MASK;
        long size = 4096L << (iqa & 7);
        long tail = m.hw.read64(RegisterOffsets.IQT_REG);
        long[][] out = new long[n][4];
        for (int k = 0; k < n; k++) {
            long slot = base + Math.floorMod(tail - 32L * (n - k), size);
            for (int i = 0; i < 4; i++) {
                out[k][i] = m.memory.read64(slot + 8L * i);
            }
        }
        return out;
    }

    @Test
    void pageTheProcessUnmapsStaysReachableUntilInvalidate() {
        SvaDomain sva = boundAtPasid9();
        assertThat(dma(VA_RW, AccessType.READ).physicalAddress()).isEqualTo(PA_RW);
        process.unmap(VA_RW, 4096);
        assertThat(sva.iovaToPhys(VA_RW)).isEqualTo(-1);
        assertThat(dma(VA_RW + 4, AccessType.READ).physicalAddress()).as("stale IOTLB entry").isEqualTo(PA_RW + 4);
        sva.invalidate(VA_RW, 4096);
        long[][] last = lastDescriptors(2);
        assertThat(last[0]).as("p_iotlb_inv page-in-PASID, AM 0, IH 0")
                .containsExactly(6L | 3L << 4 | 2L << 16 | (long) PASID << 32, VA_RW, 0, 0);
        assertRecorded(m, dma(VA_RW + 4, AccessType.READ), 0, "SFS.2", FaultReason.NOT_MAPPED, VA_RW,
                high(SID, 0x71, false, true, PASID, false, false));
        // A 2 MiB range is one descriptor with AM 9.
        assertThat(dma(VA_2M, AccessType.READ).physicalAddress()).isEqualTo(PA_2M);
        process.unmap(VA_2M, 2L << 20);
        sva.invalidate(VA_2M, 2L << 20);
        assertThat(lastDescriptors(2)[0]).containsExactly(6L | 3L << 4 | 2L << 16 | (long) PASID << 32, VA_2M | 9, 0, 0);
        assertThat(dma(VA_2M, AccessType.READ).fault().record().name()).isEqualTo("SFS.2");
    }

    @Test
    void quiesceMakesEveryRequestFaultWithoutARecord() {
        RequesterId other = RequesterId.parse("00:04.0");
        SvaDomain sva = boundAtPasid9();
        m.driver.probeDevice(other, 8);
        m.driver.attach(other, 12, sva);
        assertThat(m.dma(other.value(), 12, VA_RW, AccessType.READ).physicalAddress()).isEqualTo(PA_RW);
        assertThat(dma(VA_RW, AccessType.WRITE).physicalAddress()).isEqualTo(PA_RW);
        assertRecorded(m, dma(0x1000, AccessType.READ), 0, "SFS.2", FaultReason.NOT_MAPPED, 0x1000,
                high(SID, 0x71, false, true, PASID, false, false));

        sva.quiesce();
        for (long pe : new long[] {m.pasidEntryAddress(SID, PASID), m.pasidEntryAddress(other.value(), 12)}) {
            assertThat(m.memory.read64(pe)).as("P=0, FPD=1").isEqualTo(0x2L);
            for (int i = 1; i < 8; i++) {
                assertThat(m.memory.read64(pe + 8L * i)).isZero();
            }
        }
        process.free(); // the process's tables are gone; nothing may walk them
        TranslationOutcome[] outcomes = {dma(VA_RW, AccessType.READ), dma(VA_RW, AccessType.WRITE), dma(0x1000, AccessType.READ),
                m.dma(other.value(), 12, VA_RW, AccessType.READ)};
        for (TranslationOutcome o : outcomes) {
            assertThat(o.isTranslated()).isFalse();
            assertThat(o.fault().record().name()).isEqualTo("SPT.2");
            assertThat(o.fault().reason()).isEqualTo(FaultReason.BLOCKED);
            assertThat(o.fault().record().fields()).containsEntry("F", 0L);
        }
        assertThat(m.reported).as("nothing recorded after quiesce").hasSize(1);
        for (int i = 0; i < HardwareModel.defaults().cap().faultRecordCount(); i++) {
            assertThat(m.frcdHigh(i) & FaultRecord.F).isZero();
        }
        assertThat(m.hw.read32(RegisterOffsets.FSTS_REG) & 3).as("PPF and PFO clear").isZero();
        // Still attached: the core detaches, then frees.
        m.driver.attach(DEV, PASID, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        m.driver.attach(other, 12, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        sva.free();
    }

    @Test
    void refusals() {
        SvaDomain sva = boundAtPasid9();
        assertThatThrownBy(() -> m.driver.attach(DEV, Pasid.NONE, sva)).isInstanceOf(NotSupportedException.class)
                .hasMessageContaining("PASID");
        assertThatThrownBy(() -> m.driver.allocateSvaDomain(new CpuAddressSpace(process.root(), "aarch64", 48)))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("space").hasMessageContaining("x86-64");
        assertThatThrownBy(() -> m.driver.allocateSvaDomain(new CpuAddressSpace(process.root(), "x86-64", 57)))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("space").hasMessageContaining("addressBits 48");
        assertThatThrownBy(() -> m.driver.allocateSvaDomain(new CpuAddressSpace(process.root() | 8, "x86-64", 48)))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("pageTableRoot");
        assertThatThrownBy(() -> sva.map(0x1000, 0x2000, 4096, 1, Permissions.READ)).isInstanceOf(InvalidArgumentException.class);
        assertThatThrownBy(() -> sva.unmap(VA_RW, 4096)).isInstanceOf(InvalidArgumentException.class);
        assertThat(dma(VA_RW, AccessType.READ).physicalAddress()).as("the refused attach changed nothing").isEqualTo(PA_RW);
    }

    @Test
    void detachFreeAndCloseLeaveNoTablePageAndReleaseTheDid() {
        SvaDomain sva = boundAtPasid9();
        assertThat(dma(VA_RW, AccessType.READ).physicalAddress()).isEqualTo(PA_RW);
        m.driver.attach(DEV, PASID, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        sva.free();
        assertThat(m.driver.allocateSvaDomain(space).info().translation()).endsWith("DID 2");
        m.driver.close();
        assertThat(m.allocator.allocatedPages()).isEqualTo(m.pagesBefore);
        assertThat(m.allocator.liveAllocations()).isEmpty();
    }

    @Test
    void capabilitiesAdvertiseSva() {
        assertThat(m.driver.capabilities().parameters(Capability.SVA).orElseThrow()).containsEntry("cpuFormat", "x86-64")
                .containsEntry("addressBits", "48").containsEntry("pasidBits", "20");
        var withPasids = m.driver.probeDevice(DEV, 10).capabilities();
        assertThat(withPasids.parameters(Capability.SVA).orElseThrow()).containsEntry("cpuFormat", "x86-64")
                .containsEntry("addressBits", "48").containsEntry("pasidBits", "10");
        assertThat(m.driver.probeDevice(RequesterId.parse("00:05.0"), 0).capabilities().has(Capability.SVA)).isFalse();
        IommuBackend vtd = StreamSupport.stream(ServiceLoader.load(IommuBackend.class).spliterator(), false)
                .filter(b -> b.id().equals("vtd")).findFirst().orElseThrow();
        assertThat(vtd.capabilities().parameter(Capability.SVA, "cpuFormat")).contains("x86-64");
    }
}
