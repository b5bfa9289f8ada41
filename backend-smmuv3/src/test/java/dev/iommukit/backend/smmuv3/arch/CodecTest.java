package dev.iommukit.backend.smmuv3.arch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.fault.FaultReason;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Every field position checked against the spec tables (dword, hi, lo). */
class CodecTest {
    private static void pin(Field f, int dword, int hi, int lo) {
        assertThat(List.of(f.dword(), f.hi(), f.lo())).as(f.name()).containsExactly(dword, hi, lo);
    }

    @Test
    void registerOffsets() { // spec §1.1
        assertThat(List.of(SmmuRegisters.IDR0, SmmuRegisters.IDR1, SmmuRegisters.IDR3, SmmuRegisters.IDR5, SmmuRegisters.IIDR,
                SmmuRegisters.AIDR, SmmuRegisters.CR0, SmmuRegisters.CR0ACK, SmmuRegisters.CR1, SmmuRegisters.CR2,
                SmmuRegisters.STATUSR, SmmuRegisters.GBPA, SmmuRegisters.IRQ_CTRL, SmmuRegisters.IRQ_CTRLACK,
                SmmuRegisters.GERROR, SmmuRegisters.GERRORN, SmmuRegisters.GERROR_IRQ_CFG0, SmmuRegisters.STRTAB_BASE,
                SmmuRegisters.STRTAB_BASE_CFG, SmmuRegisters.CMDQ_BASE, SmmuRegisters.CMDQ_PROD, SmmuRegisters.CMDQ_CONS,
                SmmuRegisters.EVENTQ_BASE, SmmuRegisters.EVENTQ_IRQ_CFG0, SmmuRegisters.EVENTQ_PROD, SmmuRegisters.EVENTQ_CONS))
                .containsExactly(0x0, 0x4, 0xC, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28, 0x2C, 0x40, 0x44, 0x50, 0x54, 0x60, 0x64, 0x68,
                        0x80, 0x88, 0x90, 0x98, 0x9C, 0xA0, 0xB0, 0x100A8, 0x100AC);
    }

    @Test
    void idr0() { // spec §1.2
        pin(Idr0.S2P, 0, 0, 0);
        pin(Idr0.S1P, 0, 1, 1);
        pin(Idr0.TTF, 0, 3, 2);
        pin(Idr0.COHACC, 0, 4, 4);
        pin(Idr0.BTM, 0, 5, 5);
        pin(Idr0.HTTU, 0, 7, 6);
        pin(Idr0.DORMHINT, 0, 8, 8);
        pin(Idr0.HYP, 0, 9, 9);
        pin(Idr0.ATS, 0, 10, 10);
        pin(Idr0.NS1ATS, 0, 11, 11);
        pin(Idr0.ASID16, 0, 12, 12);
        pin(Idr0.MSI, 0, 13, 13);
        pin(Idr0.SEV, 0, 14, 14);
        pin(Idr0.ATOS, 0, 15, 15);
        pin(Idr0.PRI, 0, 16, 16);
        pin(Idr0.VMW, 0, 17, 17);
        pin(Idr0.VMID16, 0, 18, 18);
        pin(Idr0.CD2L, 0, 19, 19);
        pin(Idr0.VATOS, 0, 20, 20);
        pin(Idr0.TTENDIAN, 0, 22, 21);
        pin(Idr0.ATSRECERR, 0, 23, 23);
        pin(Idr0.STALL_MODEL, 0, 25, 24);
        pin(Idr0.TERM_MODEL, 0, 26, 26);
        pin(Idr0.ST_LEVEL, 0, 28, 27);
        pin(Idr0.RME_IMPL, 0, 30, 30);
    }

