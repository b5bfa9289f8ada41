package dev.iommukit.backend.vtd.arch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.vtd.hw.HardwareModel;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/**
 * Pins the page request fields: page request descriptor and page group response (digest §12),
 * dev_tlb / p_dev_tlb and inv_wait PD (§11), FRCD page request and translation request records
 * (§1.8), the page request queue registers (§1.10), ECAP DT/PRS/PDS (§1.3) and SM context
 * DTE/PRE (§3.2).
 */
class PageRequestCodecTest {
    @Test
    void pageRequestDescriptorLayout() {
        PageRequestDescriptor d = PageRequestDescriptor.of(0xABCD, true, 0xFEDCB, 0x1234_5678_9000L, true, false, true, true, 0x155, true);
        assertThat(d.qw0()).isEqualTo(0x01L | 1L << 8 | 0xABCDL << 16 | 0xFEDCBL << 32 | 1L << 52 | 1L << 53);
        assertThat(d.qw1()).isEqualTo(1L | 1L << 2 | 0x155L << 3 | 0x1234_5678_9000L);
        assertThat(d.qw2() | d.qw3()).isZero();
        assertThat(d.type()).isEqualTo(1);
        assertThat(d.pasidPresent()).isTrue();
        assertThat(d.privateDataPresent()).isFalse();
        assertThat(d.rid()).isEqualTo(0xABCD);
        assertThat(d.pasid()).isEqualTo(0xFEDCB);
        assertThat(d.executeRequested()).isTrue();
        assertThat(d.privilegedRequested()).isTrue();
        assertThat(d.readRequested()).isTrue();
        assertThat(d.writeRequested()).isFalse();
        assertThat(d.lastPageInGroup()).isTrue();
        assertThat(d.groupIndex()).isEqualTo(0x155);
        assertThat(d.pageAddress()).isEqualTo(0x1234_5678_9000L);
        assertThat(d.format()).isEqualTo("vtd-prq");
        assertThat(d.code()).isEqualTo(1);
        assertThat(d.words()).containsExactly(d.qw0(), d.qw1(), 0L, 0L);
        assertThat(d.fields().keySet()).containsExactly("Type", "PP", "PDP", "RID", "PASID", "EXR", "PMR", "RDR", "WRR", "LPIG", "PRGI",
                "ADDR");
        assertThat(PageRequestDescriptor.QW0_RESERVED).isEqualTo(0xFC00L | 0xFFC0_0000_0000_0000L);
        long[] pdp = {1L << 9 | 1, 0, 0x1111, 0x2222};
        assertThat(PageRequestDescriptor.decode(pdp).privateDataPresent()).isTrue();
        assertThat(PageRequestDescriptor.decode(pdp).words()).containsExactly(1L << 9 | 1, 0L, 0x1111L, 0x2222L);
    }

    @Property(tries = 200)
    void pageRequestDescriptorRoundTrip(@ForAll @IntRange(max = 0xFFFF) int rid, @ForAll boolean pp,
                                        @ForAll @IntRange(max = 0xFFFFF) int pasid, @ForAll @LongRange(max = 0xF_FFFF_FFFF_FFFFL) long pfn,
                                        @ForAll boolean r, @ForAll boolean w, @ForAll boolean x, @ForAll boolean priv,
                                        @ForAll @IntRange(max = 0x1FF) int prgi, @ForAll boolean last) {
        long page = pfn << 12;
        PageRequestDescriptor d = PageRequestDescriptor.decode(PageRequestDescriptor.of(rid, pp, pasid, page, r, w, x, priv, prgi, last).encode());
        assertThat(d.rid()).isEqualTo(rid);
        assertThat(d.pasidPresent()).isEqualTo(pp);
        assertThat(d.pasid()).isEqualTo(pp ? pasid : 0);
        assertThat(d.pageAddress()).isEqualTo(page);
        assertThat(d.readRequested()).isEqualTo(r);
        assertThat(d.writeRequested()).isEqualTo(w);
        assertThat(d.executeRequested()).isEqualTo(x);
        assertThat(d.privilegedRequested()).isEqualTo(priv);
        assertThat(d.groupIndex()).isEqualTo(prgi);
        assertThat(d.lastPageInGroup()).isEqualTo(last);
        assertThat(d.qw0() & PageRequestDescriptor.QW0_RESERVED).isZero();
    }

