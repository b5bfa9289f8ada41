package dev.iommukit.backend.smmuv3.arch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/** The fields ATS and PRI use, pinned against the spec tables (§1, §3.2, §5.2, §5.4, §6.4). */
class PriCodecTest {
    private static void pin(Field f, int dword, int hi, int lo) {
        assertThat(List.of(f.dword(), f.hi(), f.lo())).as(f.name()).containsExactly(dword, hi, lo);
    }

    @Test
    void priRegisterOffsets() { // spec §1.1
        assertThat(List.of(SmmuRegisters.PRIQ_BASE, SmmuRegisters.PRIQ_IRQ_CFG0, SmmuRegisters.PRIQ_IRQ_CFG1,
                SmmuRegisters.PRIQ_IRQ_CFG2, SmmuRegisters.PRIQ_PROD, SmmuRegisters.PRIQ_CONS))
                .containsExactly(0xC0, 0xD0, 0xD8, 0xDC, 0x100C8, 0x100CC);
        assertThat(QueueRegisters.PRI_BYTES).isEqualTo(16);
    }

    @Test
    void priControlFields() { // spec §1.2-§1.5, SMMU_CR2, SMMU_PRIQ_IRQ_CFG2
        pin(Idr0.ATS, 0, 10, 10);
        pin(Idr0.NS1ATS, 0, 11, 11);
        pin(Idr0.PRI, 0, 16, 16);
        pin(Idr0.ATSRECERR, 0, 23, 23);
        pin(Idr1.PRIQS, 0, 15, 11);
        pin(Idr3.PPS, 0, 5, 5);
        pin(ControlRegisters.CR0_PRIQEN, 0, 1, 1);
        pin(ControlRegisters.CR0_ATSCHK, 0, 4, 4);
        pin(ControlRegisters.CR2_REC_CFG_ATS, 0, 3, 3);
        pin(ControlRegisters.IRQ_PRIQ_IRQEN, 0, 1, 1);
        pin(ControlRegisters.GERROR_PRIQ_ABT_ERR, 0, 3, 3);
        pin(ControlRegisters.GERROR_MSI_PRIQ_ABT_ERR, 0, 6, 6);
        pin(ControlRegisters.PRIQ_IRQ_CFG2_LO, 0, 31, 31);
        pin(QueueRegisters.OVERFLOW, 0, 31, 31);
    }

    @Test
    void steAtsFields() { // spec §3.2: EATS abs 93:92, PPAR abs 82
        pin(StreamTableEntry.EATS, 1, 29, 28);
        pin(StreamTableEntry.PPAR, 1, 18, 18);
        assertThat(List.of(StreamTableEntry.EATS_FULL, StreamTableEntry.EATS_SPLIT)).containsExactly(1, 2);
    }

    @Test
    void priQueueRecordFields() { // spec §6.4
        pin(PriQueueRecord.SID, 0, 31, 0);
        pin(PriQueueRecord.SSID, 0, 51, 32);
        pin(PriQueueRecord.PRIV, 0, 58, 58);
        pin(PriQueueRecord.EXEC, 0, 59, 59);
        pin(PriQueueRecord.READ, 0, 60, 60);
        pin(PriQueueRecord.WRITE, 0, 61, 61);
        pin(PriQueueRecord.LAST, 0, 62, 62);
        pin(PriQueueRecord.SSV, 0, 63, 63);
        pin(PriQueueRecord.PRG_INDEX, 1, 8, 0);
        pin(PriQueueRecord.ADDR, 1, 63, 12);
        assertThat(PriQueueRecord.DWORDS).isEqualTo(2);
    }