    @Test
    void idr1Idr3Idr5() { // spec §1.3, §1.4
        pin(Idr1.SIDSIZE, 0, 5, 0);
        pin(Idr1.SSIDSIZE, 0, 10, 6);
        pin(Idr1.PRIQS, 0, 15, 11);
        pin(Idr1.EVENTQS, 0, 20, 16);
        pin(Idr1.CMDQS, 0, 25, 21);
        pin(Idr1.ATTR_PERMS_OVR, 0, 26, 26);
        pin(Idr1.ATTR_TYPES_OVR, 0, 27, 27);
        pin(Idr1.REL, 0, 28, 28);
        pin(Idr1.QUEUES_PRESET, 0, 29, 29);
        pin(Idr1.TABLES_PRESET, 0, 30, 30);
        pin(Idr1.ECMDQ, 0, 31, 31);
        pin(Idr3.HAD, 0, 2, 2);
        pin(Idr3.XNX, 0, 4, 4);
        pin(Idr3.FWB, 0, 8, 8);
        pin(Idr3.STT, 0, 9, 9);
        pin(Idr3.RIL, 0, 10, 10);
        pin(Idr3.BBML, 0, 12, 11);
        pin(Idr3.DPT, 0, 15, 15);
        pin(Idr5.OAS, 0, 2, 0);
        pin(Idr5.GRAN4K, 0, 4, 4);
        pin(Idr5.GRAN16K, 0, 5, 5);
        pin(Idr5.GRAN64K, 0, 6, 6);
        pin(Idr5.DS, 0, 7, 7);
        pin(Idr5.D128, 0, 8, 8);
        pin(Idr5.VAX, 0, 11, 10);
        pin(Idr5.STALL_MAX, 0, 31, 16);
        assertThat(List.of(0, 1, 2, 3, 4, 5, 6, 7).stream().map(Idr5::addressBits)).containsExactly(32, 36, 40, 42, 44, 48, 52, 56);
    }

    @Test
    void controlRegisters() { // spec §1.5, §1.6, §1.1
        pin(ControlRegisters.CR0_SMMUEN, 0, 0, 0);
        pin(ControlRegisters.CR0_PRIQEN, 0, 1, 1);
        pin(ControlRegisters.CR0_EVENTQEN, 0, 2, 2);
        pin(ControlRegisters.CR0_CMDQEN, 0, 3, 3);
        pin(ControlRegisters.CR0_ATSCHK, 0, 4, 4);
        pin(ControlRegisters.CR0_VMW, 0, 8, 6);
        pin(ControlRegisters.CR1_QUEUE_IC, 0, 1, 0);
        pin(ControlRegisters.CR1_QUEUE_OC, 0, 3, 2);
        pin(ControlRegisters.CR1_QUEUE_SH, 0, 5, 4);
        pin(ControlRegisters.CR1_TABLE_IC, 0, 7, 6);
        pin(ControlRegisters.CR1_TABLE_OC, 0, 9, 8);
        pin(ControlRegisters.CR1_TABLE_SH, 0, 11, 10);
        pin(ControlRegisters.CR2_E2H, 0, 0, 0);
        pin(ControlRegisters.CR2_RECINVSID, 0, 1, 1);
        pin(ControlRegisters.CR2_PTM, 0, 2, 2);
        pin(ControlRegisters.GBPA_MEMATTR, 0, 3, 0);
        pin(ControlRegisters.GBPA_MTCFG, 0, 4, 4);
        pin(ControlRegisters.GBPA_ALLOCCFG, 0, 11, 8);
        pin(ControlRegisters.GBPA_SHCFG, 0, 13, 12);
        pin(ControlRegisters.GBPA_PRIVCFG, 0, 17, 16);
        pin(ControlRegisters.GBPA_INSTCFG, 0, 19, 18);
        pin(ControlRegisters.GBPA_ABORT, 0, 20, 20);
        pin(ControlRegisters.GBPA_UPDATE, 0, 31, 31);
        pin(ControlRegisters.IRQ_GERROR_IRQEN, 0, 0, 0);
        pin(ControlRegisters.IRQ_PRIQ_IRQEN, 0, 1, 1);
        pin(ControlRegisters.IRQ_EVENTQ_IRQEN, 0, 2, 2);
        pin(ControlRegisters.GERROR_CMDQ_ERR, 0, 0, 0);
        pin(ControlRegisters.GERROR_EVENTQ_ABT_ERR, 0, 2, 2);
        pin(ControlRegisters.GERROR_PRIQ_ABT_ERR, 0, 3, 3);
        pin(ControlRegisters.GERROR_MSI_CMDQ_ABT_ERR, 0, 4, 4);
        pin(ControlRegisters.GERROR_SFM_ERR, 0, 8, 8);
    }

