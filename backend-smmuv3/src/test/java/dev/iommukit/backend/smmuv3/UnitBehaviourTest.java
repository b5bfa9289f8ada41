package dev.iommukit.backend.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.backend.smmuv3.arch.ContextDescriptor;
import dev.iommukit.backend.smmuv3.arch.L1ContextDescriptor;
import dev.iommukit.backend.smmuv3.arch.L1StreamTableDescriptor;
import dev.iommukit.backend.smmuv3.arch.StreamTableEntry;
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
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The unit seen from outside: DMA results, faults, and the exact structures in memory. */
class UnitBehaviourTest {
    private final TestMachine m = new TestMachine();

    private long steAddress(int sid) {
        long base = m.reg("STRTAB_BASE") & StreamTableEntry.S1_CONTEXT_PTR.mask();
        long l1 = m.memory.read64(base + 8L * (sid >>> 8));
        return L1StreamTableDescriptor.l2Pointer(l1) + 64L * (sid & 0xFF);
    }

    private long[] ste(int sid) {
        long a = steAddress(sid);
        long[] w = new long[8];
        for (int i = 0; i < 8; i++) {
            w[i] = m.memory.read64(a + 8L * i);
        }
        return w;
    }

    private long[] cd(long table, int index) {
        long[] w = new long[8];
        for (int i = 0; i < 8; i++) {
            w[i] = m.memory.read64(table + 64L * index + 8L * i);
        }
        return w;
    }

    private long[] lastEvent() {
        long base = m.reg("EVENTQ_BASE") & 0x000F_FFFF_FFFF_FFE0L;
        int prod = (int) m.reg("EVENTQ_PROD") & 0x7F;
        long slot = base + 32L * ((prod - 1) & 0x7F);
        return new long[] {m.memory.read64(slot), m.memory.read64(slot + 8), m.memory.read64(slot + 16), m.memory.read64(slot + 24)};
    }

    private BackendDomain s1() {
        return m.unit.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
    }

