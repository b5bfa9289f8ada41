package dev.iommukit.backend.vtd.arch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;

import dev.iommukit.spi.fault.FaultReason;
import org.junit.jupiter.api.Test;

/** Pins invalidation descriptors (digest §11), FRCD (§1.8) and fault reason codes (§10). */
class InvalidationAndFaultCodecTest {
    @Test
    void contextCacheDescriptor() {
        long[] d = InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0x1234, 0x0318, 3);
        assertThat(d[0]).isEqualTo(1L | 3L << 4 | 0x1234L << 16 | 0x0318L << 32 | 3L << 48);
        assertThat(InvalidationDescriptor.type(d[0])).isEqualTo(1);
        assertThat(InvalidationDescriptor.sid(d[0])).isEqualTo(0x318);
        assertThat(InvalidationDescriptor.functionMask(d[0])).isEqualTo(3);
        assertThat(d[1] | d[2] | d[3]).isZero();
    }

    @Test
    void iotlbAndPasidIotlbDescriptors() {
        long[] d = InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_PAGE, 7, 0x20_0000L, 9, true);
        assertThat(d[0]).isEqualTo(2L | 3L << 4 | 7L << 16);
        assertThat(d[1]).isEqualTo(0x20_0000L | 9 | 1L << 6);
        long[] p = InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PAGE, 7, 0xFFFFF, 0x3000, 0, false);
        assertThat(p[0]).isEqualTo(6L | 3L << 4 | 7L << 16 | 0xFFFFFL << 32);
        assertThat(p[1]).isEqualTo(0x3000L);
        assertThat(InvalidationDescriptor.pasid(p[0])).isEqualTo(0xFFFFF);
        assertThat(InvalidationDescriptor.addressMask(d[1])).isEqualTo(9);
        assertThat(InvalidationDescriptor.invalidationHint(d[1])).isTrue();
        assertThat(InvalidationDescriptor.address(d[1])).isEqualTo(0x20_0000L);
    }

    @Test
    void pasidCacheAndWaitDescriptors() {
        long[] pc = InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, 9, 17);
        assertThat(pc[0]).isEqualTo(7L | 1L << 4 | 9L << 16 | 17L << 32);
        long[] w = InvalidationDescriptor.invWait(true, true, true, 0xCAFEBABE, 0x1234_5678L);
        assertThat(w[0]).isEqualTo(5L | 1L << 4 | 1L << 5 | 1L << 6 | 0xCAFE_BABEL << 32);
        assertThat(w[1]).isEqualTo(0x1234_5678L);
        assertThat(InvalidationDescriptor.statusData(w[0])).isEqualTo(0xCAFEBABE);
        assertThat(InvalidationDescriptor.statusAddress(w[1])).isEqualTo(0x1234_5678L);
        assertThat(InvalidationDescriptor.type(0x200L | 5)).as("type[6:4] from bits 11:9").isEqualTo(0x15);
    }

    @Test
    void reservedBitsOfDescriptors() {
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.CC_INV, 1)).isEqualTo(-1L);
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.IOTLB_INV, 1)).isEqualTo(0xF80L);
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.INV_WAIT, 1)).isEqualTo(3L);
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.PC_INV, 0) & (1L << 52)).isNotZero();
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.P_IOTLB_INV, 0) & 0xF_FFFF_0000_0000L).isZero();
    }

    @Test
    void faultRecordLayout() {
        FaultRecord r = FaultRecord.of(0x1234_5678L, 0x0318, false, true, true, true, 0xABCDE, 0x5D);
        assertThat(r.low()).isEqualTo(0x1234_5000L);
        assertThat(r.high()).isEqualTo(0x0318L | 1L << 29 | 1L << 30 | 1L << 31 | 0x5DL << 32 | 0xABCDEL << 40 | 1L << 62 | 1L << 63);
        assertThat(r.sid()).isEqualTo(0x318);
        assertThat(r.t1()).isTrue();
        assertThat(r.t2()).isFalse();
        assertThat(r.isWrite()).isFalse();
        assertThat(r.name()).isEqualTo("SPT.6");
        assertThat(r.words()).containsExactly(r.low(), r.high());
        assertThat(r.fields()).containsEntry("PV", 0xABCDEL).containsEntry("FR", 0x5DL).containsEntry("F", 1L);
        FaultRecord w = FaultRecord.of(0x1000, 1, true, false, false, false, 0, 0x79);
        assertThat(w.high()).isEqualTo(1L | 0x79L << 32 | 1L << 63);
        assertThat(w.isWrite()).isTrue();
    }

    @Test
    void faultReasonCodesFollowSection10() {
        assertThat(FaultReasonCode.of(0x39)).isEqualTo(FaultReasonCode.SRT_2);
        assertThat(FaultReasonCode.SRT_2.architecturalName()).isEqualTo("SRT.2");
        int[][] expected = {{0x30, 0}, {0x38, 0}, {0x39, 0}, {0x3A, 0}, {0x40, 0}, {0x41, 1}, {0x42, 1}, {0x43, 1}, {0x44, 1}, {0x45, 1},
            {0x46, 1}, {0x47, 1}, {0x48, 1},
            {0x50, 0}, {0x51, 1}, {0x52, 1}, {0x58, 0}, {0x59, 1}, {0x5A, 1}, {0x5B, 1}, {0x5C, 1}, {0x5D, 1}, {0x70, 1}, {0x71, 1},
            {0x72, 1}, {0x73, 1}, {0x74, 1}, {0x75, 1}, {0x76, 1}, {0x77, 1}, {0x78, 1}, {0x79, 1}, {0x7A, 1}, {0x7B, 1}, {0x80, 1}, {0x81, 1}, {0x83, 1}, {0x84, 1}, {0x85, 1},
            {0x86, 1}, {0x87, 1}, {0x89, 1}, {0x90, 1}, {0x91, 1}};
        for (int[] e : expected) {
            FaultReasonCode c = FaultReasonCode.of(e[0]);
            assertThat(c).as("FR 0x%x", e[0]).isNotNull();
            assertThat(c.qualified()).as("%s qualified", c.architecturalName()).isEqualTo(e[1] == 1);
        }
        // SM fault reasons 0x44 DTE clear, 0x47 PRE clear, 0x74-0x77 nested FL address / SL read / SL read / SL write
        // (Linux dmar.c dma_remap_sm_fault_reasons; QEMU VTD_FR_SM_PRE_ABS = 0x47).
        assertThat(List.of(FaultReasonCode.SCT_5, FaultReasonCode.SCT_8, FaultReasonCode.SFS_5, FaultReasonCode.SFS_6,
                FaultReasonCode.SFS_7, FaultReasonCode.SFS_8).stream().map(FaultReasonCode::code))
                .containsExactly(0x44, 0x47, 0x74, 0x75, 0x76, 0x77);
        assertThat(FaultReasonCode.SPT_2.reason()).isEqualTo(FaultReason.BLOCKED);
        assertThat(FaultReasonCode.SSS_2.reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(FaultReasonCode.SFS_2.reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(FaultReasonCode.SGN_6.reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(FaultReasonCode.SSS_3.reason()).isEqualTo(FaultReason.BAD_CONFIGURATION);
        assertThat(FaultReasonCode.SSS_4.reason()).isEqualTo(FaultReason.EXTERNAL_ABORT);
        assertThat(FaultReasonCode.SRT_2.reason()).isEqualTo(FaultReason.UNKNOWN_REQUESTER);
        assertThat(FaultReasonCode.SGN_4.reason()).isEqualTo(FaultReason.ADDRESS_SIZE);
        assertThat(FaultReasonCode.SFS_9.reason()).isEqualTo(FaultReason.ACCESS_FLAG);
        assertThat(FaultReasonCode.of(0x01)).as("legacy codes are not modelled").isNull();
        for (FaultReasonCode c : FaultReasonCode.values()) {
            assertThat(c.architecturalName()).isEqualTo(c.name().replace('_', '.'));
        }
    }
}