    @Test
    void streamTableAndQueueRegisters() { // spec §1.7, §1.8
        pin(StreamTableRegisters.BASE_RA, 0, 62, 62);
        pin(StreamTableRegisters.BASE_ADDR, 0, 51, 6);
        pin(StreamTableRegisters.CFG_LOG2SIZE, 0, 5, 0);
        pin(StreamTableRegisters.CFG_SPLIT, 0, 10, 6);
        pin(StreamTableRegisters.CFG_FMT, 0, 17, 16);
        pin(QueueRegisters.BASE_RWA, 0, 62, 62);
        pin(QueueRegisters.BASE_ADDR, 0, 51, 5);
        pin(QueueRegisters.BASE_LOG2SIZE, 0, 4, 0);
        pin(QueueRegisters.CONS_ERR, 0, 30, 24);
        pin(QueueRegisters.OVERFLOW, 0, 31, 31);
        assertThat(List.of(QueueRegisters.CERROR_NONE, QueueRegisters.CERROR_ILL, QueueRegisters.CERROR_ABT,
                QueueRegisters.CERROR_ATC_INV_SYNC)).containsExactly(0, 1, 2, 3);
        // QS = 3: index [2:0], wrap [3]
        assertThat(QueueRegisters.index(0b1101, 3)).isEqualTo(5);
        assertThat(QueueRegisters.wrap(0b1101, 3)).isEqualTo(1);
        assertThat(QueueRegisters.increment(0b0111, 3)).isEqualTo(0b1000);
        assertThat(QueueRegisters.increment(0b1111, 3)).isZero();
        assertThat(QueueRegisters.full(0b1010, 0b0010, 3)).isTrue();
        assertThat(QueueRegisters.empty(0b1010, 0b1010 | 1 << 31, 3)).isTrue();
    }

    @Test
    void l1StdAndSte() { // spec §2, §3
        pin(L1StreamTableDescriptor.SPAN, 0, 4, 0);
        pin(L1StreamTableDescriptor.L2PTR, 0, 51, 6);
        assertThat(L1StreamTableDescriptor.encode(0x1234_5000L, 9)).isEqualTo(0x1234_5000L | 9);
        pin(StreamTableEntry.V, 0, 0, 0);
        pin(StreamTableEntry.CONFIG, 0, 3, 1);
        pin(StreamTableEntry.S1FMT, 0, 5, 4);
        pin(StreamTableEntry.S1_CONTEXT_PTR, 0, 51, 6);
        pin(StreamTableEntry.S1_CD_MAX, 0, 63, 59);
        pin(StreamTableEntry.S1DSS, 1, 1, 0);
        pin(StreamTableEntry.S1CIR, 1, 3, 2);
        pin(StreamTableEntry.S1COR, 1, 5, 4);
        pin(StreamTableEntry.S1CSH, 1, 7, 6);
        pin(StreamTableEntry.DRE, 1, 12, 12);
        pin(StreamTableEntry.CONT, 1, 16, 13);
        pin(StreamTableEntry.DCP, 1, 17, 17);
        pin(StreamTableEntry.PPAR, 1, 18, 18);
        pin(StreamTableEntry.MEV, 1, 19, 19);
        pin(StreamTableEntry.SW_RESERVED, 1, 23, 20);
        pin(StreamTableEntry.S2FWB, 1, 25, 25);
        pin(StreamTableEntry.S1STALLD, 1, 27, 27);
        pin(StreamTableEntry.EATS, 1, 29, 28);
        pin(StreamTableEntry.STRW, 1, 31, 30);
        pin(StreamTableEntry.MEMATTR, 1, 35, 32);
        pin(StreamTableEntry.MTCFG, 1, 36, 36);
        pin(StreamTableEntry.ALLOCCFG, 1, 40, 37);
        pin(StreamTableEntry.SHCFG, 1, 45, 44);
        pin(StreamTableEntry.NSCFG, 1, 47, 46);
        pin(StreamTableEntry.PRIVCFG, 1, 49, 48);
        pin(StreamTableEntry.INSTCFG, 1, 51, 50);
        pin(StreamTableEntry.S2VMID, 2, 15, 0);
        pin(StreamTableEntry.S2T0SZ, 2, 37, 32);
        pin(StreamTableEntry.S2SL0, 2, 39, 38);
        pin(StreamTableEntry.S2IR0, 2, 41, 40);
        pin(StreamTableEntry.S2OR0, 2, 43, 42);
        pin(StreamTableEntry.S2SH0, 2, 45, 44);
        pin(StreamTableEntry.S2TG, 2, 47, 46);
        pin(StreamTableEntry.S2PS, 2, 50, 48);
        pin(StreamTableEntry.S2AA64, 2, 51, 51);
        pin(StreamTableEntry.S2ENDI, 2, 52, 52);
        pin(StreamTableEntry.S2AFFD, 2, 53, 53);
        pin(StreamTableEntry.S2PTW, 2, 54, 54);
        pin(StreamTableEntry.S2HD, 2, 55, 55);
        pin(StreamTableEntry.S2HA, 2, 56, 56);
        pin(StreamTableEntry.S2S, 2, 57, 57);
        pin(StreamTableEntry.S2R, 2, 58, 58);
        pin(StreamTableEntry.S2TTB, 3, 51, 4);
        assertThat(List.of(StreamTableEntry.CONFIG_ABORT, StreamTableEntry.CONFIG_BYPASS, StreamTableEntry.CONFIG_S1,
                StreamTableEntry.CONFIG_S2, StreamTableEntry.CONFIG_NESTED)).containsExactly(0, 4, 5, 6, 7);
        assertThat(List.of(StreamTableEntry.S1DSS_TERMINATE, StreamTableEntry.S1DSS_BYPASS, StreamTableEntry.S1DSS_SSID0))
                .containsExactly(0, 1, 2);
    }