    @Test
    void probedDeviceIsBlockedSilentlyByAnAbortSte() {
        m.unit.probeDevice(TestMachine.DEV, 0);
        assertThat(ste(TestMachine.DEV.value())).containsExactly(1, 0, 0, 0, 0, 0, 0, 0);
        TranslationOutcome out = m.read(0x1000);
        assertThat(out.isTranslated()).isFalse();
        assertThat(out.fault().reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(out.fault().record().name()).isEqualTo("STE_ABORT");
        assertThat(out.fault().record().words()).isEmpty();
        assertThat(m.reg("EVENTQ_PROD")).isZero();
        assertThat(m.faults).isEmpty();
    }

    @Test
    void unknownStreamIsCBadStreamIdRecordedAndReported() {
        TranslationOutcome out = m.dma(RequesterId.parse("05:00.0"), Pasid.NONE, 0x1000, AccessType.READ);
        assertThat(out.fault().reason()).isEqualTo(FaultReason.UNKNOWN_REQUESTER);
        assertThat(out.fault().record().name()).isEqualTo("C_BAD_STREAMID");
        assertThat(lastEvent()).containsExactly(0x0000_0500_0000_0002L, 0, 0, 0);
        assertThat(m.faults).hasSize(1);
        assertThat(m.faults.get(0).reason()).isEqualTo(FaultReason.UNKNOWN_REQUESTER);
        assertThat(m.faults.get(0).requester()).isEqualTo(RequesterId.parse("05:00.0"));
        assertThat(m.reg("EVENTQ_CONS")).isEqualTo(m.reg("EVENTQ_PROD"));
    }

    @Test
    void stage1AttachWritesSteAndCdExactly() {
        m.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = s1();
        m.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        long[] ste = ste(TestMachine.DEV.value());
        long cdTable = StreamTableEntry.contextPointer(ste[0]);
        assertThat(ste[0]).isEqualTo(1 | 0b101 << 1 | cdTable); // V, Config=S1, S1Fmt=0, S1CDMax=0
        assertThat(ste[1]).isEqualTo(0b10 | 1 << 2 | 1 << 4 | 3 << 6); // S1DSS=SSID0, S1CIR/S1COR=WBRA, S1CSH=ISH
        assertThat(List.of(ste[2], ste[3], ste[4], ste[5], ste[6], ste[7])).containsOnly(0L);
        long[] cd = cd(cdTable, 0);
        long ttb0 = ContextDescriptor.ttb(cd[1]);
        assertThat(cd[0]).isEqualTo(16L | 0 << 6 | 1 << 8 | 1 << 10 | 3 << 12 | 1L << 30 | 1L << 31 | 5L << 32 | 1L << 41
                | 1L << 45 | 1L << 46 | 1L << 47 | 1L << 48);
        assertThat(cd[1]).isEqualTo(ttb0);
        assertThat(ttb0).isNotZero();
        assertThat(cd[3]).isEqualTo(VmsaFormat.MAIR);
        assertThat(List.of(cd[2], cd[4], cd[5], cd[6], cd[7])).containsOnly(0L);
    }

    @ParameterizedTest(name = "{0} granule, page {1}")
    @CsvSource({"4K,0x1000", "4K,0x200000", "4K,0x40000000", "16K,0x4000", "16K,0x2000000", "64K,0x10000", "64K,0x20000000"})
    void stage1TranslatesEveryPageSize(String granule, String pageHex) {
        TestMachine g = new TestMachine(Map.of("granule", granule));
        long page = Long.decode(pageHex);
        g.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = g.unit.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        g.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        long iova = page * 3;
        long pa = TestMachine.RAM + page;
        d.map(iova, pa, page, 1, Permissions.READ_WRITE);
        assertThat(g.read(iova + page - 8).physicalAddress()).isEqualTo(pa + page - 8);
        assertThat(g.write(iova + 0x10).physicalAddress()).isEqualTo(pa + 0x10);
        assertThat(g.read(iova + page).isTranslated()).isFalse();
        g.unit.close();
        assertThat(g.allocator.allocatedPages()).isZero();
    }

    @ParameterizedTest(name = "{0} granule, page {1}")
    @CsvSource({"4K,0x1000", "4K,0x200000", "4K,0x40000000", "16K,0x4000", "16K,0x2000000", "64K,0x10000", "64K,0x20000000"})
    void stage2TranslatesEveryPageSize(String granule, String pageHex) {
        TestMachine g = new TestMachine(Map.of("granule", granule));
        long page = Long.decode(pageHex);
        g.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = g.unit.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
        assertThat(d.info().attachableAtPasid()).isFalse();
        g.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        long ipa = page * 5;
        d.map(ipa, TestMachine.RAM, page, 1, Permissions.READ);
        assertThat(g.read(ipa + 0x18).physicalAddress()).isEqualTo(TestMachine.RAM + 0x18);
        TranslationOutcome w = g.write(ipa);
        assertThat(w.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(w.fault().record().fields()).containsEntry("S2", 1L).containsEntry("CLASS", 2L).containsEntry("RnW", 0L)
                .containsEntry("IPA", ipa);
    }

    @Test
    void stage2SteIsExact() {
        m.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        long[] ste = ste(TestMachine.DEV.value());
        assertThat(ste[0]).isEqualTo(1 | 0b110 << 1);
        assertThat(ste[1]).isZero();
        // VMID 1, S2T0SZ 16, S2SL0 2 (start L0, 4K), IR0/OR0 WB, SH0 ISH, TG 4K, PS 48-bit, AA64, PTW, R
        assertThat(ste[2]).isEqualTo(1L | 16L << 32 | 2L << 38 | 1L << 40 | 1L << 42 | 3L << 44 | 0L << 46 | 5L << 48 | 1L << 51
                | 1L << 54 | 1L << 58);
        assertThat(ste[3]).isNotZero().isEqualTo(ste[3] & 0x000F_FFFF_FFFF_F000L);
    }

    @Test
    void notPresentPageGivesFTranslationEventExactly() {
        m.unit.probeDevice(TestMachine.DEV, 0);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, s1());
        TranslationOutcome out = m.dma(TestMachine.DEV, Pasid.NONE, 0x5000_0123L, AccessType.READ);
        assertThat(out.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        long sid = TestMachine.DEV.value();
        assertThat(lastEvent()).containsExactly(sid << 32 | 0x10, 1L << 35 | 2L << 40, 0x5000_0123L, 0L);
        assertThat(m.faults).singleElement().satisfies(f -> {
            assertThat(f.reason()).isEqualTo(FaultReason.NOT_MAPPED);
            assertThat(f.address()).isEqualTo(0x5000_0123L);
            assertThat(f.access()).isEqualTo(AccessType.READ);
            assertThat(f.record().words()).containsExactly(sid << 32 | 0x10, 1L << 35 | 2L << 40, 0x5000_0123L, 0L);
        });
    }

    @Test
    void permissionFaultsForWriteToReadOnlyAndPrivilegedExecute() {
        m.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = s1();
        m.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        d.map(0x10000, TestMachine.RAM, 0x1000, 1, Permissions.READ);
        d.map(0x20000, TestMachine.RAM, 0x1000, 1, Permissions.READ_WRITE);
        assertThat(m.read(0x10000).isTranslated()).isTrue();
        TranslationOutcome w = m.write(0x10008);
        assertThat(w.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(lastEvent()[0] & 0xFF).isEqualTo(0x13);
        assertThat(lastEvent()[1]).isEqualTo(2L << 40); // RnW=0 (write), CLASS=IN
        TranslationOutcome x = new TranslationOutcome();
        m.unit.dmaPort().translate(new DmaRequest(TestMachine.DEV.value(), Pasid.NONE, 0x20000, 4, AccessType.READ, true, true), x);
        assertThat(x.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(lastEvent()[1]).isEqualTo(1L << 33 | 1L << 34 | 1L << 35 | 2L << 40);
    }

    @Test
    void identityIsBypassAndRefusedAtPasid() {
        m.unit.probeDevice(TestMachine.DEV, 8);
        BackendDomain id = m.unit.allocateDomain(DomainType.IDENTITY, DomainOptions.DEFAULT);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, id);
        assertThat(ste(TestMachine.DEV.value())).containsExactly(1 | 0b100 << 1, 0, 0, 0, 0, 0, 0, 0);
        assertThat(m.read(0x1234_5678L).physicalAddress()).isEqualTo(0x1234_5678L);
        assertThatThrownBy(() -> m.unit.attach(TestMachine.DEV, 3, id)).isInstanceOf(NotSupportedException.class);
    }

    @Test
    void pasidAttachUsesCdTableAndS1dss() {
        m.unit.probeDevice(TestMachine.DEV, 8);
        BackendDomain a = s1();
        m.unit.attach(TestMachine.DEV, 5, a);
        a.map(0x1000, TestMachine.RAM + 0x7000, 0x1000, 1, Permissions.READ_WRITE);
        long[] ste = ste(TestMachine.DEV.value());
        assertThat(StreamTableEntry.S1_CD_MAX.get(ste)).isEqualTo(8);
        assertThat(StreamTableEntry.S1FMT.get(ste)).isZero();
        assertThat(StreamTableEntry.S1DSS.get(ste)).isEqualTo(StreamTableEntry.S1DSS_TERMINATE);
        long table = StreamTableEntry.contextPointer(ste[0]);
        assertThat(ContextDescriptor.V.get(cd(table, 0))).isZero();
        assertThat(ContextDescriptor.ASID.get(cd(table, 5))).isEqualTo(1);
        assertThat(m.dma(TestMachine.DEV, 5, 0x1010, AccessType.WRITE).physicalAddress()).isEqualTo(TestMachine.RAM + 0x7010);
        // RID blocked + PASIDs: terminate
        Fault f = m.read(0x1010).fault();
        assertThat(f.record().name()).isEqualTo("F_STREAM_DISABLED");
        assertThat(f.reason()).isEqualTo(FaultReason.BLOCKED);
        // a PASID with nothing attached: CD V=0
        Fault empty = m.dma(TestMachine.DEV, 6, 0x1010, AccessType.READ).fault();
        assertThat(empty.record().name()).isEqualTo("C_BAD_CD");
        assertThat(empty.reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(m.faults).extracting(Fault::reason).containsExactly(FaultReason.BLOCKED, FaultReason.BLOCKED);
        // RID identity + PASIDs: bypass
        m.unit.attach(TestMachine.DEV, Pasid.NONE, m.unit.allocateDomain(DomainType.IDENTITY, DomainOptions.DEFAULT));
        assertThat(StreamTableEntry.S1DSS.get(ste(TestMachine.DEV.value()))).isEqualTo(StreamTableEntry.S1DSS_BYPASS);
        assertThat(m.read(0x1010).physicalAddress()).isEqualTo(0x1010);
        // RID paging: SSID0
        BackendDomain r = s1();
        r.map(0x1000, TestMachine.RAM + 0x9000, 0x1000, 1, Permissions.READ);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, r);
        assertThat(StreamTableEntry.S1DSS.get(ste(TestMachine.DEV.value()))).isEqualTo(StreamTableEntry.S1DSS_SSID0);
        assertThat(m.read(0x1010).physicalAddress()).isEqualTo(TestMachine.RAM + 0x9010);
        assertThat(m.dma(TestMachine.DEV, 5, 0x1010, AccessType.READ).physicalAddress()).isEqualTo(TestMachine.RAM + 0x7010);
        // detach the PASID
        m.unit.attach(TestMachine.DEV, 5, m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        assertThat(m.dma(TestMachine.DEV, 5, 0x1010, AccessType.READ).fault().reason()).isEqualTo(FaultReason.BLOCKED);
    }

    @Test
    void wideDevicePasidsUseTwoLevelCdTable() {
        m.unit.probeDevice(TestMachine.DEV, 20);
        BackendDomain a = s1();
        m.unit.attach(TestMachine.DEV, 0x12345, a);
        a.map(0x4000, TestMachine.RAM, 0x1000, 1, Permissions.READ);
        long[] ste = ste(TestMachine.DEV.value());
        assertThat(StreamTableEntry.S1FMT.get(ste)).isEqualTo(2);
        assertThat(StreamTableEntry.S1_CD_MAX.get(ste)).isEqualTo(20);
        long l1 = m.memory.read64(StreamTableEntry.contextPointer(ste[0]) + 8L * (0x12345 >>> 10));
        assertThat(L1ContextDescriptor.V.get(l1)).isEqualTo(1);
        long cd0 = m.memory.read64(L1ContextDescriptor.l2Pointer(l1) + 64L * (0x12345 & 0x3FF));
        assertThat(ContextDescriptor.V.get(cd0)).isEqualTo(1);
        assertThat(m.dma(TestMachine.DEV, 0x12345, 0x4004, AccessType.READ).physicalAddress()).isEqualTo(TestMachine.RAM + 4);
        assertThat(m.dma(TestMachine.DEV, 0x22345, 0x4004, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_SUBSTREAMID");
        long before = m.allocator.allocatedPages();
        m.unit.attach(TestMachine.DEV, 0x12345, m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        assertThat(m.allocator.allocatedPages()).as("CD leaf and table freed").isLessThan(before);
    }

    @Test
    void stage2AndPasidsExcludeEachOther() {
        m.unit.probeDevice(TestMachine.DEV, 8);
        BackendDomain s2 = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, s2);
        assertThatThrownBy(() -> m.unit.attach(TestMachine.DEV, 1, s1())).isInstanceOf(NotSupportedException.class)
                .hasMessageContaining("stage 2");
        m.unit.attach(TestMachine.DEV, Pasid.NONE, m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        m.unit.attach(TestMachine.DEV, 1, s1());
        assertThatThrownBy(() -> m.unit.attach(TestMachine.DEV, Pasid.NONE, s2)).isInstanceOf(NotSupportedException.class)
                .hasMessageContaining("PASIDs");
        assertThatThrownBy(() -> m.unit.attach(TestMachine.DEV, 2, s2)).isInstanceOf(NotSupportedException.class);
    }

    @Test
    void staleTranslationUntilUnmapInvalidates() {
        m.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = s1();
        m.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        d.map(0x3000, TestMachine.RAM + 0x1000, 0x1000, 1, Permissions.READ_WRITE);
        assertThat(m.read(0x3000).physicalAddress()).isEqualTo(TestMachine.RAM + 0x1000);
        // rewrite the leaf in memory behind the driver's back: the IOTLB keeps the old translation
        long root = ContextDescriptor.ttb(cd(StreamTableEntry.contextPointer(ste(TestMachine.DEV.value())[0]), 0)[1]);
        long slot = leafSlot(root, 0x3000);
        m.memory.write64(slot, (m.memory.read64(slot) & ~0x0000_FFFF_FFFF_F000L) | (TestMachine.RAM + 0x2000));
        assertThat(m.read(0x3000).physicalAddress()).as("stale").isEqualTo(TestMachine.RAM + 0x1000);
        d.unmap(0x3000, 0x1000);
        assertThat(m.read(0x3000).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
    }

    private long leafSlot(long root, long iova) {
        long table = root;
        for (int level = 0; level < 3; level++) {
            long d = m.memory.read64(table + 8 * ((iova >>> (39 - 9 * level)) & 0x1FF));
            table = d & 0x0000_FFFF_FFFF_F000L;
        }
        return table + 8 * ((iova >>> 12) & 0x1FF);
    }

    @Test
    void handWrittenBadStructuresGiveArchitecturalFaults() {
        RequesterId a = RequesterId.parse("00:04.0");
        RequesterId b = RequesterId.parse("00:05.0");
        RequesterId c = RequesterId.parse("00:06.0");
        for (RequesterId r : List.of(a, b, c)) {
            m.unit.probeDevice(r, 0);
        }
        // V=0 STE
        m.memory.write64(steAddress(a.value()), 0);
        Fault fa = m.dma(a, Pasid.NONE, 0, AccessType.READ).fault();
        assertThat(fa.record().name()).isEqualTo("C_BAD_STE");
        assertThat(fa.reason()).isEqualTo(FaultReason.BAD_CONFIGURATION);
        // stage 2 STE with S2T0SZ=8 (illegal)
        m.memory.write64(steAddress(b.value()), 1 | 0b110 << 1);
        m.memory.write64(steAddress(b.value()) + 16, 8L << 32 | 1L << 51);
        assertThat(m.dma(b, Pasid.NONE, 0, AccessType.READ).fault().record().name()).isEqualTo("C_BAD_STE");
        // stage 1 STE pointing at a CD outside RAM
        m.memory.write64(steAddress(c.value()), 1 | 0b101 << 1 | 0x1000_0000L);
        Fault fc = m.dma(c, Pasid.NONE, 0, AccessType.READ).fault();
        assertThat(fc.record().name()).isEqualTo("F_CD_FETCH");
        assertThat(fc.reason()).isEqualTo(FaultReason.EXTERNAL_ABORT);
        assertThat(fc.record().fields()).containsEntry("FetchAddr", 0x1000_0000L);
        assertThat(m.faults).extracting(f -> f.record().name()).containsExactly("C_BAD_STE", "C_BAD_STE", "F_CD_FETCH");
    }

    @Test
    void garbageCdIsCBadCd() {
        m.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = s1();
        // build the CD table by attaching, then corrupt CD 0 before any DMA (nothing cached yet)
        m.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        long cd = StreamTableEntry.contextPointer(ste(TestMachine.DEV.value())[0]);
        m.memory.write64(cd, m.memory.read64(cd) | 3L << 6); // TG0 = 3, reserved
        Fault f = m.read(0).fault();
        assertThat(f.record().name()).isEqualTo("C_BAD_CD");
        assertThat(f.reason()).isEqualTo(FaultReason.BAD_CONFIGURATION);
    }

    @Test
    void walkOutsideRamIsFWalkEabtWithFetchAddr() {
        m.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = s1();
        m.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        d.map(0x200000, TestMachine.RAM, 0x1000, 1, Permissions.READ);
        long root = ContextDescriptor.ttb(cd(StreamTableEntry.contextPointer(ste(TestMachine.DEV.value())[0]), 0)[1]);
        long l0 = m.memory.read64(root);
        long l1Table = l0 & 0x0000_FFFF_FFFF_F000L;
        m.memory.write64(l1Table, 0x2000_0000L | 3); // L1 entry 0 -> table outside RAM
        Fault f = m.read(0x200000).fault();
        assertThat(f.record().name()).isEqualTo("F_WALK_EABT");
        assertThat(f.reason()).isEqualTo(FaultReason.EXTERNAL_ABORT);
        assertThat(f.record().fields()).containsEntry("CLASS", 1L).containsEntry("FetchAddr", 0x2000_0000L + 8)
                .containsEntry("InputAddr", 0x200000L);
    }

    @Test
    void optionsAreCheckedByName() {
        assertThatThrownBy(() -> new TestMachine(Map.of("colour", "red"))).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("colour");
        assertThatThrownBy(() -> new TestMachine(Map.of("granule", "8K"))).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("granule");
        assertThatThrownBy(() -> new TestMachine(Map.of("streamTable", "3level"))).isInstanceOf(InvalidArgumentException.class);
        assertThatThrownBy(() -> new TestMachine(Map.of("sidBits", "17"))).isInstanceOf(InvalidArgumentException.class);
    }

    @Test
    void closeFreesEveryTablePage() {
        long before = m.allocator.allocatedPages();
        assertThat(before).isPositive();
        m.unit.probeDevice(TestMachine.DEV, 20);
        BackendDomain a = s1();
        m.unit.attach(TestMachine.DEV, 77, a);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, s1());
        a.map(0x4000_0000L, TestMachine.RAM, 0x200000, 3, Permissions.READ);
        m.unit.close();
        assertThat(m.allocator.allocatedPages()).isZero();
        assertThat(m.reg("CR0")).isZero();
        assertThat(m.read(0).fault().record().name()).isEqualTo("GBPA_ABORT");
    }

    @Test
    void releaseDeviceFreesItsL2TableAndCds() {
        long before = m.allocator.allocatedPages();
        m.unit.probeDevice(TestMachine.DEV, 8);
        m.unit.attach(TestMachine.DEV, 1, s1());
        m.unit.attach(TestMachine.DEV, 1, m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        m.unit.releaseDevice(TestMachine.DEV);
        // the stage 1 domain's root table is still allocated
        assertThat(m.allocator.allocatedPages()).isEqualTo(before + 1);
        assertThat(m.read(0).fault().reason()).isEqualTo(FaultReason.UNKNOWN_REQUESTER);
    }

    @Test
    void linearStreamTable() {
        TestMachine g = new TestMachine(Map.of("streamTable", "linear", "sidBits", "10"));
        assertThat(g.reg("STRTAB_BASE_CFG")).isEqualTo(10);
        g.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = g.unit.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        g.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        d.map(0, TestMachine.RAM, 0x1000, 1, Permissions.READ);
        assertThat(g.read(0x10).physicalAddress()).isEqualTo(TestMachine.RAM + 0x10);
        long ste0 = g.memory.read64((g.reg("STRTAB_BASE") & 0x000F_FFFF_FFFF_FFC0L) + 64L * TestMachine.DEV.value());
        assertThat(StreamTableEntry.CONFIG.get(ste0)).isEqualTo(StreamTableEntry.CONFIG_S1);
        assertThat(g.dma(RequesterId.parse("04:00.0"), Pasid.NONE, 0, AccessType.READ).fault().record().name())
                .isEqualTo("C_BAD_STREAMID");
        assertThat(g.dma(RequesterId.parse("00:07.0"), Pasid.NONE, 0, AccessType.READ).fault().record().name())
                .isEqualTo("STE_ABORT");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource({"4K", "16K", "64K"})
    void upperHalfOfTheInputRangeUsesTheLastRootEntries(String granule) {
        TestMachine g = new TestMachine(Map.of("granule", granule));
        g.unit.probeDevice(TestMachine.DEV, 0);
        for (DomainOptions o : List.of(DomainOptions.DEFAULT, DomainOptions.NESTING_PARENT)) {
            BackendDomain d = g.unit.allocateDomain(DomainType.PAGING, o);
            g.unit.attach(TestMachine.DEV, Pasid.NONE, d);
            long page = Long.lowestOneBit(d.info().pageSizes());
            long top = (1L << 48) - page;
            d.map(top, TestMachine.RAM, page, 1, Permissions.READ);
            assertThat(g.read(top + 4).physicalAddress()).isEqualTo(TestMachine.RAM + 4);
            // beyond the input range: stage 1 translation fault (T0SZ range); stage 2 input beyond IAS is an address-size fault
            assertThat(g.read(1L << 48).fault().reason()).isEqualTo(o.nestingParent() ? FaultReason.ADDRESS_SIZE : FaultReason.NOT_MAPPED);
        }
    }

    @Test
    void domainInfoAndStreamIdRange() {
        BackendDomain s1 = s1();
        assertThat(s1.info().pageSizes()).isEqualTo(0x1000L | 0x20_0000L | 0x4000_0000L);
        assertThat(s1.info().apertureStart()).isZero();
        assertThat(s1.info().apertureEnd()).isEqualTo((1L << 48) - 1);
        assertThat(s1.info().outputBits()).isEqualTo(48);
        assertThat(s1.info().attachableAtPasid()).isTrue();
        assertThat(s1.info().translation()).startsWith("stage 1, 4K granule, 48-bit input");
        BackendDomain s2 = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
        assertThat(s2.info().translation()).startsWith("stage 2, 4K granule");
        assertThat(m.unit.allocateDomain(DomainType.IDENTITY, DomainOptions.DEFAULT).info().attachableAtPasid()).isFalse();
        TestMachine small = new TestMachine(Map.of("sidBits", "8"));
        assertThat(small.reg("IDR1") & 0x3F).isEqualTo(8);
        assertThatThrownBy(() -> small.unit.probeDevice(RequesterId.parse("01:00.0"), 0)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("rid");
    }
}
