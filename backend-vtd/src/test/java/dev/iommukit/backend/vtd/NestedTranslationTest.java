package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.Faults.assertRecorded;
import static dev.iommukit.backend.vtd.Faults.high;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
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
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.NestedDomain;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import dev.iommukit.spi.pgtable.x86.X86PagingEntry;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Nested translation (PGTT=011, digest §9) seen from outside: a guest's first-level tables written
 * by hand into guest RAM (GPA = HPA - 256 MiB through the parent's second level), the nested PASID
 * entry in memory, DMA from GVA to HPA, every nested fault with its FRCD and stage, A/D in the
 * guest's entries, and guest invalidations through {@link NestedDomain#invalidate}.
 */
class NestedTranslationTest {
    private static final RequesterId DEV = RequesterId.parse("00:03.0");
    private static final int SID = DEV.value();
    private static final int PASID = 5;
    private static final long HOST = 0x1000_0000L;
    private static final long GUEST_RAM = 8L << 20;
    private static final long VA = 0x0000_1234_5678_9000L;
    private static final long GPA_DATA = 0x40_0000L;
    private static final long VA_2M = 0x0000_2000_0040_0000L;
    private static final long GPA_2M = 0x60_0000L;

    private VtdMachine m = new VtdMachine();
    private BackendDomain parent;
    private HandBuiltGuest guest;

    @AfterEach
    void close() {
        if (parent != null) {
            m.driver.releaseDevice(DEV);
            parent.free();
        }
        m.close();
        assertThat(m.allocator.allocatedPages()).as("close frees every table page").isEqualTo(m.pagesBefore);
    }

    /** Probes the device, makes the parent (guest RAM mapped) and attaches it for requests without PASID. */
    private void setUp() {
        m.driver.probeDevice(DEV, 10);
        parent = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
        guest = new HandBuiltGuest(m.memory, parent, HOST, GUEST_RAM);
        m.driver.attach(DEV, Pasid.NONE, parent);
    }

    private NestedDomain bind(Set<VtdGuestPasidFlag> flags) {
        NestedDomain nested = m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(guest.root, 48, flags));
        m.driver.attach(DEV, PASID, nested);
        return nested;
    }

    private TranslationOutcome dma(long va, AccessType access) {
        return m.dma(SID, PASID, va, access);
    }

    private long dmaPa(long va, AccessType access) {
        TranslationOutcome out = dma(va, access);
        assertThat(out.isTranslated()).as("%s 0x%x translates, fault: %s", access, va, out.isTranslated() ? null : out.fault()).isTrue();
        return out.physicalAddress();
    }

    private long[] entry(long pa) {
        long[] q = new long[8];
        for (int i = 0; i < 8; i++) {
            q[i] = m.memory.read64(pa + 8L * i);
        }
        return q;
    }

    private Fault assertFault(TranslationOutcome out, int before, String name, int fr, FaultReason reason, long va, boolean write,
                              FaultStage stage) {
        Fault f = assertRecorded(m, out, before, name, reason, va & ~0xFFFL, high(SID, fr, write, true, PASID, false, false));
        assertThat(f.stage()).as("stage of %s", name).isEqualTo(stage);
        assertThat(m.reported.get(before).pasid()).isEqualTo(PASID);
        assertThat(m.reported.get(before).stage()).as("stage of %s as the driver reports it", name).isEqualTo(stage);
        return f;
    }

    /** Moves the SL mapping of one guest page to {@code perms} (unmap then map, as the host would). */
    private void slPermissions(long gpa, int perms) {
        parent.unmap(gpa, 4096);
        parent.map(gpa, guest.hpa(gpa), 4096, 1, perms);
    }

    @Test
    void nestedPasidEntryWordsAreExactlyPgtt011() {
        setUp();
        bind(Set.of(VtdGuestPasidFlag.SRE));
        long[] sl = entry(m.pasidEntryAddress(SID, 0));
        long slptptr = sl[0] & ~0xFFFL;
        int did = (int) (sl[1] & 0xFFFF);
        assertThat(sl[0] & 0xFFF).as("parent at RID_PASID: P, AW=010, PGTT=010").isEqualTo(1 | 2 << 2 | 2 << 6);
        assertThat(slptptr).isNotZero();
        long[] nested = entry(m.pasidEntryAddress(SID, PASID));
        assertThat(nested).containsExactly(
                slptptr | 3L << 6 | 2L << 2 | 1,           // SLPTPTR, PGTT=011, AW=010 (48-bit), FPD=0, P=1
                did | 1L << 23,                            // DID = parent's, PWSNP (ECAP.SMPWCS)
                guest.root | 1,                            // FLPTPTR (GPA), FLPM=00, SRE
                0, 0, 0, 0, 0);
        assertThat(nested[0] >>> 6 & 7).as("PGTT").isEqualTo(3);
        assertThat(nested[2] >>> 12).as("FLPTPTR 191:140").isEqualTo(guest.root >>> 12);
    }

    @Test
    void fiveLevelGuestWithWpeSetsFlpmAndWpe() {
        setUp();
        NestedDomain nested = m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(guest.root, 57,
                Set.of(VtdGuestPasidFlag.SRE, VtdGuestPasidFlag.WPE)));
        m.driver.attach(DEV, 7, nested);
        long[] e = entry(m.pasidEntryAddress(SID, 7));
        assertThat(e[2]).as("FLPTPTR | WPE (132) | FLPM=01 (131:130) | SRE (128)").isEqualTo(guest.root | 1L << 4 | 1L << 2 | 1);
        assertThat(nested.info().type()).isEqualTo(DomainType.NESTED);
        assertThat(nested.info().apertureEnd()).isEqualTo((1L << 56) - 1);
        m.driver.attach(DEV, 7, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        nested.free();
    }

    @Test
    void nestedDmaGoesFromGvaThroughGpaToHpa() {
        setUp();
        NestedDomain nested = bind(Set.of());
        guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        guest.map(VA_2M, GPA_2M, 21, HandBuiltGuest.USER_RW);
        assertThat(dmaPa(VA + 0x123, AccessType.READ)).isEqualTo(HOST + GPA_DATA + 0x123);
        assertThat(dmaPa(VA + 0x456, AccessType.WRITE)).isEqualTo(HOST + GPA_DATA + 0x456);
        // A 2 MiB guest page over 4 KiB SL pages: each 4 KiB of it lands where the SL puts it.
        assertThat(dmaPa(VA_2M + 0x1_2345, AccessType.READ)).isEqualTo(HOST + GPA_2M + 0x1_2345);
        parent.unmap(GPA_2M + 0x1_3000, 4096);
        parent.map(GPA_2M + 0x1_3000, 0x2000_0000L, 4096, 1, Permissions.READ_WRITE);
        assertThat(dmaPa(VA_2M + 0x1_3010, AccessType.WRITE)).isEqualTo(0x2000_0010L);
        assertThat(dmaPa(VA_2M + 0x1_2346, AccessType.WRITE)).as("the neighbour page is unchanged").isEqualTo(HOST + GPA_2M + 0x1_2346);
        assertThat(nested.iovaToPhys(VA_2M + 0x1_3010)).isEqualTo(0x2000_0010L);
        assertThat(nested.iovaToPhys(VA + 8)).isEqualTo(HOST + GPA_DATA + 8);
        assertThat(nested.iovaToPhys(VA + 0x10_0000)).isEqualTo(-1);
        assertThat(m.reported).isEmpty();
    }

    @Test
    void fiveLevelGuestTablesAreWalkedFromThePml5() {
        setUp();
        guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        long pml5 = guest.allocateTable();
        guest.write(pml5, guest.root | HandBuiltGuest.USER_RW); // PML5E 0 -> the 4-level tree
        NestedDomain nested = m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(pml5, 57, Set.of()));
        m.driver.attach(DEV, PASID, nested);
        assertThat(dmaPa(VA + 0x10, AccessType.WRITE)).isEqualTo(HOST + GPA_DATA + 0x10);
        assertThat(guest.read(pml5) & X86PagingEntry.A).as("A in the PML5E too").isNotZero();
        long high = VA | 1L << 48; // canonical in 57 bits, PML5E 1 not present
        assertFault(dma(high, AccessType.READ), 0, "SFS.2", 0x71, FaultReason.NOT_MAPPED, high, false, FaultStage.STAGE_1);
        assertThat(nested.iovaToPhys(VA + 0x10)).isEqualTo(HOST + GPA_DATA + 0x10);
    }

    @Test
    void hardwareSetsAccessedAndDirtyInTheGuestsEntries() {
        setUp();
        bind(Set.of());
        long[] slots = guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        dmaPa(VA, AccessType.READ);
        for (long s : slots) {
            assertThat(guest.read(s) & (X86PagingEntry.A | X86PagingEntry.D)).as("A, not D, after a read").isEqualTo(X86PagingEntry.A);
        }
        dmaPa(VA + 8, AccessType.WRITE);
        assertThat(guest.read(slots[3])).as("PTE: P, R/W, U/S, A, D").isEqualTo(GPA_DATA | 0x67);
        for (int i = 0; i < 3; i++) {
            assertThat(guest.read(slots[i]) & X86PagingEntry.D).as("D only in the leaf").isZero();
        }
    }

    @Test
    void supervisorRequestsNeedSreAndWpeGovernsTheirWrites() {
        setUp();
        bind(Set.of(VtdGuestPasidFlag.SRE, VtdGuestPasidFlag.WPE));
        guest.map(VA, GPA_DATA, 12, X86PagingEntry.P);
        TranslationOutcome read = m.dma(new DmaRequest(SID, PASID, VA, 4, AccessType.READ, false, true));
        assertThat(read.physicalAddress()).as("supervisor read of a supervisor read-only page").isEqualTo(HOST + GPA_DATA);
        TranslationOutcome write = m.dma(new DmaRequest(SID, PASID, VA, 4, AccessType.WRITE, false, true));
        Fault f = assertRecorded(m, write, 0, "SGN.6", FaultReason.PERMISSION, VA, high(SID, 0x85, true, true, PASID, true, false));
        assertThat(f.stage()).isEqualTo(FaultStage.STAGE_1);
        assertThat(m.reported.get(0).stage()).isEqualTo(FaultStage.STAGE_1);
        assertFault(dma(VA, AccessType.READ), 1, "SGN.2", 0x81, FaultReason.PERMISSION, VA, false, FaultStage.STAGE_1);
    }

    @Test
    void singleLevelFaultsCarryTheirStageToo() {
        setUp();
        // The parent alone (PGTT=010) at RID_PASID: a write to a read-only SL page is a stage-2 SGN.6.
        parent.unmap(0x5000, 4096);
        parent.map(0x5000, HOST + 0x5000, 4096, 1, Permissions.READ);
        Fault f = assertRecorded(m, m.dma(SID, Pasid.NONE, 0x5000, AccessType.WRITE), 0, "SGN.6", FaultReason.PERMISSION, 0x5000,
                high(SID, 0x85, true, false, 0, false, false));
        assertThat(f.stage()).isEqualTo(FaultStage.STAGE_2);
        assertThat(m.reported.get(0).stage()).isEqualTo(FaultStage.STAGE_2);
        Fault absent = assertRecorded(m, m.dma(SID, Pasid.NONE, GUEST_RAM, AccessType.READ), 1, "SSS.2", FaultReason.NOT_MAPPED,
                GUEST_RAM, high(SID, 0x79, false, false, 0, false, false));
        assertThat(absent.stage()).isEqualTo(FaultStage.STAGE_2);
    }

    @Test
    void nestedIotlbHitAllocatesNothing() {
        java.lang.management.ThreadMXBean bean = java.lang.management.ManagementFactory.getThreadMXBean();
        org.junit.jupiter.api.Assumptions.assumeTrue(bean instanceof com.sun.management.ThreadMXBean, "allocation counting not available");
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) bean;
        setUp();
        bind(Set.of());
        guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        DmaRequest write = DmaRequest.of(SID, PASID, VA + 0x40, 8, AccessType.WRITE);
        DmaRequest read = DmaRequest.of(SID, PASID, VA + 0x80, 8, AccessType.READ);
        TranslationOutcome out = new TranslationOutcome();
        for (int i = 0; i < 20_000; i++) {
            m.hw.dmaPort().translate(write, out);
            m.hw.dmaPort().translate(read, out);
        }
        long tid = Thread.currentThread().getId();
        long before = threads.getThreadAllocatedBytes(tid);
        for (int i = 0; i < 10_000; i++) {
            m.hw.dmaPort().translate(write, out);
            m.hw.dmaPort().translate(read, out);
        }
        long allocated = threads.getThreadAllocatedBytes(tid) - before;
        assertThat(out.physicalAddress()).isEqualTo(HOST + GPA_DATA + 0x80);
        assertThat(allocated).as("bytes allocated by 20000 nested hits").isLessThan(2_000);
    }

    @Test
    void supervisorRequestWithoutSreIsSpt6() {
        setUp();
        bind(Set.of());
        guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        TranslationOutcome out = m.dma(new DmaRequest(SID, PASID, VA, 4, AccessType.READ, false, true));
        Fault f = assertRecorded(m, out, 0, "SPT.6", FaultReason.UNSUPPORTED_REQUEST, VA, high(SID, 0x5D, false, true, PASID, true, false));
        assertThat(f.stage()).isEqualTo(FaultStage.NONE);
    }

    @Test
    void flptptrAboveTheGpaLimitIsSpt4() {
        setUp();
        bind(Set.of());
        guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        long pe = m.pasidEntryAddress(SID, PASID);
        int did = (int) (m.memory.read64(pe + 8) & 0xFFFF);
        m.memory.write64(pe + 16, 1L << 48); // X = min(MGAW + 1, 48) = 48
        m.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, did, PASID),
                InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, did, PASID, 0, 0, false));
        assertFault(dma(VA, AccessType.READ), 0, "SPT.4", 0x5B, FaultReason.BAD_CONFIGURATION, VA, false, FaultStage.NONE);
    }

    @Test
    void firstLevelAddressAboveTheGpaLimitIsSfs5() {
        m.close();
        m = new VtdMachine(Map.of("addressWidth", "39"));
        setUp();
        bind(Set.of());
        long[] slots = guest.map(VA & ((1L << 39) - 1), GPA_DATA, 12, HandBuiltGuest.USER_RW);
        long va = VA & ((1L << 39) - 1);
        assertThat(dmaPa(va, AccessType.READ)).isEqualTo(HOST + GPA_DATA);
        // A PDPE pointing at GPA 2^40: below HAW (48, so not reserved) but above X = 39.
        guest.write(slots[1], 1L << 40 | HandBuiltGuest.USER_RW);
        m.submit(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, didOf(PASID), PASID, 0, 0, false));
        assertFault(dma(va, AccessType.READ), 0, "SFS.5", 0x74, FaultReason.ADDRESS_SIZE, va, false, FaultStage.STAGE_1);
    }

    private int didOf(int pasid) {
        return (int) (m.memory.read64(m.pasidEntryAddress(SID, pasid) + 8) & 0xFFFF);
    }

    @Test
    void noSecondLevelReadOnTheRootTableIsSfs6() {
        setUp();
        bind(Set.of());
        guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        slPermissions(guest.root, Permissions.WRITE);
        assertFault(dma(VA, AccessType.READ), 0, "SFS.6", 0x75, FaultReason.PERMISSION, VA, false, FaultStage.STAGE_2);
    }

    @Test
    void noSecondLevelReadOnALowerTableIsSfs7() {
        setUp();
        bind(Set.of());
        long[] slots = guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        slPermissions(slots[3] & ~0xFFFL, Permissions.WRITE);
        assertFault(dma(VA, AccessType.WRITE), 0, "SFS.7", 0x76, FaultReason.PERMISSION, VA, true, FaultStage.STAGE_2);
    }

    @Test
    void accessedFlagUpdateWithoutSecondLevelWriteIsSfs8() {
        setUp();
        bind(Set.of());
        long[] slots = guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        long pd = slots[2] & ~0xFFFL;
        slPermissions(pd, Permissions.READ);
        assertFault(dma(VA, AccessType.READ), 0, "SFS.8", 0x77, FaultReason.PERMISSION, VA, false, FaultStage.STAGE_2);
        assertThat(guest.read(slots[2]) & X86PagingEntry.A).as("the read-only table is not written").isZero();
        assertThat(guest.read(slots[3]) & X86PagingEntry.A).as("nothing after the failed update either").isZero();
        // With A already set by the guest, a read needs no update and passes; a write needs D in the PTE (writable table).
        guest.write(slots[2], guest.read(slots[2]) | X86PagingEntry.A);
        assertThat(dmaPa(VA, AccessType.READ)).isEqualTo(HOST + GPA_DATA);
        assertThat(dmaPa(VA, AccessType.WRITE)).isEqualTo(HOST + GPA_DATA);
    }

    @Test
    void finalSecondLevelPermissionsAreSgn6AndSgn7InStage2() {
        setUp();
        bind(Set.of());
        long[] leaf = guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        slPermissions(GPA_DATA, Permissions.READ);
        assertThat(dmaPa(VA, AccessType.READ)).isEqualTo(HOST + GPA_DATA);
        assertFault(dma(VA + 4, AccessType.WRITE), 0, "SGN.6", 0x85, FaultReason.PERMISSION, VA, true, FaultStage.STAGE_2);
        assertThat(guest.read(leaf[3]) & X86PagingEntry.D).as("D stays clear: the write was not allowed").isZero();
        slPermissions(GPA_DATA, Permissions.WRITE);
        assertThat(dmaPa(VA, AccessType.WRITE)).isEqualTo(HOST + GPA_DATA);
        assertFault(dma(VA, AccessType.READ), 1, "SGN.7", 0x86, FaultReason.PERMISSION, VA, false, FaultStage.STAGE_2);
    }

    @Test
    void firstLevelFaultsAreStage1() {
        setUp();
        bind(Set.of());
        guest.map(VA, GPA_DATA, 12, X86PagingEntry.P | X86PagingEntry.US);
        assertFault(dma(VA, AccessType.WRITE), 0, "SGN.6", 0x85, FaultReason.PERMISSION, VA, true, FaultStage.STAGE_1);
        assertFault(dma(VA + 0x1000, AccessType.READ), 1, "SFS.2", 0x71, FaultReason.NOT_MAPPED, VA + 0x1000, false,
                FaultStage.STAGE_1);
        long[] slots = guest.map(VA + 0x2000, GPA_DATA, 12, HandBuiltGuest.USER_RW | 1L << 51);
        assertThat(slots).hasSize(4);
        assertFault(dma(VA + 0x2000, AccessType.READ), 2, "SFS.3", 0x72, FaultReason.BAD_CONFIGURATION, VA + 0x2000, false,
                FaultStage.STAGE_1);
        assertFault(dma(0x0000_8000_0000_0000L, AccessType.READ), 3, "SGN.1", 0x80, FaultReason.NOT_MAPPED, 0x0000_8000_0000_0000L,
                false, FaultStage.STAGE_1);
    }

    @Test
    void secondLevelNotPresentIsSss2ForTablesAndForTheFinalPage() {
        setUp();
        bind(Set.of());
        long[] slots = guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        parent.unmap(GPA_DATA, 4096);
        assertFault(dma(VA, AccessType.READ), 0, "SSS.2", 0x79, FaultReason.NOT_MAPPED, VA, false, FaultStage.STAGE_2);
        parent.unmap(slots[3] & ~0xFFFL, 4096);
        assertFault(dma(VA, AccessType.WRITE), 1, "SSS.2", 0x79, FaultReason.NOT_MAPPED, VA, true, FaultStage.STAGE_2);
        // A guest table pointer to a GPA beyond guest RAM (not in the SL at all).
        guest.write(slots[1], (64L << 20) | HandBuiltGuest.USER_RW);
        assertFault(dma(VA, AccessType.READ), 2, "SSS.2", 0x79, FaultReason.NOT_MAPPED, VA, false, FaultStage.STAGE_2);
    }

    @Test
    void guestTablesTheSecondLevelPutsOutsideRamAreFetchErrors() {
        setUp();
        long outside = 2L << 30; // RAM ends at 1 GiB
        long[] slots = guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        long pt = slots[3] & ~0xFFFL;
        parent.unmap(pt, 4096);
        parent.map(pt, outside, 4096, 1, Permissions.READ_WRITE);
        bind(Set.of());
        assertFault(dma(VA, AccessType.READ), 0, "SFS.1", 0x70, FaultReason.EXTERNAL_ABORT, VA, false, FaultStage.STAGE_1);
        parent.unmap(guest.root, 4096);
        parent.map(guest.root, outside + 0x1000, 4096, 1, Permissions.READ_WRITE);
        assertFault(dma(VA, AccessType.READ), 1, "SFS.4", 0x73, FaultReason.EXTERNAL_ABORT, VA, false, FaultStage.STAGE_1);
    }

    @Test
    void staleFirstLevelChangeUntilTheGuestInvalidatesThenFresh() {
        setUp();
        NestedDomain nested = bind(Set.of());
        long[] slots = guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        assertThat(dmaPa(VA, AccessType.READ)).isEqualTo(HOST + GPA_DATA);
        guest.write(slots[3], (GPA_DATA + 0x5000) | HandBuiltGuest.USER_RW);
        assertThat(dmaPa(VA, AccessType.READ)).as("stale: the IOTLB still holds the old page").isEqualTo(HOST + GPA_DATA);
        InvalidationBatchResult r = nested.invalidate(List.of(CacheInvalidation.range(PASID, VA, 4096, 1, true)));
        assertThat(r).isEqualTo(InvalidationBatchResult.all(1));
        assertThat(dmaPa(VA, AccessType.READ)).as("fresh after p_iotlb page-selective").isEqualTo(HOST + GPA_DATA + 0x5000);
        // PASID-selective and domain-wide requests work the same way.
        guest.write(slots[3], (GPA_DATA + 0x6000) | HandBuiltGuest.USER_RW);
        assertThat(dmaPa(VA, AccessType.READ)).isEqualTo(HOST + GPA_DATA + 0x5000);
        assertThat(nested.invalidate(List.of(CacheInvalidation.pasid(PASID, CacheInvalidation.Cache.IOTLB))).isComplete()).isTrue();
        assertThat(dmaPa(VA, AccessType.READ)).isEqualTo(HOST + GPA_DATA + 0x6000);
        guest.write(slots[3], (GPA_DATA + 0x7000) | HandBuiltGuest.USER_RW);
        assertThat(nested.invalidate(List.of(CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB, CacheInvalidation.Cache.PASID,
                CacheInvalidation.Cache.DEVICE_IOTLB))).isComplete()).isTrue();
        assertThat(dmaPa(VA, AccessType.READ)).isEqualTo(HOST + GPA_DATA + 0x7000);
    }

    @Test
    void nestedIotlbEntriesFollowTheCacheScopeTable() {
        setUp();
        bind(Set.of());
        long[] slots = guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        int did = didOf(PASID);
        long page = GPA_DATA;
        assertThat(dmaPa(VA, AccessType.READ)).isEqualTo(HOST + page);
        long[][] untouched = {
            InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, did, PASID + 1, 0, 0, false),
            InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PAGE, did, PASID, VA + 0x1000, 0, false),
            InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, did + 1, PASID, 0, 0, false),
            InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did + 1, 0, 0, false)};
        long[][] hits = {
            InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_PAGE, did, 0x7000, 0, false), // page-in-domain: nested entries of the DID, whole
            InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did, 0, 0, false),
            InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, did, PASID, 0, 0, false),
            InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PAGE, did, PASID, VA, 0, true),
            InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, 0, 0, false)};
        for (long[] hit : hits) {
            long stale = page;
            page += 0x1000;
            guest.write(slots[3], page | HandBuiltGuest.USER_RW | X86PagingEntry.A);
            for (long[] miss : untouched) {
                m.submit(miss);
                assertThat(dmaPa(VA, AccessType.READ)).as("type %d leaves the nested entry", InvalidationDescriptor.type(miss[0]))
                        .isEqualTo(HOST + stale);
            }
            m.submit(hit);
            assertThat(dmaPa(VA, AccessType.READ)).as("type %d G=%d drops it", InvalidationDescriptor.type(hit[0]),
                    InvalidationDescriptor.granularity(hit[0])).isEqualTo(HOST + page);
        }
    }

    @Test
    void reservedBitsOfANestedPasidEntryAreSpt3() {
        setUp();
        bind(Set.of());
        long pe = m.pasidEntryAddress(SID, PASID);
        int did = didOf(PASID);
        m.memory.write64(pe, m.memory.read64(pe) | 1L << 50); // SLPTPTR above HAW
        m.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, did, PASID));
        assertFault(dma(VA, AccessType.READ), 0, "SPT.3", 0x5A, FaultReason.BAD_CONFIGURATION, VA, false, FaultStage.NONE);
    }

    /** The {@code n} descriptors the driver queued last, before its inv_wait, oldest first; and that wait. */
    private List<long[]> lastQueued(int n) {
        long base = m.driver.invalidationQueue();
        long tail = m.hw.read64(RegisterOffsets.IQT_REG);
        long size = 8192;
        long[][] out = new long[n + 1][];
        for (int i = 0; i <= n; i++) {
            long slot = base + Math.floorMod(tail - 32L * (n + 1 - i), size);
            out[i] = new long[] {m.memory.read64(slot), m.memory.read64(slot + 8), m.memory.read64(slot + 16), m.memory.read64(slot + 24)};
        }
        return List.of(out);
    }

    @Test
    void batchStopsAtAPasidTheDomainIsNotAttachedAtAfterDoingTheFirstPart() {
        setUp();
        NestedDomain nested = bind(Set.of());
        long[] a = guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        long[] b = guest.map(VA + 0x1_0000, GPA_DATA + 0x1000, 12, HandBuiltGuest.USER_RW);
        dmaPa(VA, AccessType.READ);
        dmaPa(VA + 0x1_0000, AccessType.READ);
        guest.write(a[3], (GPA_DATA + 0x8000) | HandBuiltGuest.USER_RW);
        guest.write(b[3], (GPA_DATA + 0x9000) | HandBuiltGuest.USER_RW);
        // [VA - 0x1000, VA + 0x5000): 4 pages at VA - 0x1000 (AM=2, aligned to 16 KiB) and 2 at VA + 0x3000 (AM=1).
        InvalidationBatchResult r = nested.invalidate(List.of(
                CacheInvalidation.range(PASID, VA - 0x1000, 4096, 6, false),
                CacheInvalidation.pasid(9, CacheInvalidation.Cache.IOTLB),
                CacheInvalidation.range(PASID, VA + 0x1_0000, 4096, 1, true)));
        assertThat(r.completed()).isEqualTo(1);
        assertThat(r.requested()).isEqualTo(3);
        assertThat(r.refusal().orElseThrow()).isInstanceOf(dev.iommukit.spi.error.InvalidArgumentException.class);
        assertThat(r.refusal().orElseThrow().getMessage()).contains("pasid").contains("9");
        int did = didOf(PASID);
        List<long[]> q = lastQueued(2);
        assertThat(q.get(0)).containsExactly(6 | 3L << 4 | (long) did << 16 | (long) PASID << 32, (VA - 0x1000) | 2, 0, 0);
        assertThat(q.get(1)).containsExactly(6 | 3L << 4 | (long) did << 16 | (long) PASID << 32, (VA + 0x3000) | 1, 0, 0);
        assertThat(InvalidationDescriptor.type(q.get(2)[0])).as("one inv_wait closes the batch").isEqualTo(InvalidationDescriptor.INV_WAIT);
        assertThat(InvalidationDescriptor.type(q.get(0)[0])).isEqualTo(InvalidationDescriptor.P_IOTLB_INV);
        assertThat(dmaPa(VA, AccessType.READ)).as("the completed part took effect").isEqualTo(HOST + GPA_DATA + 0x8000);
        assertThat(dmaPa(VA + 0x1_0000, AccessType.READ)).as("the part after the refusal did not").isEqualTo(HOST + GPA_DATA + 0x1000);
    }

    @Test
    void guestInvalidationsMapToTheDescriptorsOfTheCacheScopeTable() {
        setUp();
        NestedDomain nested = bind(Set.of());
        int did = didOf(PASID);
        assertThat(nested.invalidate(List.of(CacheInvalidation.pasid(PASID, CacheInvalidation.Cache.PASID, CacheInvalidation.Cache.IOTLB))))
                .isEqualTo(InvalidationBatchResult.all(1));
        List<long[]> q = lastQueued(2);
        assertThat(q.get(0)).as("pc_inv PASID-selective first").containsExactly(7 | 1L << 4 | (long) did << 16 | (long) PASID << 32, 0, 0, 0);
        assertThat(q.get(1)).as("then p_iotlb PASID-selective").containsExactly(6 | 2L << 4 | (long) did << 16 | (long) PASID << 32, 0, 0, 0);
        // The PASID cache alone: pc_inv, then the p_iotlb of the same scope the architecture requires after it.
        nested.invalidate(List.of(CacheInvalidation.pasid(PASID, CacheInvalidation.Cache.PASID)));
        List<long[]> pcOnly = lastQueued(2);
        assertThat(pcOnly.get(0)).isEqualTo(q.get(0));
        assertThat(pcOnly.get(1)).isEqualTo(q.get(1));
        assertThat(InvalidationDescriptor.type(pcOnly.get(2)[0])).isEqualTo(InvalidationDescriptor.INV_WAIT);
        // A leaf-only 2 MiB range: one page-selective descriptor, AM=9, IH=1.
        nested.invalidate(List.of(CacheInvalidation.range(PASID, VA_2M, 2L << 20, 1, true)));
        assertThat(lastQueued(1).get(0)).containsExactly(6 | 3L << 4 | (long) did << 16 | (long) PASID << 32, VA_2M | 1L << 6 | 9, 0, 0);
        // Device TLB without ATS enabled: nothing to send, still complete.
        long tail = m.hw.read64(RegisterOffsets.IQT_REG);
        assertThat(nested.invalidate(List.of(CacheInvalidation.pasid(PASID, CacheInvalidation.Cache.DEVICE_IOTLB))).isComplete()).isTrue();
        assertThat(m.hw.read64(RegisterOffsets.IQT_REG)).isEqualTo(tail);
        // An SMMUv3 ASID has no VT-d meaning: refused before anything is queued.
        InvalidationBatchResult r = nested.invalidate(List.of(CacheInvalidation.asid(3)));
        assertThat(r.completed()).isZero();
        assertThat(r.refusal().orElseThrow().getMessage()).contains("archId");
        assertThat(m.hw.read64(RegisterOffsets.IQT_REG)).isEqualTo(tail);
    }

    @Test
    void parentUnmapInvalidatesNestedTranslations() {
        setUp();
        bind(Set.of());
        guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        assertThat(dmaPa(VA, AccessType.WRITE)).isEqualTo(HOST + GPA_DATA);
        parent.unmap(GPA_DATA, 4096);
        assertFault(dma(VA, AccessType.READ), 0, "SSS.2", 0x79, FaultReason.NOT_MAPPED, VA, false, FaultStage.STAGE_2);
        parent.map(GPA_DATA, 0x2100_0000L, 4096, 1, Permissions.READ_WRITE);
        assertThat(dmaPa(VA + 0x10, AccessType.WRITE)).isEqualTo(0x2100_0010L);
    }

    @Test
    void replaceAndDetachRewriteTheEntry() {
        setUp();
        NestedDomain first = bind(Set.of());
        guest.map(VA, GPA_DATA, 12, HandBuiltGuest.USER_RW);
        assertThat(dmaPa(VA, AccessType.READ)).isEqualTo(HOST + GPA_DATA);
        // A second guest address space at another root maps VA elsewhere; attach replaces the first.
        long root2 = guest.allocateTable();
        guest.mapAt(root2, VA, GPA_DATA + 0x3000, 12, HandBuiltGuest.USER_RW);
        NestedDomain second = m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(root2, 48, Set.of()));
        m.driver.attach(DEV, PASID, second);
        assertThat(m.memory.read64(m.pasidEntryAddress(SID, PASID) + 16)).isEqualTo(root2);
        assertThat(dmaPa(VA, AccessType.READ)).isEqualTo(HOST + GPA_DATA + 0x3000);
        first.free();
        m.driver.attach(DEV, PASID, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        assertFault(dma(VA, AccessType.READ), 0, "SPT.2", 0x59, FaultReason.BLOCKED, VA, false, FaultStage.NONE);
        second.free();
    }
}
