package dev.iommukit.backend.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.backend.smmuv3.arch.L1StreamTableDescriptor;
import dev.iommukit.backend.smmuv3.arch.StreamTableEntry;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.pgtable.PageTable;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SVA: a PASID translated through a process's own AArch64 tables (VMSAv8-64 stage 1, 4 KiB
 * granule, 48-bit VA), written here by the "CPU" with spi PageTable from its own memory region.
 */
class SvaTest {
    private static final int PASID = 7;
    private static final long VA_RW = 0x0000_7F12_3400_0000L;
    private static final long VA_RO = VA_RW + 0x1000;
    private static final long VA_BLOCK = 0x0000_7F12_3460_0000L;
    private static final long VA_ABSENT = VA_RW + 0x5000;
    private static final long PA_RW = TestMachine.RAM + 0x10_0000;
    private static final long PA_RO = TestMachine.RAM + 0x10_1000;
    private static final long PA_BLOCK = TestMachine.RAM + 0x20_0000;
    private static final long MAIR = 0xF404_FF44L;

    private final TestMachine m = new TestMachine();
    /** The process's page-table memory: a region apart from the SMMU's table pool. */
    private final PageAllocator cpuMemory = new PageAllocator(m.memory, TestMachine.RAM + 0x4000_0000L, 16L << 20);
    private final PageTable cpu = processTables(PA_RW);

    private PageTable processTables(long rwPage) {
        PageTable t = new PageTable(VmsaFormat.stage1(VmsaGranule.G4K, 48), cpuMemory, "process");
        t.map(VA_RW, rwPage, 0x1000, 1, Permissions.READ_WRITE);
        t.map(VA_RO, PA_RO, 0x1000, 1, Permissions.READ);
        t.map(VA_BLOCK, PA_BLOCK, 0x20_0000, 1, Permissions.READ_WRITE);
        return t;
    }

    private static CpuAddressSpace space(PageTable t) {
        return new CpuAddressSpace(t.root(), "aarch64", 48);
    }

    private SvaDomain attached() {
        m.unit.probeDevice(TestMachine.DEV, 8);
        SvaDomain sva = m.unit.allocateSvaDomain(space(cpu));
        m.unit.attach(TestMachine.DEV, PASID, sva);
        return sva;
    }

    private TranslationOutcome dma(long va, AccessType access) {
        return m.dma(TestMachine.DEV, PASID, va, access);
    }

    private TranslationOutcome dma(long va, AccessType access, boolean privileged) {
        TranslationOutcome out = new TranslationOutcome();
        m.unit.dmaPort().translate(new DmaRequest(TestMachine.DEV.value(), PASID, va, 4, access, false, privileged), out);
        return out;
    }

    private long[] ste(int sid) {
        long base = m.reg("STRTAB_BASE") & StreamTableEntry.S1_CONTEXT_PTR.mask();
        long a = L1StreamTableDescriptor.l2Pointer(m.memory.read64(base + 8L * (sid >>> 8))) + 64L * (sid & 0xFF);
        long[] w = new long[8];
        for (int i = 0; i < 8; i++) {
            w[i] = m.memory.read64(a + 8L * i);
        }
        return w;
    }

    private long[] cd(int ssid) {
        long table = StreamTableEntry.contextPointer(ste(TestMachine.DEV.value())[0]);
        long[] w = new long[8];
        for (int i = 0; i < 8; i++) {
            w[i] = m.memory.read64(table + 64L * ssid + 8L * i);
        }
        return w;
    }

    private long[] lastEvent() {
        long base = m.reg("EVENTQ_BASE") & 0x000F_FFFF_FFFF_FFE0L;
        int prod = (int) m.reg("EVENTQ_PROD") & 0x7F;
        long slot = base + 32L * ((prod - 1) & 0x7F);
        return new long[] {m.memory.read64(slot), m.memory.read64(slot + 8), m.memory.read64(slot + 16), m.memory.read64(slot + 24)};
    }