    @Test
    void cdAndL1cd() { // spec §4
        pin(L1ContextDescriptor.V, 0, 0, 0);
        pin(L1ContextDescriptor.L2PTR, 0, 51, 12);
        assertThat(L1ContextDescriptor.encode(0x4_0001_0000L)).isEqualTo(0x4_0001_0001L);
        pin(ContextDescriptor.T0SZ, 0, 5, 0);
        pin(ContextDescriptor.TG0, 0, 7, 6);
        pin(ContextDescriptor.IR0, 0, 9, 8);
        pin(ContextDescriptor.OR0, 0, 11, 10);
        pin(ContextDescriptor.SH0, 0, 13, 12);
        pin(ContextDescriptor.EPD0, 0, 14, 14);
        pin(ContextDescriptor.ENDI, 0, 15, 15);
        pin(ContextDescriptor.T1SZ, 0, 21, 16);
        pin(ContextDescriptor.TG1, 0, 23, 22);
        pin(ContextDescriptor.IR1, 0, 25, 24);
        pin(ContextDescriptor.OR1, 0, 27, 26);
        pin(ContextDescriptor.SH1, 0, 29, 28);
        pin(ContextDescriptor.EPD1, 0, 30, 30);
        pin(ContextDescriptor.V, 0, 31, 31);
        pin(ContextDescriptor.IPS, 0, 34, 32);
        pin(ContextDescriptor.AFFD, 0, 35, 35);
        pin(ContextDescriptor.WXN, 0, 36, 36);
        pin(ContextDescriptor.UWXN, 0, 37, 37);
        pin(ContextDescriptor.TBI0, 0, 38, 38);
        pin(ContextDescriptor.TBI1, 0, 39, 39);
        pin(ContextDescriptor.PAN, 0, 40, 40);
        pin(ContextDescriptor.AA64, 0, 41, 41);
        pin(ContextDescriptor.HD, 0, 42, 42);
        pin(ContextDescriptor.HA, 0, 43, 43);
        pin(ContextDescriptor.S, 0, 44, 44);
        pin(ContextDescriptor.R, 0, 45, 45);
        pin(ContextDescriptor.A, 0, 46, 46);
        pin(ContextDescriptor.ASET, 0, 47, 47);
        pin(ContextDescriptor.ASID, 0, 63, 48);
        pin(ContextDescriptor.HAD0, 1, 1, 1);
        pin(ContextDescriptor.TTB0, 1, 51, 4);
        pin(ContextDescriptor.HAD1, 2, 1, 1);
        pin(ContextDescriptor.TTB1, 2, 51, 4);
        pin(ContextDescriptor.DS, 2, 58, 58);
        pin(ContextDescriptor.MAIR0, 3, 31, 0);
        pin(ContextDescriptor.MAIR1, 3, 63, 32);
    }