    @Test
    void priQueueRecordEncoding() {
        assertThat(PriQueueRecord.dword0(0x0103, true, 0xABCDE, true, true, true, false, true))
                .isEqualTo(0x0103L | 0xABCDEL << 32 | 1L << 58 | 1L << 59 | 1L << 60 | 1L << 62 | 1L << 63);
        assertThat(PriQueueRecord.dword0(0x0103, false, 0xABCDE, true, true, false, true, false))
                .as("without PASID: SSID written as 0, Exec and Priv 0").isEqualTo(0x0103L | 1L << 61);
        assertThat(PriQueueRecord.dword1(0x1A5, 0xDEAD_BEEF_F123L)).isEqualTo(0xDEAD_BEEF_F000L | 0x1A5);
        PriQueueRecord r = PriQueueRecord.of(0x0103L | 5L << 32 | 1L << 60 | 1L << 62 | 1L << 63, 0x7000L | 3);
        assertThat(r.format()).isEqualTo("smmuv3-priq");
        assertThat(r.name()).isEqualTo("PAGE_REQUEST");
        assertThat(r.words()).containsExactly(0x0103L | 5L << 32 | 1L << 60 | 1L << 62 | 1L << 63, 0x7003L);
        assertThat(r.fields()).containsExactly(java.util.Map.entry("SID", 0x103L), java.util.Map.entry("SSID", 5L),
                java.util.Map.entry("Priv", 0L), java.util.Map.entry("Exec", 0L), java.util.Map.entry("Read", 1L),
                java.util.Map.entry("Write", 0L), java.util.Map.entry("Last", 1L), java.util.Map.entry("SSV", 1L),
                java.util.Map.entry("PRGIndex", 3L), java.util.Map.entry("Addr", 0x7000L));
        assertThatThrownBy(() -> new PriQueueRecord(List.of(1L))).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void stopMarkerIsLastWithoutReadOrWriteWithPasid() { // SMMU chapter 8: LWR = 0b100 with SSV=1
        assertThat(PriQueueRecord.isStopMarker(PriQueueRecord.dword0(1, true, 7, false, false, false, false, true))).isTrue();
        assertThat(PriQueueRecord.isStopMarker(PriQueueRecord.dword0(1, false, 0, false, false, false, false, true)))
                .as("without PASID it is a page request").isFalse();
        assertThat(PriQueueRecord.isStopMarker(PriQueueRecord.dword0(1, true, 7, false, false, true, false, true))).isFalse();
        assertThat(PriQueueRecord.of(PriQueueRecord.dword0(1, true, 7, false, false, false, false, true), 0).name())
                .isEqualTo("STOP_PASID");
    }

    @Test
    void atsCommandFields() { // spec §5.2, §5.4
        pin(AtsCommand.ATC_GLOBAL, 0, 9, 9);
        pin(AtsCommand.ATC_SIZE, 1, 5, 0);
        pin(AtsCommand.ATC_ADDR, 1, 63, 12);
        pin(AtsCommand.PRI_PRG_INDEX, 1, 8, 0);
        pin(AtsCommand.PRI_RESP, 1, 13, 12);
        assertThat(List.of(AtsCommand.RESP_FAILURE, AtsCommand.RESP_INVALID, AtsCommand.RESP_SUCCESS, AtsCommand.RESP_RESERVED))
                .containsExactly(0, 1, 2, 3);
        assertThat(List.of(AtsCommand.respName(0), AtsCommand.respName(1), AtsCommand.respName(2)))
                .containsExactly("ResponseFailure", "InvalidRequest", "Success");
        assertThat(AtsCommand.respName(3)).isNull();
        assertThat(AtsCommand.ATC_SIZE_ALL).isEqualTo(52);
    }

    @Test
    void priRespAndAtcInvWords() {
        assertThat(AtsCommand.priResp(0x0103, true, 0x12345, 0x1FF, AtsCommand.RESP_SUCCESS))
                .containsExactly(0x41L | 1L << 11 | 0x12345L << 12 | 0x0103L << 32, 0x1FFL | 2L << 12);
        assertThat(AtsCommand.priResp(0x0103, false, 0x12345, 7, AtsCommand.RESP_INVALID))
                .as("SSID only with SSV").containsExactly(0x41L | 0x0103L << 32, 7L | 1L << 12);
        assertThat(AtsCommand.atcInv(9, true, 4, 0x1234_5678L, 3))
                .containsExactly(0x40L | 1L << 11 | 4L << 12 | 9L << 32, 0x1234_5000L | 3);
        assertThat(AtsCommand.atcInvAll(9, false, 0)).containsExactly(0x40L | 9L << 32, 52L);
    }

    @Test
    void atcRangeSpans() {
        assertThat(AtsCommand.atcInvRange(1, false, 0, 0x5000, 0x1000)[1]).as("one page").isEqualTo(0x5000L);
        assertThat(AtsCommand.atcInvRange(1, false, 0, 0x5000, 0x2000)[1]).as("pages 5..6 -> 4..7").isEqualTo(0x4000L | 2);
        assertThat(AtsCommand.atcInvRange(1, false, 0, 0x20_0000, 0x20_0000)[1]).as("2 MiB aligned").isEqualTo(0x20_0000L | 9);
        assertThat(AtsCommand.atcInvRange(1, false, 0, 0x1000, 0)[1]).as("size 0: all").isEqualTo(52L);
        assertThat(AtsCommand.atcInvRange(1, false, 0, -4096L, 8192)[1]).as("wraps: all").isEqualTo(52L);
    }

    @Property
    void atcRangeCoversTheRangeWithAnAlignedSpan(@ForAll @LongRange(min = 0, max = (1L << 48) - 1) long iova,
                                                 @ForAll @IntRange(min = 1, max = 1 << 30) int size) {
        long d1 = AtsCommand.atcInvRange(3, false, 0, iova, size)[1];
        int span = (int) AtsCommand.ATC_SIZE.get(d1);
        long start = d1 & AtsCommand.ATC_ADDR.mask();
        long bytes = 1L << (12 + span);
        assertThat(start % bytes).isZero();
        assertThat(start).isLessThanOrEqualTo(iova);
        assertThat(start + bytes).isGreaterThanOrEqualTo(iova + size);
        if (span > 0) {
            long half = bytes / 2;
            assertThat((iova & -half) + half).as("the smallest such span").isLessThan(iova + size);
        }
    }

    @Property
    void priRecordRoundTrips(@ForAll @IntRange(min = 0, max = 0xFFFF) int sid, @ForAll @IntRange(min = 0, max = 0xFFFFF) int ssid,
                             @ForAll boolean ssv, @ForAll boolean priv, @ForAll boolean exec, @ForAll boolean read,
                             @ForAll boolean write, @ForAll boolean last, @ForAll @IntRange(min = 0, max = 0x1FF) int group,
                             @ForAll @LongRange(min = 0, max = (1L << 52) - 1) long page) {
        long d0 = PriQueueRecord.dword0(sid, ssv, ssid, priv, exec, read, write, last);
        long d1 = PriQueueRecord.dword1(group, page << 12);
        var f = PriQueueRecord.of(d0, d1).fields();
        assertThat(f.get("SID")).isEqualTo(sid);
        assertThat(f.get("SSV")).isEqualTo(ssv ? 1L : 0L);
        assertThat(f.get("SSID")).isEqualTo(ssv ? ssid : 0L);
        assertThat(f.get("Priv")).isEqualTo(ssv && priv ? 1L : 0L);
        assertThat(f.get("Exec")).isEqualTo(ssv && exec ? 1L : 0L);
        assertThat(f.get("Read")).isEqualTo(read ? 1L : 0L);
        assertThat(f.get("Write")).isEqualTo(write ? 1L : 0L);
        assertThat(f.get("Last")).isEqualTo(last ? 1L : 0L);
        assertThat(f.get("PRGIndex")).isEqualTo(group);
        assertThat(f.get("Addr")).isEqualTo(page << 12);
    }
}
