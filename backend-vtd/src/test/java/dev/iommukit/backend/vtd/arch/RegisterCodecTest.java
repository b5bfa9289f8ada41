package dev.iommukit.backend.vtd.arch;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

/** Pins CAP_REG, ECAP_REG, GCMD/GSTS, RTADDR, FSTS/FECTL and IQ register fields to digest §1. */
class RegisterCodecTest {
    @Test
    void registerOffsetsFollowTheRegisterMap() {
        assertThat(new int[] {RegisterOffsets.VER_REG, RegisterOffsets.CAP_REG, RegisterOffsets.ECAP_REG, RegisterOffsets.GCMD_REG,
            RegisterOffsets.GSTS_REG, RegisterOffsets.RTADDR_REG, RegisterOffsets.CCMD_REG, RegisterOffsets.FSTS_REG,
            RegisterOffsets.FECTL_REG, RegisterOffsets.FEDATA_REG, RegisterOffsets.FEADDR_REG, RegisterOffsets.FEUADDR_REG,
            RegisterOffsets.IQH_REG, RegisterOffsets.IQT_REG, RegisterOffsets.IQA_REG, RegisterOffsets.ICS_REG,
            RegisterOffsets.IECTL_REG, RegisterOffsets.IEDATA_REG, RegisterOffsets.IEADDR_REG, RegisterOffsets.IEUADDR_REG,
            RegisterOffsets.IQERCD_REG})
                .containsExactly(0x00, 0x08, 0x10, 0x18, 0x1C, 0x20, 0x28, 0x34, 0x38, 0x3C, 0x40, 0x44, 0x80, 0x88, 0x90, 0x9C,
                        0xA0, 0xA4, 0xA8, 0xAC, 0xB0);
        assertThat(RegisterOffsets.frcd(0x22, 0)).isEqualTo(0x220);
        assertThat(RegisterOffsets.frcd(0x40, 3)).isEqualTo(0x430);
        assertThat(RegisterOffsets.iva(0xF)).isEqualTo(0xF0);
        assertThat(RegisterOffsets.iotlb(0xF)).isEqualTo(0xF8);
    }

    @Test
    void gcmdAndGstsBits() {
        // §1.4
        assertThat(RegisterOffsets.GCMD_TE).isEqualTo(1 << 31);
        assertThat(RegisterOffsets.GCMD_SRTP).isEqualTo(1 << 30);
        assertThat(RegisterOffsets.GCMD_WBF).isEqualTo(1 << 27);
        assertThat(RegisterOffsets.GCMD_QIE).isEqualTo(1 << 26);
        assertThat(RegisterOffsets.GCMD_IRE).isEqualTo(1 << 25);
        assertThat(RegisterOffsets.GCMD_SIRTP).isEqualTo(1 << 24);
        assertThat(RegisterOffsets.GSTS_TES).isEqualTo(1 << 31);
        assertThat(RegisterOffsets.GSTS_RTPS).isEqualTo(1 << 30);
        assertThat(RegisterOffsets.GSTS_QIES).isEqualTo(1 << 26);
        assertThat(RegisterOffsets.GCMD_PRESERVE_MASK).isEqualTo(~(RegisterOffsets.GCMD_SRTP | RegisterOffsets.GCMD_SFL
                | RegisterOffsets.GCMD_WBF | RegisterOffsets.GCMD_SIRTP));
    }

    @Test
    void rtaddrFsTsAndIqFields() {
        // §1.5: TTM 11:10, RTA 63:12
        assertThat(RegisterOffsets.RTADDR_TTM_MASK).isEqualTo(0xC00L);
        assertThat(RegisterOffsets.RTADDR_RTA_MASK).isEqualTo(0xFFFF_FFFF_FFFF_F000L);
        // §1.7
        assertThat(RegisterOffsets.FSTS_PFO).isEqualTo(1);
        assertThat(RegisterOffsets.FSTS_PPF).isEqualTo(2);
        assertThat(RegisterOffsets.FSTS_IQE).isEqualTo(0x10);
        assertThat(RegisterOffsets.FSTS_ICE).isEqualTo(0x20);
        assertThat(RegisterOffsets.FSTS_ITE).isEqualTo(0x40);
        assertThat(RegisterOffsets.FSTS_FRI_MASK).isEqualTo(0xFF00);
        assertThat(RegisterOffsets.ECTL_IM).isEqualTo(1 << 31);
        assertThat(RegisterOffsets.ECTL_IP).isEqualTo(1 << 30);
        // §1.9
        assertThat(RegisterOffsets.IQA_DW).isEqualTo(1L << 11);
        assertThat(RegisterOffsets.IQA_QS_MASK).isEqualTo(7L);
        assertThat(RegisterOffsets.IQ_OFFSET_MASK).isEqualTo(0x7FFF0L);
    }