    @Test
    void commands() { // spec §5
        assertThat(List.of(Command.PREFETCH_CONFIG, Command.PREFETCH_ADDR, Command.CFGI_STE, Command.CFGI_STE_RANGE, Command.CFGI_CD,
                Command.CFGI_CD_ALL, Command.CFGI_VMS_PIDM, Command.TLBI_NH_ALL, Command.TLBI_NH_ASID, Command.TLBI_NH_VA,
                Command.TLBI_NH_VAA, Command.TLBI_EL3_ALL, Command.TLBI_EL3_VA, Command.TLBI_EL2_ALL, Command.TLBI_EL2_ASID,
                Command.TLBI_EL2_VA, Command.TLBI_EL2_VAA, Command.TLBI_S12_VMALL, Command.TLBI_S2_IPA, Command.TLBI_NSNH_ALL,
                Command.ATC_INV, Command.PRI_RESP, Command.RESUME, Command.STALL_TERM, Command.SYNC))
                .containsExactly(0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11, 0x12, 0x13, 0x18, 0x1A, 0x20, 0x21, 0x22, 0x23,
                        0x28, 0x2A, 0x30, 0x40, 0x41, 0x44, 0x45, 0x46);
        pin(Command.OPCODE, 0, 7, 0);
        pin(Command.SSEC, 0, 10, 10);
        pin(Command.SSV, 0, 11, 11);
        pin(Command.SSID, 0, 31, 12);
        pin(Command.SID, 0, 63, 32);
        pin(Command.NUM, 0, 16, 12);
        pin(Command.SCALE, 0, 24, 20);
        pin(Command.VMID, 0, 47, 32);
        pin(Command.ASID, 0, 63, 48);
        pin(Command.SYNC_CS, 0, 13, 12);
        pin(Command.SYNC_MSH, 0, 23, 22);
        pin(Command.SYNC_MSIATTR, 0, 27, 24);
        pin(Command.SYNC_MSIDATA, 0, 63, 32);
        pin(Command.LEAF, 1, 0, 0);
        pin(Command.RANGE, 1, 4, 0);
        pin(Command.TTL128, 1, 7, 7);
        pin(Command.TTL, 1, 9, 8);
        pin(Command.TG, 1, 11, 10);
        pin(Command.ADDR, 1, 63, 12);
        pin(Command.IPA, 1, 51, 12);
        pin(Command.SYNC_MSIADDR, 1, 51, 2);
        assertThat(Command.cfgiSte(0x1234, true)).containsExactly(0x0000_1234_0000_0003L, 1);
        assertThat(Command.cfgiAll()).containsExactly(0x04L, 31);
        assertThat(Command.cfgiCd(7, 0xABCDE, false)).containsExactly(0x0000_0007_ABCD_E005L, 0);
        assertThat(Command.tlbiNhVa(3, 0x55, 0xFFFF_0000_1234_5FFFL, true)).containsExactly(0x0055_0003_0000_0012L, 0xFFFF_0000_1234_5001L);
        assertThat(Command.tlbiS2Ipa(9, 0x8_0000_1000L, false)).containsExactly(0x0000_0009_0000_002AL, 0x8_0000_1000L);
        assertThat(Command.tlbiNhVaRange(0, 1, 0x10000, true, 1, 0, 31, 2)).containsExactly(0x0001_0000_0021_F012L, 0x10000L | 1 << 10 | 1);
        assertThat(Command.sync()).containsExactly(0x46L, 0);
        assertThat(Command.syncMsi(0x1000_0004L, 0xCAFE)).containsExactly(0x0000_CAFE_0FC0_1046L, 0x1000_0004L);
    }

    @Test
    void eventRecord() { // spec §6
        pin(EventRecord.TYPE, 0, 7, 0);
        pin(EventRecord.SSV, 0, 11, 11);
        pin(EventRecord.SSID, 0, 31, 12);
        pin(EventRecord.SID, 0, 63, 32);
        pin(EventRecord.STAG, 1, 15, 0);
        pin(EventRecord.STALL, 1, 31, 31);
        pin(EventRecord.PNU, 1, 33, 33);
        pin(EventRecord.IND, 1, 34, 34);
        pin(EventRecord.RNW, 1, 35, 35);
        pin(EventRecord.NSIPA, 1, 38, 38);
        pin(EventRecord.S2, 1, 39, 39);
        pin(EventRecord.CLASS, 1, 41, 40);
        pin(EventRecord.TTRNW, 1, 44, 44);
        pin(EventRecord.INPUT_ADDR, 2, 63, 0);
        pin(EventRecord.IPA, 3, 51, 12);
        pin(EventRecord.FETCH_ADDR, 3, 51, 3);
        assertThat(EventRecord.dword0(EventType.F_TRANSLATION, 0x10, true, 5)).isEqualTo(0x0000_0010_0000_5810L);
        assertThat(EventRecord.dword1(true, true, true, true, EventRecord.CLASS_TT)).isEqualTo(1L << 33 | 1L << 34 | 1L << 35 | 1L << 39 | 1L << 40);
        assertThat(EventRecord.ipaDword(0x1234_5678L)).isEqualTo(0x1234_5000L);
        assertThat(EventRecord.fetchDword(0x1234_567FL)).isEqualTo(0x1234_5678L);
        EventRecord r = EventRecord.of(new long[] {0x0000_0010_0000_5810L, 1L << 35 | 2L << 40, 0xdead_b000L, 0});
        assertThat(r.name()).isEqualTo("F_TRANSLATION");
        assertThat(r.format()).isEqualTo("smmuv3-event");
        assertThat(r.fields()).containsEntry("SID", 0x10L).containsEntry("SSID", 5L).containsEntry("RnW", 1L)
                .containsEntry("CLASS", 2L).containsEntry("InputAddr", 0xdead_b000L);
    }

