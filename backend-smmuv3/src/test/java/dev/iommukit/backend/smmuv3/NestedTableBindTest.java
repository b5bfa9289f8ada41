package dev.iommukit.backend.smmuv3;

import static dev.iommukit.backend.smmuv3.NestedGuest.LEAF;
import static dev.iommukit.backend.smmuv3.NestedGuest.pa;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.backend.smmuv3.arch.L1StreamTableDescriptor;
import dev.iommukit.backend.smmuv3.arch.StreamTableEntry;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.NestedDomain;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.SmmuContextTableConfig.DefaultSubstream;
import dev.iommukit.spi.nested.SmmuContextTableConfig.Format;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Guest PASID-table bind (nested STE, Config=111) seen from outside: the STE words in memory, DMA
 * through the guest's CD table and stage 1 tables (written by hand at IPAs) and the host's stage 2,
 * the exact event records of stage 2 faults, and the guest's invalidations.
 */
class NestedTableBindTest {
    private static final int SID = TestMachine.DEV.value();
    private static final long CD_TABLE = 0x1_0000;
    private static final long VA = 0x4000_1000L;
    private static final long IPA = 0x40_0000L;
    private static final long IPA2 = 0x50_0000L;

    private final TestMachine m = new TestMachine();
    private final NestedGuest g;
    private final long root;

    NestedTableBindTest() {
        m.unit.probeDevice(TestMachine.DEV, 20);
        g = new NestedGuest(m);
        root = g.page();
        g.map(root, VA, IPA, LEAF);
    }

    private long[] ste() {
        long base = m.reg("STRTAB_BASE") & StreamTableEntry.S1_CONTEXT_PTR.mask();
        long l2 = L1StreamTableDescriptor.l2Pointer(m.memory.read64(base + 8L * (SID >>> 8)));
        long[] w = new long[8];
        for (int i = 0; i < 8; i++) {
            w[i] = m.memory.read64(l2 + 64L * (SID & 0xFF) + 8L * i);
        }
        return w;
    }

    private TranslationOutcome dma(int pasid, long address, AccessType access) {
        return m.dma(TestMachine.DEV, pasid, address, access);
    }

    private NestedDomain bind(Format format, int cdMaxBits, DefaultSubstream dss) {
        NestedDomain n = g.nest(new SmmuContextTableConfig(CD_TABLE, format, cdMaxBits, dss));
        m.unit.attach(TestMachine.DEV, Pasid.NONE, n);
        return n;
    }

    private static Fault fault(TranslationOutcome out) {
        assertThat(out.isTranslated()).as("faulted").isFalse();
        return out.fault();
    }

    @Test
    void nestedSteTakesOnlyTheFourGuestFieldsFromTheGuest() {
        m.unit.attach(TestMachine.DEV, Pasid.NONE, g.s2);
        long[] s2Ste = ste();
        NestedDomain n = g.nest(new SmmuContextTableConfig(0x7_0000, Format.TWO_LEVEL_64K, 12, DefaultSubstream.BYPASS));
        m.unit.attach(TestMachine.DEV, Pasid.NONE, n);
        long[] ste = ste();
        // d0: V, Config=0b111, S1Fmt=2, S1ContextPtr[51:6], S1CDMax=12 at [63:59]
        assertThat(ste[0]).isEqualTo(1L | 0b111L << 1 | 2L << 4 | 0x7_0000L | 12L << 59);
        // d1: S1DSS=1 (guest); host: S1CIR=S1COR=1 (WB RA), S1CSH=3 (ISH), MEV=1 [19]; EATS, STRW, S1STALLD 0
        assertThat(ste[1]).isEqualTo(1L | 1L << 2 | 1L << 4 | 3L << 6 | 1L << 19);
        // d2/d3: the parent's stage 2 exactly (VMID, VTCR, S2AA64, S2PTW, S2R; S2TTB)
        assertThat(ste[2]).isEqualTo(s2Ste[2]).isEqualTo(1L | 16L << 32 | 2L << 38 | 1L << 40 | 1L << 42 | 3L << 44 | 5L << 48
                | 1L << 51 | 1L << 54 | 1L << 58);
        assertThat(ste[3]).isEqualTo(s2Ste[3]).isNotZero();
        assertThat(List.of(ste[4], ste[5], ste[6], ste[7])).containsOnly(0L);
        assertThat(n.info().type()).isEqualTo(DomainType.NESTED);
        // back to the stage 2 domain, then blocked
        m.unit.attach(TestMachine.DEV, Pasid.NONE, g.s2);
        assertThat(ste()).containsExactly(s2Ste);
        assertThat(dma(Pasid.NONE, IPA + 8, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA) + 8);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        assertThat(ste()).containsExactly(1L, 0L, 0L, 0L, 0L, 0L, 0L, 0L);
        assertThat(dma(Pasid.NONE, IPA, AccessType.READ).isTranslated()).isFalse();
    }