    /** Address of the descriptor slot for {@code va} at architectural level {@code level} (0..3) of the CPU tables. */
    private long slot(long va, int level) {
        long table = cpu.root();
        for (int l = 0; ; l++) {
            long slot = table + 8 * ((va >>> (39 - 9 * l)) & 0x1FF);
            if (l == level) {
                return slot;
            }
            table = m.memory.read64(slot) & 0x0000_FFFF_FFFF_F000L;
        }
    }

    /** The SVA CD dword 0 with the fields of spec §4.2 spelled out bit by bit. */
    private static long liveCd0(int asid) {
        return 16L                 // T0SZ = 64 - 48
                | 0L << 6          // TG0 = 4K
                | 1L << 8          // IR0 = WB-WA
                | 1L << 10         // OR0 = WB-WA
                | 3L << 12         // SH0 = inner shareable
                | 1L << 30         // EPD1
                | 1L << 31         // V
                | 5L << 32         // IPS = 48 bits
                | 1L << 41         // AA64
                | 1L << 45         // R
                | 1L << 46         // A
                | 1L << 47         // ASET = 1 (SMMU-private)
                | (long) asid << 48;
    }

    @Test
    void dmaAtThePasidReachesTheProcessPages() {
        SvaDomain sva = attached();
        assertThat(dma(VA_RW + 0x10, AccessType.WRITE).physicalAddress()).isEqualTo(PA_RW + 0x10);
        assertThat(dma(VA_RO + 0x20, AccessType.READ).physicalAddress()).isEqualTo(PA_RO + 0x20);
        assertThat(dma(VA_BLOCK + 0x12_3456, AccessType.WRITE).physicalAddress()).isEqualTo(PA_BLOCK + 0x12_3456);
        assertThat(sva.iovaToPhys(VA_BLOCK + 0x12_3456)).isEqualTo(PA_BLOCK + 0x12_3456);
        assertThat(sva.iovaToPhys(VA_RO + 0x20)).isEqualTo(PA_RO + 0x20);
        assertThat(sva.iovaToPhys(VA_ABSENT)).isEqualTo(-1);
        assertThat(sva.addressSpace()).isEqualTo(space(cpu));
        // the same device without PASID and at another PASID does not reach the process
        assertThat(m.read(VA_RW).fault().reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(m.dma(TestMachine.DEV, 8, VA_RW, AccessType.READ).fault().reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(sva.info().type()).isEqualTo(DomainType.SVA);
        assertThat(sva.info().pageSizes()).isZero();
        assertThat(sva.info().attachableAtPasid()).isTrue();
        assertThat(sva.info().translation()).isEqualTo("SVA: CPU AArch64 tables (TTB0), ASID 1");
    }

    @Test
    void theCdIsTheSvaCdExactly() {
        attached();
        long[] ste = ste(TestMachine.DEV.value());
        assertThat(StreamTableEntry.S1_CD_MAX.get(ste)).isEqualTo(8);
        assertThat(cd(PASID)).containsExactly(liveCd0(1), cpu.root(), 0, MAIR, 0, 0, 0, 0);
        assertThat(MAIR).isEqualTo(VmsaFormat.MAIR);
        assertThat(liveCd0(1)).isEqualTo(0x0001_E205_C000_3510L);
    }

    @Test
    void theWalkHonoursApAfAndTableAttributes() {
        SvaDomain sva = attached();
        // AP[2:1] = 11: EL0 read-only
        assertThat(dma(VA_RO, AccessType.READ).isTranslated()).isTrue();
        TranslationOutcome w = dma(VA_RO, AccessType.WRITE);
        assertThat(w.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(w.fault().record().name()).isEqualTo("F_PERMISSION");
        // AP[1] = 0 (EL1 only): an unprivileged request faults, a privileged one passes
        long leaf = slot(VA_RO, 3);
        m.memory.write64(leaf, m.memory.read64(leaf) & ~(1L << 6));
        sva.invalidate(VA_RO, 0x1000);
        assertThat(dma(VA_RO, AccessType.READ).fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(dma(VA_RO, AccessType.READ, true).physicalAddress()).isEqualTo(PA_RO);
        // AF = 0 with AFFD = 0 and no HTTU: F_ACCESS
        long rw = slot(VA_RW, 3);
        m.memory.write64(rw, m.memory.read64(rw) & ~(1L << 10));
        TranslationOutcome af = dma(VA_RW, AccessType.READ);
        assertThat(af.fault().reason()).isEqualTo(FaultReason.ACCESS_FLAG);
        assertThat(af.fault().record().name()).isEqualTo("F_ACCESS");
        m.memory.write64(rw, m.memory.read64(rw) | 1L << 10);
        assertThat(dma(VA_RW, AccessType.WRITE).physicalAddress()).isEqualTo(PA_RW);
        // APTable = 10 (no write below) on the level 2 table descriptor
        long l2 = slot(VA_RW, 2);
        m.memory.write64(l2, m.memory.read64(l2) | 2L << 61);
        sva.invalidate(VA_RW, 0x1000);
        assertThat(dma(VA_RW, AccessType.READ).isTranslated()).isTrue();
        assertThat(dma(VA_RW, AccessType.WRITE).fault().reason()).isEqualTo(FaultReason.PERMISSION);
        // APTable = 01 (no EL0 below)
        m.memory.write64(l2, (m.memory.read64(l2) & ~(3L << 61)) | 1L << 61);
        sva.invalidate(VA_RW, 0x1000);
        assertThat(dma(VA_RW, AccessType.READ).fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(dma(VA_RW, AccessType.WRITE, true).physicalAddress()).isEqualTo(PA_RW);
    }

    @Test
    void aPageTheProcessUnmapsStaysReachableUntilInvalidate() {
        SvaDomain sva = attached();
        assertThat(dma(VA_RW, AccessType.READ).physicalAddress()).isEqualTo(PA_RW);
        assertThat(dma(VA_RO, AccessType.READ).physicalAddress()).isEqualTo(PA_RO);
        cpu.unmap(VA_RW, 0x2000);
        // no invalidation yet: the IOTLB still holds both, as on silicon
        assertThat(dma(VA_RW + 8, AccessType.READ).physicalAddress()).isEqualTo(PA_RW + 8);
        assertThat(dma(VA_RO + 8, AccessType.READ).physicalAddress()).isEqualTo(PA_RO + 8);
        sva.invalidate(VA_RW, 0x1000);
        TranslationOutcome gone = dma(VA_RW + 8, AccessType.READ);
        assertThat(gone.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(gone.fault().record().name()).isEqualTo("F_TRANSLATION");
        assertThat(dma(VA_RO + 8, AccessType.READ).physicalAddress()).as("invalidated per page").isEqualTo(PA_RO + 8);
        sva.invalidate(VA_RO, 1);
        assertThat(dma(VA_RO + 8, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
    }

    @Test
    void aLargeInvalidationDropsTheWholeAsid() {
        SvaDomain sva = attached();
        assertThat(dma(VA_RW, AccessType.READ).isTranslated()).isTrue();
        assertThat(dma(VA_BLOCK, AccessType.READ).isTranslated()).isTrue();
        cpu.unmap(VA_RW, 0x1000);
        cpu.unmap(VA_BLOCK, 0x20_0000);
        assertThat(dma(VA_BLOCK, AccessType.READ).isTranslated()).isTrue();
        sva.invalidate(VA_RW, 1L << 30);
        assertThat(dma(VA_RW, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(dma(VA_BLOCK, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(dma(VA_RO, AccessType.READ).physicalAddress()).isEqualTo(PA_RO);
    }

    @Test
    void aNotPresentPageIsRecordedBeforeQuiesceAndEveryRequestFaultsSilentlyAfter() {
        SvaDomain sva = attached();
        assertThat(dma(VA_RW, AccessType.READ).physicalAddress()).isEqualTo(PA_RW);
        TranslationOutcome absent = dma(VA_ABSENT + 0x44, AccessType.READ);
        assertThat(absent.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        long sid = TestMachine.DEV.value();
        long[] expected = {sid << 32 | (long) PASID << 12 | 1L << 11 | 0x10, 1L << 35 | 2L << 40, VA_ABSENT + 0x44, 0};
        assertThat(lastEvent()).containsExactly(expected);
        assertThat(m.faults).singleElement().satisfies(f -> {
            assertThat(f.pasid()).isEqualTo(PASID);
            assertThat(f.record().words()).containsExactly(java.util.Arrays.stream(expected).boxed().toArray(Long[]::new));
        });

        sva.quiesce();
        // V=1, EPD0=1, R=0, A=1 ({A,R,S} = 100: abort, silent), TTB0 cleared; the PASID stays attached
        long quiet = (liveCd0(1) | 1L << 14) & ~(1L << 45);
        assertThat(cd(PASID)).containsExactly(quiet, 0, 0, MAIR, 0, 0, 0, 0);
        assertThat(sva.iovaToPhys(VA_RW)).isEqualTo(-1);
        long prod = m.reg("EVENTQ_PROD");
        for (long va : new long[] {VA_RW, VA_RO, VA_BLOCK, VA_ABSENT}) {
            for (AccessType access : AccessType.values()) {
                TranslationOutcome out = dma(va, access);
                assertThat(out.isTranslated()).as("0x%x %s after quiesce", va, access).isFalse();
                assertThat(out.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
                assertThat(out.fault().record().name()).isEqualTo("F_TRANSLATION");
            }
        }
        // the process's tables are freed and their pages overwritten: nothing walks them
        long root = cpu.root();
        cpu.free();
        for (int i = 0; i < 512; i++) {
            m.memory.write64(root + 8L * i, 0xFFFF_FFFF_FFFF_FFFFL);
        }
        assertThat(dma(VA_RW, AccessType.WRITE).fault().record().name()).isEqualTo("F_TRANSLATION");
        assertThat(m.reg("EVENTQ_PROD")).as("no event after quiesce").isEqualTo(prod);
        assertThat(m.faults).hasSize(1);
        // attached until the core detaches it
        m.unit.attach(TestMachine.DEV, PASID, m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        assertThat(dma(VA_RW, AccessType.READ).fault().reason()).isEqualTo(FaultReason.BLOCKED);
        sva.free();
    }

    @Test
    void aPasidAttachedAfterQuiesceGetsTheQuietCdAndQuiesceIsIdempotent() {
        SvaDomain sva = attached();
        sva.quiesce();
        sva.quiesce();
        m.unit.attach(TestMachine.DEV, 9, sva);
        long quiet = (liveCd0(1) | 1L << 14) & ~(1L << 45);
        assertThat(cd(9)).containsExactly(quiet, 0, 0, MAIR, 0, 0, 0, 0);
        assertThat(cd(PASID)).containsExactly(quiet, 0, 0, MAIR, 0, 0, 0, 0);
        long prod = m.reg("EVENTQ_PROD");
        assertThat(m.dma(TestMachine.DEV, 9, VA_RW, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(m.reg("EVENTQ_PROD")).isEqualTo(prod);
    }

    @Test
    void noRequestThatStartsAfterQuiesceReturnedReachesTheProcess() throws Exception {
        SvaDomain sva = attached();
        java.util.concurrent.atomic.AtomicBoolean quiesced = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicInteger violations = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger translatedBefore = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.CountDownLatch running = new java.util.concurrent.CountDownLatch(4);
        Thread[] threads = new Thread[4];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                TranslationOutcome out = new TranslationOutcome();
                DmaRequest req = DmaRequest.of(TestMachine.DEV.value(), PASID, VA_RW, 4, AccessType.READ);
                running.countDown();
                for (int i = 0; i < 20_000; i++) {
                    boolean after = quiesced.get();
                    m.unit.dmaPort().translate(req, out);
                    if (out.isTranslated()) {
                        if (after) {
                            violations.incrementAndGet();
                        } else {
                            translatedBefore.incrementAndGet();
                        }
                    }
                }
            });
            threads[t].start();
        }
        running.await();
        while (translatedBefore.get() == 0) {
            Thread.onSpinWait();
        }
        sva.quiesce();
        quiesced.set(true);
        for (Thread t : threads) {
            t.join();
        }
        assertThat(violations.get()).isZero();
        assertThat(dma(VA_RW, AccessType.READ).isTranslated()).isFalse();
    }

    @Test
    void attachWithoutPasidAndMapUnmapAreRefused() {
        SvaDomain sva = attached();
        assertThatThrownBy(() -> m.unit.attach(TestMachine.DEV, Pasid.NONE, sva)).isInstanceOf(NotSupportedException.class)
                .hasMessageContaining("PASID");
        assertThatThrownBy(() -> sva.map(0x1000, TestMachine.RAM, 0x1000, 1, Permissions.READ))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("invalidate");
        assertThatThrownBy(() -> sva.unmap(VA_RW, 0x1000)).isInstanceOf(InvalidArgumentException.class);
        assertThat(dma(VA_RW, AccessType.READ).physicalAddress()).as("nothing changed").isEqualTo(PA_RW);
    }

    @Test
    void onlyAarch64With48BitsIsAccepted() {
        assertThatThrownBy(() -> m.unit.allocateSvaDomain(new CpuAddressSpace(cpu.root(), "x86-64", 48)))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("space").hasMessageContaining("aarch64");
        assertThatThrownBy(() -> m.unit.allocateSvaDomain(new CpuAddressSpace(cpu.root(), "aarch64", 39)))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("space").hasMessageContaining("48");
        assertThatThrownBy(() -> m.unit.allocateSvaDomain(new CpuAddressSpace(cpu.root() + 8, "aarch64", 48)))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("pageTableRoot");
        // no ASID was consumed by the refusals
        assertThat(m.unit.allocateSvaDomain(space(cpu)).info().translation()).endsWith("ASID 1");
    }

    @Test
    void freeReleasesTheAsidAfterInvalidatingIt() {
        SvaDomain first = attached();
        assertThat(dma(VA_RW, AccessType.READ).physicalAddress()).isEqualTo(PA_RW);
        m.unit.attach(TestMachine.DEV, PASID, m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        first.free();
        // another process reuses ASID 1: a TLB entry left by the first one would send it to PA_RW
        long otherPage = TestMachine.RAM + 0x30_0000;
        PageTable other = processTables(otherPage);
        SvaDomain second = m.unit.allocateSvaDomain(space(other));
        assertThat(second.info().translation()).endsWith("ASID 1");
        m.unit.attach(TestMachine.DEV, PASID, second);
        assertThat(dma(VA_RW, AccessType.READ).physicalAddress()).isEqualTo(otherPage);
    }

    @Test
    void detachFreeAndCloseLeaveNoTablePage() {
        SvaDomain sva = attached();
        m.unit.probeDevice(TestMachine.DEV2, 20);
        m.unit.attach(TestMachine.DEV2, 300, sva);
        assertThat(m.dma(TestMachine.DEV2, 300, VA_RW, AccessType.READ).physicalAddress()).isEqualTo(PA_RW);
        long processPages = cpuMemory.allocatedPages();
        var blocked = m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT);
        m.unit.attach(TestMachine.DEV, PASID, blocked);
        m.unit.attach(TestMachine.DEV2, 300, blocked);
        sva.free();
        m.unit.close();
        assertThat(m.allocator.allocatedPages()).isZero();
        assertThat(cpuMemory.allocatedPages()).as("the process's tables are the process's").isEqualTo(processPages);
        cpu.free();
        assertThat(cpuMemory.allocatedPages()).isZero();
    }

    @Test
    void capabilitiesAdvertiseSvaForTheUnitAndForDevicesWithPasids() {
        assertThat(m.unit.capabilities().parameters(Capability.SVA))
                .hasValue(Map.of("cpuFormat", "aarch64", "addressBits", "48", "pasidBits", "20"));
        assertThat(m.unit.probeDevice(TestMachine.DEV, 8).capabilities().parameters(Capability.SVA))
                .hasValue(Map.of("cpuFormat", "aarch64", "addressBits", "48", "pasidBits", "8"));
        assertThat(m.unit.probeDevice(TestMachine.DEV2, 0).capabilities().has(Capability.SVA)).isFalse();
        assertThat(new SmmuV3Backend().capabilities().has(Capability.SVA)).isTrue();
    }
}