    @Test
    void nestedSteAndEventClassEncodings() { // spec §3.1 S1Fmt, §3.2 S1CIR, §6.1 CLASS (Linux EVTQ_1_CLASS_TT = 1)
        assertThat(List.of(StreamTableEntry.S1FMT_LINEAR, StreamTableEntry.S1FMT_64K_L2)).containsExactly(0, 2);
        assertThat(StreamTableEntry.CIR_WBRA).as("S1CIR/S1COR 1 = WB RA").isEqualTo(1);
        assertThat(List.of(EventRecord.CLASS_CD, EventRecord.CLASS_TT, EventRecord.CLASS_IN)).containsExactly(0, 1, 2);
        long d1 = EventRecord.dword1(false, false, false, true, EventRecord.CLASS_CD);
        assertThat(d1).as("S2=1, CLASS=CD").isEqualTo(1L << 39);
        assertThat(EventRecord.dword1(false, false, false, false, EventRecord.CLASS_IN)).isEqualTo(2L << 40);
    }

    @Test
    void eventTypesAndReasons() { // spec §6.2 codes; BACKEND.md mapping
        assertThat(List.of(EventType.values()).stream().map(EventType::code)).containsExactly(0x01, 0x02, 0x03, 0x04, 0x05, 0x06,
                0x07, 0x08, 0x09, 0x0A, 0x0B, 0x10, 0x11, 0x12, 0x13, 0x20, 0x21, 0x24, 0x25);
        assertThat(EventType.C_BAD_STREAMID.reason()).isEqualTo(FaultReason.UNKNOWN_REQUESTER);
        assertThat(EventType.F_STE_FETCH.reason()).isEqualTo(FaultReason.EXTERNAL_ABORT);
        assertThat(EventType.C_BAD_STE.reason()).isEqualTo(FaultReason.BAD_CONFIGURATION);
        assertThat(EventType.F_STREAM_DISABLED.reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(EventType.C_BAD_SUBSTREAMID.reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(EventType.F_CD_FETCH.reason()).isEqualTo(FaultReason.EXTERNAL_ABORT);
        assertThat(EventType.C_BAD_CD.reason(true)).isEqualTo(FaultReason.BAD_CONFIGURATION);
        assertThat(EventType.C_BAD_CD.reason(false)).isEqualTo(FaultReason.BLOCKED);
        assertThat(EventType.F_WALK_EABT.reason()).isEqualTo(FaultReason.EXTERNAL_ABORT);
        assertThat(EventType.F_TRANSLATION.reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(EventType.F_ADDR_SIZE.reason()).isEqualTo(FaultReason.ADDRESS_SIZE);
        assertThat(EventType.F_ACCESS.reason()).isEqualTo(FaultReason.ACCESS_FLAG);
        assertThat(EventType.F_PERMISSION.reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(EventType.of(0x10)).isEqualTo(EventType.F_TRANSLATION);
        assertThat(EventType.of(0x0C)).isNull();
    }

    @Test
    void fieldRejectsOverflow() {
        assertThatThrownBy(() -> StreamTableEntry.CONFIG.of(8)).isInstanceOf(IllegalArgumentException.class);
        assertThat(StreamTableEntry.CONFIG.set(0xFFL, 0)).isEqualTo(0xF1L);
    }
}