    @Test
    void substreamDmaGoesVaToIpaToPa() {
        long root1 = g.page();
        g.map(root1, VA, IPA2, LEAF);
        g.writeCd(CD_TABLE, NestedGuest.cd(5, root));
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(6, root1));
        bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        assertThat(dma(Pasid.NONE, VA + 0x18, AccessType.WRITE).physicalAddress()).isEqualTo(pa(IPA) + 0x18);
        assertThat(dma(1, VA + 0x20, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA2) + 0x20);
        // SSID 0 is CD 0's when S1DSS=0b10: F_STREAM_DISABLED
        assertThat(fault(dma(0, VA, AccessType.READ)).record().name()).isEqualTo("F_STREAM_DISABLED");
        // SSID beyond 2^S1CDMax, or a V=0 CD
        assertThat(fault(dma(16, VA, AccessType.READ)).record().name()).isEqualTo("C_BAD_SUBSTREAMID");
        Fault empty = fault(dma(3, VA, AccessType.READ));
        assertThat(empty.record().name()).isEqualTo("C_BAD_CD");
        assertThat(empty.reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(m.faults.get(m.faults.size() - 1).reason()).as("reported as an empty guest substream").isEqualTo(FaultReason.BLOCKED);
        long[] illegal = NestedGuest.cd(7, root);
        illegal[0] = dev.iommukit.backend.smmuv3.arch.ContextDescriptor.T0SZ.set(illegal[0], 50);
        g.writeCd(CD_TABLE + 64 * 4, illegal);
        Fault bad = fault(dma(4, VA, AccessType.READ));
        assertThat(bad.record().name()).isEqualTo("C_BAD_CD");
        assertThat(bad.reason()).isEqualTo(FaultReason.BAD_CONFIGURATION);
        assertThat(m.faults.get(m.faults.size() - 1).reason()).as("the driver reads the guest CD through stage 2")
                .isEqualTo(FaultReason.BAD_CONFIGURATION);
        // S1DSS terminate / bypass for requests without substream
        bind(Format.LINEAR, 4, DefaultSubstream.TERMINATE);
        assertThat(fault(dma(Pasid.NONE, VA, AccessType.READ)).record().name()).isEqualTo("F_STREAM_DISABLED");
        assertThat(dma(0, VA, AccessType.READ).physicalAddress()).as("SSID 0 uses CD 0").isEqualTo(pa(IPA));
        bind(Format.LINEAR, 4, DefaultSubstream.BYPASS);
        assertThat(dma(Pasid.NONE, IPA2 + 4, AccessType.READ).physicalAddress()).as("stage 1 bypassed, stage 2 applies")
                .isEqualTo(pa(IPA2) + 4);
        Fault outside = fault(dma(Pasid.NONE, NestedGuest.GUEST_RAM + 0x1000, AccessType.READ));
        assertThat(outside.stage()).isEqualTo(FaultStage.STAGE_2);
        assertThat(outside.record().fields()).containsEntry("S2", 1L).containsEntry("CLASS", 2L);
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA2));
    }

    @Test
    void twoLevelCdTablesAreFetchedThroughStage2() {
        long leaf4k = g.page();
        g.write(CD_TABLE + 8 * 1, leaf4k | 1); // L1CD for SSIDs 64..127 (S1Fmt=1: 64 CDs per 4 KiB leaf)
        g.writeCd(leaf4k + 64 * 3, NestedGuest.cd(9, root));
        NestedDomain n = bind(Format.TWO_LEVEL_4K, 8, DefaultSubstream.TERMINATE);
        assertThat(dma(67, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA));
        assertThat(fault(dma(130, VA, AccessType.READ)).record().name()).as("L1CD V=0").isEqualTo("C_BAD_SUBSTREAMID");
        // an L1CD whose L2Ptr is outside the guest's stage 2: stage 2 fault on the CD fetch, IPA = the CD's address
        g.write(CD_TABLE + 8 * 2, 0x0300_0000L | 1);
        n.invalidate(List.of(CacheInvalidation.pasid(129, CacheInvalidation.Cache.PASID))); // CFGI_CD Leaf=0: the L1CD too
        Fault cd = fault(dma(129, VA, AccessType.READ));
        assertThat(cd.record().words()).containsExactly(0x10L | 1L << 11 | 129L << 12 | (long) SID << 32,
                1L << 35 | 1L << 39, VA, 0x0300_0000L);
        assertThat(cd.stage()).isEqualTo(FaultStage.STAGE_2);
        // 64 KiB leaves (S1Fmt=2), the L1 table itself outside stage 2
        NestedDomain far = g.nest(new SmmuContextTableConfig(0x0200_0000L, Format.TWO_LEVEL_64K, 12, DefaultSubstream.TERMINATE));
        m.unit.attach(TestMachine.DEV, Pasid.NONE, far);
        Fault l1 = fault(dma(0x405, VA, AccessType.READ));
        assertThat(l1.record().fields()).containsEntry("S2", 1L).containsEntry("CLASS", 0L).containsEntry("IPA", 0x0200_0000L);
    }

    @Test
    void stage2FaultsCarryClassIpaAndS2() {
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(5, root));
        bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        // CLASS=TT: a stage 1 table descriptor (level 1) points at an IPA stage 2 does not map
        long l0 = g.read(root + 8 * ((VA >>> 39) & 511)) & ~0xFFFL;
        long l1Slot = l0 + 8 * ((VA >>> 30) & 511);
        long l1Desc = g.read(l1Slot);
        g.write(l1Slot, 0x0300_0000L | 3);
        Fault tt = fault(dma(1, VA, AccessType.WRITE));
        long l2SlotIpa = 0x0300_0000L + 8 * ((VA >>> 21) & 511);
        assertThat(tt.record().words()).containsExactly(0x10L | 1L << 11 | 1L << 12 | (long) SID << 32,
                1L << 39 | 1L << 40 | 1L << 44, VA, l2SlotIpa & ~0xFFFL);
        assertThat(tt.stage()).isEqualTo(FaultStage.STAGE_2);
        assertThat(tt.reason()).isEqualTo(FaultReason.NOT_MAPPED);
        g.write(l1Slot, l1Desc);
        // CLASS=IN: the stage 1 output IPA is outside stage 2
        long leaf = g.leafSlot(root, VA);
        g.write(leaf, 0x0400_0000L | LEAF);
        Fault in = fault(dma(1, VA + 0x40, AccessType.WRITE));
        assertThat(in.record().words()).containsExactly(0x10L | 1L << 11 | 1L << 12 | (long) SID << 32,
                1L << 39 | 2L << 40, VA + 0x40, 0x0400_0000L);
        assertThat(m.faults.get(m.faults.size() - 1)).as("reported once, as written").isEqualTo(in);
        // a stage 1 fault (S2=0, CLASS=IN) is a stage 1 fault
        Fault s1 = fault(dma(1, VA + 0x1000, AccessType.READ));
        assertThat(s1.record().words()).containsExactly(0x10L | 1L << 11 | 1L << 12 | (long) SID << 32,
                1L << 35 | 2L << 40, VA + 0x1000, 0L);
        assertThat(s1.stage()).isEqualTo(FaultStage.STAGE_1);
        // CLASS=CD: the CD table outside stage 2 ranks before F_CD_FETCH / C_BAD_CD
        NestedDomain far = g.nest(new SmmuContextTableConfig(0x0500_0000L, Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0));
        m.unit.attach(TestMachine.DEV, Pasid.NONE, far);
        Fault cd = fault(dma(2, VA, AccessType.READ));
        assertThat(cd.record().words()).containsExactly(0x10L | 1L << 11 | 2L << 12 | (long) SID << 32,
                1L << 35 | 1L << 39, VA, 0x0500_0000L);
    }

    @Test
    void guestCdChangesAreStaleUntilCfgiCd() {
        long root1 = g.page();
        g.map(root1, VA, IPA2, LEAF);
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(5, root));
        NestedDomain n = bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA));
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(6, root1));
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).as("cached CD").isEqualTo(pa(IPA));
        assertThat(n.invalidate(List.of(CacheInvalidation.pasid(2, CacheInvalidation.Cache.PASID))).isComplete()).isTrue();
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).as("another substream's CFGI_CD").isEqualTo(pa(IPA));
        n.invalidate(List.of(CacheInvalidation.pasid(1, CacheInvalidation.Cache.PASID)));
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA2));
        // CD_ALL
        g.writeCd(CD_TABLE + 64, new long[8]);
        assertThat(dma(1, VA, AccessType.READ).isTranslated()).isTrue();
        n.invalidate(List.of(CacheInvalidation.domain(CacheInvalidation.Cache.PASID)));
        assertThat(fault(dma(1, VA, AccessType.READ)).record().name()).isEqualTo("C_BAD_CD");
    }

    @Test
    void guestPteChangesAreStaleUntilTheGuestsTlbi() {
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(5, root));
        NestedDomain n = bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        long leaf = g.leafSlot(root, VA);
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA));
        g.write(leaf, IPA2 | LEAF);
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).as("stale").isEqualTo(pa(IPA));
        n.invalidate(List.of(CacheInvalidation.asidRange(7, VA, 4096, 1, true)));
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).as("another ASID's TLBI_NH_VA").isEqualTo(pa(IPA));
        n.invalidate(List.of(CacheInvalidation.asidRange(5, VA - 0x1000, 4096, 1, true)));
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).as("another page").isEqualTo(pa(IPA));
        n.invalidate(List.of(CacheInvalidation.asidRange(5, VA, 4096, 1, true)));
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA2));
        // TLBI_NH_VAA (range, any ASID), TLBI_NH_ASID, TLBI_NH_ALL
        g.write(leaf, IPA | LEAF);
        n.invalidate(List.of(CacheInvalidation.range(1, VA - 0x4000, 4096, 8, true)));
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA));
        g.write(leaf, IPA2 | LEAF);
        n.invalidate(List.of(CacheInvalidation.asid(5)));
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA2));
        g.write(leaf, IPA | LEAF);
        n.invalidate(List.of(CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB)));
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA));
    }

    @Test
    void stage2UnmapInvalidatesCombinedEntries() {
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(5, root));
        bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        assertThat(dma(1, VA, AccessType.WRITE).physicalAddress()).isEqualTo(pa(IPA));
        g.s2.unmap(IPA, 0x1000); // cuts the 2 MiB block: the combined VA -> PA entry must go too
        Fault f = fault(dma(1, VA, AccessType.WRITE));
        assertThat(f.record().fields()).containsEntry("S2", 1L).containsEntry("CLASS", 2L).containsEntry("IPA", IPA);
        assertThat(f.stage()).isEqualTo(FaultStage.STAGE_2);
        assertThat(dma(1, VA + 0x1000, AccessType.WRITE).isTranslated()).as("no guest mapping").isFalse();
    }

    @Test
    void aBatchStopsAtTheFirstInvalidationSmmuCannotExpress() {
        long root1 = g.page();
        g.map(root1, VA, IPA2, LEAF);
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(5, root));
        g.writeCd(CD_TABLE + 128, NestedGuest.cd(8, root));
        NestedDomain n = bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA));
        assertThat(dma(2, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA));
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(6, root1));
        g.write(g.leafSlot(root, VA), IPA2 | LEAF);
        InvalidationBatchResult r = n.invalidate(List.of(
                CacheInvalidation.pasid(1, CacheInvalidation.Cache.PASID),
                CacheInvalidation.asid(5),
                CacheInvalidation.pasid(2, CacheInvalidation.Cache.IOTLB),
                CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB)));
        assertThat(r.completed()).isEqualTo(2);
        assertThat(r.requested()).isEqualTo(4);
        assertThat(r.refusal()).get().isInstanceOf(InvalidArgumentException.class)
                .extracting(e -> ((InvalidArgumentException) e).argument()).isEqualTo("archId");
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).as("the completed CFGI_CD is visible").isEqualTo(pa(IPA2));
        assertThat(dma(2, VA, AccessType.READ).physicalAddress()).as("TLBI_NH_ALL after the refusal did not run")
                .isEqualTo(pa(IPA));
        // a PASID-cache invalidation by ASID alone has no CMD_CFGI_CD form either
        InvalidationBatchResult byAsid = n.invalidate(List.of(new CacheInvalidation(java.util.Set.of(CacheInvalidation.Cache.PASID),
                CacheInvalidation.Granularity.PASID, Pasid.NONE, 6, 0, 0, 0, false)));
        assertThat(byAsid.completed()).isZero();
        assertThat(byAsid.refusal()).get().extracting(e -> ((InvalidArgumentException) e).argument()).isEqualTo("pasid");
        assertThat(n.invalidate(List.of(CacheInvalidation.asid(8), CacheInvalidation.domain(CacheInvalidation.Cache.DEVICE_IOTLB)))
                .isComplete()).isTrue();
        assertThat(dma(2, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA2));
    }

    /** The last {@code n} commands in the queue (the last one a CMD_SYNC), as {d0, d1} pairs. */
    private long[][] lastCommands(int n) {
        long base = m.reg("CMDQ_BASE") & 0x000F_FFFF_FFFF_FFE0L;
        int prod = (int) m.reg("CMDQ_PROD");
        long[][] cmds = new long[n][];
        for (int i = 0; i < n; i++) {
            long slot = base + 16L * ((prod - n + i) & 0xFF);
            cmds[i] = new long[] {m.memory.read64(slot), m.memory.read64(slot + 8)};
        }
        return cmds;
    }

    @Test
    void guestInvalidationsBecomeCommandsWithTheHostsStreamIdAndVmid() {
        NestedDomain n = bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        long vmid = 1L << 32;
        assertThat(n.invalidate(List.of(
                CacheInvalidation.pasid(3, CacheInvalidation.Cache.PASID),
                CacheInvalidation.asid(5),
                CacheInvalidation.asidRange(5, VA, 4096, 1, true),
                CacheInvalidation.range(3, VA, 4096, 1, false),
                CacheInvalidation.asidRange(5, VA, 4096, 40, true),
                CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB, CacheInvalidation.Cache.PASID))).isComplete()).isTrue();
        assertThat(lastCommands(8)).isDeepEqualTo(new long[][] {
                new long[] {0x05L | 3L << 12 | (long) SID << 32, 0},          // CMD_CFGI_CD SSID 3, Leaf=0
                new long[] {0x11L | vmid | 5L << 48, 0},                      // CMD_TLBI_NH_ASID
                new long[] {0x12L | vmid | 5L << 48, VA | 1},                 // CMD_TLBI_NH_VA, Leaf=1, TG=0
                new long[] {0x13L | vmid, VA},                                // CMD_TLBI_NH_VAA
                new long[] {0x12L | 19L << 12 | 1L << 20 | vmid | 5L << 48, VA | 1 | 1L << 10}, // (19+1)*2^1 4K granules
                new long[] {0x06L | (long) SID << 32, 0},                     // CMD_CFGI_CD_ALL
                new long[] {0x10L | vmid, 0},                                 // CMD_TLBI_NH_ALL
                // one CMD_SYNC (CS=SIG_IRQ, MSIData 0 written over its own slot, MSIAddr = the slot): completed
                new long[] {0, (m.reg("CMDQ_BASE") & 0x000F_FFFF_FFFF_FFE0L) + 16L * ((m.reg("CMDQ_PROD") - 1) & 0xFF)}});
        // ranges too large for a few range commands, and granules that are no translation granule
        n.invalidate(List.of(CacheInvalidation.asidRange(5, 0, 1L << 30, 1L << 17, true),
                CacheInvalidation.range(1, 0, 1L << 30, 1L << 17, false),
                CacheInvalidation.asidRange(5, VA & -0x2000L, 0x2000, 2, true)));
        assertThat(lastCommands(5)).isDeepEqualTo(new long[][] {
                {0x11L | vmid | 5L << 48, 0},
                {0x10L | vmid, 0},
                {0x12L | vmid | 5L << 48, (VA & -0x2000L) | 1},
                {0x12L | vmid | 5L << 48, (VA & -0x2000L) + 0x2000 | 1},
                lastCommands(1)[0]});
    }

    @Test
    void withAtsTheNestedSteHasEatsAndTheAtcIsInvalidated() {
        m.unit.enablePageRequests(TestMachine.DEV);
        NestedDomain n = bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        assertThat(StreamTableEntry.EATS.get(ste()[1])).isEqualTo(1);
        assertThat(n.invalidate(List.of(new CacheInvalidation(java.util.Set.of(CacheInvalidation.Cache.DEVICE_IOTLB),
                CacheInvalidation.Granularity.ADDRESS, 3, -1, VA, 4096, 2, false))).isComplete()).isTrue();
        // CMD_ATC_INV: SSV=1, SSID=3, SID; the aligned 16 KiB span (Size=2) holding [VA, VA + 8K)
        assertThat(lastCommands(2)[0]).containsExactly(0x40L | 1L << 11 | 3L << 12 | (long) SID << 32, 0x4000_0000L | 2);
        // a stage 2 unmap under the guest's table: the whole ATC of the StreamID, after the TLBIs
        g.s2.unmap(IPA, 0x1000);
        assertThat(lastCommands(2)[0]).containsExactly(0x40L | (long) SID << 32, 52L);
    }

    @Test
    void replacingStage2ByANestedBypassAndBackIsHitless() throws InterruptedException {
        NestedDomain bypass = g.nest(new SmmuContextTableConfig(CD_TABLE, Format.LINEAR, 4, DefaultSubstream.BYPASS));
        m.unit.attach(TestMachine.DEV, Pasid.NONE, g.s2);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicLong faults = new java.util.concurrent.atomic.AtomicLong();
        java.util.concurrent.atomic.AtomicLong requests = new java.util.concurrent.atomic.AtomicLong();
        Thread dmaThread = new Thread(() -> {
            TranslationOutcome out = new TranslationOutcome();
            while (!stop.get()) {
                m.unit.dmaPort().translate(dev.iommukit.spi.dma.DmaRequest.of(SID, Pasid.NONE, IPA + 8, 4, AccessType.READ), out);
                if (!out.isTranslated() || out.physicalAddress() != pa(IPA) + 8) {
                    faults.incrementAndGet();
                }
                requests.incrementAndGet();
            }
        });
        dmaThread.start();
        while (requests.get() == 0) {
            Thread.yield();
        }
        for (int i = 0; i < 60; i++) {
            m.unit.attach(TestMachine.DEV, Pasid.NONE, i % 2 == 0 ? bypass : g.s2);
            long seen = requests.get();
            while (requests.get() < seen + 2) {
                Thread.yield(); // let requests see every state
            }
        }
        stop.set(true);
        dmaThread.join();
        assertThat(requests.get()).isPositive();
        assertThat(faults.get()).as("no request saw an intermediate STE").isZero();
    }

    @Test
    void rangeInvalidationCoversEveryGranuleOfTheRange() {
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(5, root));
        for (int i = 0; i < 40; i++) {
            g.map(root, 0x1000_0000L + i * 0x1000L, IPA + i * 0x1000L, LEAF);
        }
        NestedDomain n = bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        for (int i = 0; i < 40; i++) {
            assertThat(dma(1, 0x1000_0000L + i * 0x1000L, AccessType.READ).isTranslated()).isTrue();
            g.write(g.leafSlot(root, 0x1000_0000L + i * 0x1000L), 0);
        }
        n.invalidate(List.of(CacheInvalidation.asidRange(5, 0x1000_0000L, 4096, 39, true)));
        for (int i = 0; i < 39; i++) {
            assertThat(dma(1, 0x1000_0000L + i * 0x1000L, AccessType.READ).isTranslated()).as("page %d", i).isFalse();
        }
        assertThat(dma(1, 0x1000_0000L + 39 * 0x1000L, AccessType.READ).isTranslated()).as("past the range").isTrue();
    }

    @Test
    void replacingTheGuestCdTableLeavesNoTranslationOfTheOldOne() {
        long otherTable = 0x2_0000;
        long root1 = g.page();
        g.map(root1, VA, IPA2, LEAF);
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(5, root));
        g.writeCd(otherTable + 64, NestedGuest.cd(5, root1)); // the same ASID in the new table
        bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA));
        NestedDomain other = g.nest(SmmuContextTableConfig.linear(otherTable, 4));
        m.unit.attach(TestMachine.DEV, Pasid.NONE, other);
        assertThat(ste()[0] & StreamTableEntry.S1_CONTEXT_PTR.mask()).isEqualTo(otherTable);
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).as("combined entries of VMID removed on the change")
                .isEqualTo(pa(IPA2));
        // out of nesting and back: the guest's entries do not survive either
        m.unit.attach(TestMachine.DEV, Pasid.NONE, g.s2);
        g.write(g.leafSlot(root1, VA), IPA | LEAF);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, other);
        assertThat(dma(1, VA, AccessType.READ).physicalAddress()).isEqualTo(pa(IPA));
    }

    @Test
    void refusalsAndChecks() {
        NestedDomain n = g.nest(SmmuContextTableConfig.linear(CD_TABLE, 4));
        assertThatThrownBy(() -> m.unit.attach(TestMachine.DEV, 3, n)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("domain");
        BackendDomain s1 = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        assertThatThrownBy(() -> m.unit.allocateNestedDomain(s1, SmmuContextTableConfig.linear(CD_TABLE, 4)))
                .isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("parent");
        TestMachine other = new TestMachine();
        BackendDomain foreign = other.unit.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
        assertThatThrownBy(() -> m.unit.allocateNestedDomain(foreign, SmmuContextTableConfig.linear(CD_TABLE, 4)))
                .isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("parent");
        assertThatThrownBy(() -> g.nest(new SmmuContextTableConfig(1L << 48, Format.LINEAR, 0, DefaultSubstream.TERMINATE)))
                .isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("contextTableAddress");
        m.unit.attach(TestMachine.DEV, 3, s1);
        assertThatThrownBy(() -> m.unit.attach(TestMachine.DEV, Pasid.NONE, n)).isInstanceOf(BusyException.class);
        m.unit.attach(TestMachine.DEV, 3, m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        m.unit.attach(TestMachine.DEV, Pasid.NONE, n);
        assertThatThrownBy(() -> m.unit.attach(TestMachine.DEV, 3, s1)).isInstanceOf(BusyException.class);
        assertThatThrownBy(() -> n.map(0, 0, 4096, 1, 1)).isInstanceOf(dev.iommukit.spi.error.NotSupportedException.class);
        other.unit.close();
    }

    @Test
    void freeAndCloseLeaveNoTablePage() {
        long before = m.allocator.allocatedPages();
        g.writeCd(CD_TABLE + 64, NestedGuest.cd(5, root));
        NestedDomain n = bind(Format.LINEAR, 4, DefaultSubstream.SUBSTREAM_0);
        assertThat(dma(1, VA, AccessType.READ).isTranslated()).isTrue();
        m.unit.attach(TestMachine.DEV, Pasid.NONE, g.s2);
        n.free();
        assertThat(m.allocator.allocatedPages()).isEqualTo(before);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        m.unit.releaseDevice(TestMachine.DEV);
        g.s2.free();
        m.unit.close();
        assertThat(m.allocator.allocatedPages()).isZero();
    }
}