    @Test
    void capabilityRegisterFieldPositions() {
        // §1.2: ND 2:0, RWBF 4, CM 7, SAGAW 12:8, MGAW 21:16, ZLR 22, FRO 33:24, SLLPS 37:34, PSI 39, NFR 47:40, MAMV 53:48,
        // FL1GP 56, FL5LP 60
        assertThat(new CapabilityRegister(7, false, false, 0, 0, false, 0, 0, false, 0, 0, false, false).encode()).isEqualTo(7L);
        assertThat(new CapabilityRegister(0, true, false, 0, 0, false, 0, 0, false, 0, 0, false, false).encode()).isEqualTo(1L << 4);
        assertThat(new CapabilityRegister(0, false, true, 0, 0, false, 0, 0, false, 0, 0, false, false).encode()).isEqualTo(1L << 7);
        assertThat(new CapabilityRegister(0, false, false, 0x1F, 0, false, 0, 0, false, 0, 0, false, false).encode()).isEqualTo(0x1FL << 8);
        assertThat(new CapabilityRegister(0, false, false, 0, 0x3F, false, 0, 0, false, 0, 0, false, false).encode()).isEqualTo(0x3FL << 16);
        assertThat(new CapabilityRegister(0, false, false, 0, 0, true, 0, 0, false, 0, 0, false, false).encode()).isEqualTo(1L << 22);
        assertThat(new CapabilityRegister(0, false, false, 0, 0, false, 0x3FF, 0, false, 0, 0, false, false).encode()).isEqualTo(0x3FFL << 24);
        assertThat(new CapabilityRegister(0, false, false, 0, 0, false, 0, 0xF, false, 0, 0, false, false).encode()).isEqualTo(0xFL << 34);
        assertThat(new CapabilityRegister(0, false, false, 0, 0, false, 0, 0, true, 0, 0, false, false).encode()).isEqualTo(1L << 39);
        assertThat(new CapabilityRegister(0, false, false, 0, 0, false, 0, 0, false, 0xFF, 0, false, false).encode()).isEqualTo(0xFFL << 40);
        assertThat(new CapabilityRegister(0, false, false, 0, 0, false, 0, 0, false, 0, 0x3F, false, false).encode()).isEqualTo(0x3FL << 48);
        assertThat(new CapabilityRegister(0, false, false, 0, 0, false, 0, 0, false, 0, 0, true, false).encode()).isEqualTo(1L << 56);
        assertThat(new CapabilityRegister(0, false, false, 0, 0, false, 0, 0, false, 0, 0, false, true).encode()).isEqualTo(1L << 60);
        CapabilityRegister c = new CapabilityRegister(2, false, false, 0b00110, 47, false, 0x22, 1, true, 7, 9, true, false);
        assertThat(c.supportsAw(1)).isTrue();
        assertThat(c.supportsAw(2)).isTrue();
        assertThat(c.supportsAw(3)).isFalse();
        assertThat(c.domainCount()).isEqualTo(256);
        assertThat(c.faultRecordCount()).isEqualTo(8);
    }

    @Test
    void extendedCapabilityFieldPositions() {
        // §1.3
        ExtendedCapabilityRegister none = ExtendedCapabilityRegister.decode(0);
        assertThat(none.encode()).isZero();
        long[] single = {1L << 1, 1L << 6, 0x3FFL << 8, 1L << 26, 1L << 29, 1L << 30, 1L << 31, 0x1FL << 35, 1L << 40, 1L << 42,
            1L << 43, 1L << 45, 1L << 46, 1L << 47, 1L << 48, 1L << 49, 1L, 1L << 2, 1L << 3, 1L << 7};
        for (long v : single) {
            assertThat(ExtendedCapabilityRegister.decode(v).encode()).as("bit pattern 0x%x", v).isEqualTo(v);
        }
        ExtendedCapabilityRegister e = ExtendedCapabilityRegister.decode((1L << 1) | (19L << 35) | (1L << 43) | (0xFL << 8));
        assertThat(e.qi()).isTrue();
        assertThat(e.pss()).isEqualTo(19);
        assertThat(e.pasidBits()).isEqualTo(20);
        assertThat(e.smts()).isTrue();
        assertThat(e.iro()).isEqualTo(0xF);
        assertThat(ExtendedCapabilityRegister.decode(1L << 46).slts()).isTrue();
        assertThat(ExtendedCapabilityRegister.decode(1L << 47).flts()).isTrue();
        assertThat(ExtendedCapabilityRegister.decode(1L << 48).smpwcs()).isTrue();
        assertThat(ExtendedCapabilityRegister.decode(1L << 49).rps()).isTrue();
        assertThat(ExtendedCapabilityRegister.decode(1L << 40).pasid()).isTrue();
        assertThat(ExtendedCapabilityRegister.decode(1L << 31).srs()).isTrue();
        assertThat(ExtendedCapabilityRegister.decode(1L << 6).pt()).isTrue();
        assertThat(ExtendedCapabilityRegister.decode(1L << 26).nest()).isTrue();
    }

    @Property(tries = 100)
    void capabilityRoundTrip(@ForAll long raw) {
        long known = 0x7L | 1L << 4 | 1L << 7 | 0x1FL << 8 | 0x3FL << 16 | 1L << 22 | 0x3FFL << 24 | 0xFL << 34 | 1L << 39 | 0xFFL << 40
                | 0x3FL << 48 | 1L << 56 | 1L << 60;
        assertThat(CapabilityRegister.decode(raw).encode()).isEqualTo(raw & known);
    }
}