    @Test
    void pageGroupResponseLayout() {
        long[] d = InvalidationDescriptor.pageGroupResponse(0x0318, true, 0xABCDE, InvalidationDescriptor.RC_RESPONSE_FAILURE, true, 0x1FF);
        assertThat(d[0]).isEqualTo(9L | 1L << 4 | 0xFL << 12 | 0x0318L << 16 | 0xABCDEL << 32);
        assertThat(d[1]).isEqualTo(1L << 2 | 0x1FFL << 3);
        assertThat(d[2] | d[3]).isZero();
        assertThat(InvalidationDescriptor.type(d[0])).isEqualTo(InvalidationDescriptor.PAGE_GRP_RESP);
        assertThat(InvalidationDescriptor.responsePasidPresent(d[0])).isTrue();
        assertThat(InvalidationDescriptor.responsePrivateDataPresent(d[0])).isFalse();
        assertThat(InvalidationDescriptor.responseCode(d[0])).isEqualTo(0xF);
        assertThat(InvalidationDescriptor.responseRid(d[0])).isEqualTo(0x318);
        assertThat(InvalidationDescriptor.pasid(d[0])).isEqualTo(0xABCDE);
        assertThat(InvalidationDescriptor.responseLastPage(d[1])).isTrue();
        assertThat(InvalidationDescriptor.responseGroupIndex(d[1])).isEqualTo(0x1FF);
        assertThat(InvalidationDescriptor.pageGroupResponse(1, false, 7, 1, false, 0)[0]).as("no PASID without PP").isEqualTo(9L | 1L << 12 | 1L << 16);
        assertThat(InvalidationDescriptor.RC_SUCCESS).isZero();
        assertThat(InvalidationDescriptor.RC_INVALID_REQUEST).isEqualTo(1);
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.PAGE_GRP_RESP, 0)).isEqualTo(0x1C0L | 0xFFF0_0000_0000_0000L);
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.PAGE_GRP_RESP, 1)).isEqualTo(3L | 0xFFFF_FFFF_FFFF_F000L);
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.PAGE_GRP_RESP, 2)).as("private data").isZero();
    }

    @Test
    void deviceTlbDescriptorsLayout() {
        long[] d = InvalidationDescriptor.deviceTlb(0x0318, 0xBEEF, 17, 0x20_1000L, true);
        assertThat(d[0]).isEqualTo(3L | 0xFL << 12 | 17L << 16 | 0x0318L << 32 | 0xBEEL << 52);
        assertThat(d[1]).isEqualTo(0x20_1000L | 1);
        assertThat(InvalidationDescriptor.deviceTlbSid(d[0])).isEqualTo(0x318);
        assertThat(InvalidationDescriptor.physicalFunctionSid(d[0])).isEqualTo(0xBEEF);
        assertThat(InvalidationDescriptor.maxInvalidationsPending(d[0])).isEqualTo(17);
        assertThat(InvalidationDescriptor.deviceTlbSize(d[0], d[1])).isTrue();
        long[] p = InvalidationDescriptor.pasidDeviceTlb(0x0318, 0xBEEF, 0xABCDE, 31, true, 0x7000, true);
        assertThat(p[0]).isEqualTo(8L | 31L << 4 | 0xFL << 12 | 0x0318L << 16 | 0xABCDEL << 32 | 0xBEEL << 52);
        assertThat(p[1]).isEqualTo(0x7000L | 1L << 11 | 1);
        assertThat(InvalidationDescriptor.deviceTlbSid(p[0])).isEqualTo(0x318);
        assertThat(InvalidationDescriptor.pasid(p[0])).isEqualTo(0xABCDE);
        assertThat(InvalidationDescriptor.physicalFunctionSid(p[0])).isEqualTo(0xBEEF);
        assertThat(InvalidationDescriptor.maxInvalidationsPending(p[0])).isEqualTo(31);
        assertThat(InvalidationDescriptor.deviceTlbSize(p[0], p[1])).isTrue();
        assertThat(InvalidationDescriptor.deviceTlbGlobal(p[1])).isTrue();
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.DEV_TLB_INV, 0)).isEqualTo(0x1F0L | 0xFFE0_0000L | 0xFL << 48);
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.DEV_TLB_INV, 1)).isEqualTo(0xFFEL);
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.P_DEV_TLB_INV, 0)).isZero();
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.P_DEV_TLB_INV, 1)).isEqualTo(0x7FEL);
        assertThat(InvalidationDescriptor.reservedBits(InvalidationDescriptor.P_DEV_TLB_INV, 2)).isEqualTo(-1L);
    }

    @Test
    void deviceTlbAddressEncodesTheSizeInTheLowestClearBit() {
        assertThat(InvalidationDescriptor.deviceTlbAddress(0x5000, 0)).isEqualTo(0x5000);
        assertThat(InvalidationDescriptor.deviceTlbAddress(0x6000, 1)).as("2 pages: bit 12 clear").isEqualTo(0x6000);
        assertThat(InvalidationDescriptor.deviceTlbAddress(0x8000, 2)).as("4 pages: bit 12 set, 13 clear").isEqualTo(0x9000);
        assertThat(InvalidationDescriptor.deviceTlbAddress(0x20_0000L, 9)).as("2 MiB: bits 19:12 set, 20 clear").isEqualTo(0x2F_F000L);
        assertThat(InvalidationDescriptor.DEVICE_TLB_WHOLE_RANGE).isEqualTo(0x7FFF_FFFF_FFFF_F000L);
    }

    @Test
    void invWaitPageRequestDrain() {
        long[] w = InvalidationDescriptor.invWait(false, true, true, true, 7, 0x1000);
        assertThat(w[0]).isEqualTo(5L | 1L << 5 | 1L << 6 | 1L << 7 | 7L << 32);
        assertThat(InvalidationDescriptor.waitPageRequestDrain(w[0])).isTrue();
        assertThat(InvalidationDescriptor.waitFence(w[0])).isTrue();
        assertThat(InvalidationDescriptor.waitPageRequestDrain(InvalidationDescriptor.invWait(false, true, false, 1, 0)[0])).isFalse();
    }

    @Test
    void faultRecordsOfPageAndTranslationRequests() {
        FaultRecord pr = FaultRecord.ofPageRequest(0x4_5678L, 0x0318, true, true, true, 0x12345, 0x47);
        assertThat(pr.low()).isEqualTo(0x4_5000L);
        assertThat(pr.high()).isEqualTo(0x0318L | 1L << 28 | 1L << 29 | 1L << 30 | 1L << 31 | 0x47L << 32 | 0x12345L << 40 | 1L << 63);
        assertThat(pr.t1()).isFalse();
        assertThat(pr.t2()).isTrue();
        assertThat(pr.isPageRequest()).isTrue();
        assertThat(pr.isWrite()).isFalse();
        assertThat(pr.addressType()).isZero();
        assertThat(pr.name()).isEqualTo("SCT.8");
        FaultRecord tr = FaultRecord.of(0x1000, 1, false, false, false, false, 0, 0x44, FaultRecord.AT_TRANSLATION_REQUEST);
        assertThat(tr.high()).isEqualTo(1L | 0x44L << 32 | 1L << 60 | 1L << 62 | 1L << 63);
        assertThat(tr.addressType()).isEqualTo(1);
        assertThat(tr.isPageRequest()).isFalse();
        assertThat(FaultReasonCode.SCT_5.code()).isEqualTo(0x44);
        assertThat(FaultReasonCode.SCT_8.code()).isEqualTo(0x47);
        assertThat(FaultReasonCode.RTA_3.code()).isEqualTo(0x32);
    }

    @Test
    void pageRequestQueueRegisters() {
        assertThat(RegisterOffsets.PQH_REG).isEqualTo(0xC0);
        assertThat(RegisterOffsets.PQT_REG).isEqualTo(0xC8);
        assertThat(RegisterOffsets.PQA_REG).isEqualTo(0xD0);
        assertThat(RegisterOffsets.PRS_REG).isEqualTo(0xDC);
        assertThat(RegisterOffsets.PECTL_REG).isEqualTo(0xE0);
        assertThat(RegisterOffsets.PEDATA_REG).isEqualTo(0xE4);
        assertThat(RegisterOffsets.PEADDR_REG).isEqualTo(0xE8);
        assertThat(RegisterOffsets.PEUADDR_REG).isEqualTo(0xEC);
        assertThat(RegisterOffsets.PQ_OFFSET_MASK).as("bits 18:5").isEqualTo(0x7_FFE0L);
        assertThat(RegisterOffsets.PQA_PQS_MASK).isEqualTo(7);
        assertThat(RegisterOffsets.PQA_BASE_MASK).isEqualTo(0xFFFF_FFFF_FFFF_F000L);
        assertThat(RegisterOffsets.PRS_PPR).isEqualTo(1);
        assertThat(RegisterOffsets.PRS_PRO).isEqualTo(2);
    }

    @Test
    void extendedCapabilitiesAndContextBits() {
        long ecap = HardwareModel.defaults().ecap().encode();
        assertThat(ecap >>> 2 & 1).as("DT").isEqualTo(1);
        assertThat(ecap >>> 29 & 1).as("PRS").isEqualTo(1);
        assertThat(ecap >>> 42 & 1).as("PDS").isEqualTo(1);
        assertThat(ecap >>> 41 & 1).as("DIT").isZero();
        ExtendedCapabilityRegister decoded = ExtendedCapabilityRegister.decode(ecap);
        assertThat(decoded.dt()).isTrue();
        assertThat(decoded.prs()).isTrue();
        assertThat(decoded.pds()).isTrue();
        ScalableContextEntry ce = new ScalableContextEntry(true, false, true, false, true, 0, 0x5000, 0, false);
        assertThat(ce.encode()[0]).isEqualTo(1L | 1L << 2 | 1L << 4 | 0x5000L);
        assertThat(ScalableContextEntry.DTE).isEqualTo(1L << 2);
        assertThat(ScalableContextEntry.PRE).isEqualTo(1L << 4);
        ScalableContextEntry back = ScalableContextEntry.decode(ce.encode()[0], ce.encode()[1]);
        assertThat(back.dte()).isTrue();
        assertThat(back.pre()).isTrue();
        assertThat(back.paside()).isFalse();
    }
}
