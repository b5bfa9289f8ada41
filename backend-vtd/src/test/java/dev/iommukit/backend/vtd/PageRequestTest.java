package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.backend.vtd.arch.PageRequestDescriptor;
import dev.iommukit.backend.vtd.hw.HardwareModel;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The page request queue seen from outside (digest §1.10, §12): descriptors exactly as written
 * in memory, PQT/PQH and PRS movement, the page request event, overflow with the hardware's own
 * response, structure faults recorded as page request faults, page group responses and drain.
 */
class PageRequestTest {
    static final RequesterId DEV = RequesterId.parse("00:03.0");
    static final int SID = DEV.value();
    static final int PASID = 5;
    private final VtdMachine m = new VtdMachine();
    private final List<PageResponseMessage> responses = new CopyOnWriteArrayList<>();

    PageRequestTest() {
        m.hw.dmaPort().connectPageResponses(responses::add);
    }

    @AfterEach
    void close() {
        m.close();
    }

    /** A device with a second-level domain at RID_PASID and another at {@link #PASID}, page requests enabled. */
    private BackendDomain[] enabledDevice() {
        m.driver.probeDevice(DEV, 8);
        BackendDomain rid = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        BackendDomain pasid = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.driver.attach(DEV, Pasid.NONE, rid);
        m.driver.attach(DEV, PASID, pasid);
        m.driver.enablePageRequests(DEV);
        return new BackendDomain[] {rid, pasid};
    }

    private static PageRequestMessage request(int pasid, long page, boolean write, int group, boolean last) {
        return new PageRequestMessage(SID, pasid, page, !write, write, false, false, group, last);
    }

    private void send(PageRequestMessage message) {
        m.hw.dmaPort().pageRequest(message);
    }

    private long prq() {
        return m.driver.pageRequestQueueBase();
    }

    private long[] descriptorAt(long offset) {
        long[] q = new long[4];
        for (int i = 0; i < 4; i++) {
            q[i] = m.memory.read64(prq() + offset + 8L * i);
        }
        return q;
    }

    /** The invalidation descriptors the driver queued from IQT {@code from} on. */
    private List<long[]> queuedSince(long from) {
        long base = m.driver.invalidationQueue();
        long to = m.hw.read64(IQT_REG);
        List<long[]> out = new ArrayList<>();
        for (long off = from; off != to; off = (off + 32) % (4096 << 1)) {
            out.add(new long[] {m.memory.read64(base + off), m.memory.read64(base + off + 8), m.memory.read64(base + off + 16),
                m.memory.read64(base + off + 24)});
        }
        return out;
    }

    @Test
    void capabilityAndInitialisation() {
        assertThat(m.driver.capabilities().parameter(Capability.PAGE_REQUEST, "queue")).contains("prq");
        assertThat(m.driver.capabilities().parameter(Capability.PAGE_REQUEST, "queueEntries")).contains("2048");
        assertThat(m.driver.probeDevice(DEV, 0).capabilities().has(Capability.PAGE_REQUEST)).isTrue();
        assertThat(m.driver.probeDevice(RequesterId.parse("00:04.0"), 20).capabilities().parameter(Capability.PAGE_REQUEST,
                "queueEntries")).contains("2048");
        assertThat(m.hw.read64(PQA_REG)).as("PQA: base, PQS=4").isEqualTo(prq() | 4);
        assertThat(m.hw.read64(PQH_REG)).isZero();
        assertThat(m.hw.read64(PQT_REG)).isZero();
        assertThat(m.hw.read32(PECTL_REG)).as("event unmasked").isZero();
        assertThat(m.hw.read32(PEDATA_REG)).isEqualTo(0x4022);
        assertThat(m.hw.read32(PEADDR_REG)).isEqualTo(0xFEE0_0000);
        assertThat(m.driver.registers().keySet()).containsSubsequence("IQERCD_REG", "PQH_REG", "PQT_REG", "PQA_REG", "PRS_REG",
                "PECTL_REG", "PEDATA_REG", "PEADDR_REG", "PEUADDR_REG", "FRCD_REG[0].LO");
    }

    @Test
    void resetValuesAndRegisterAccess() {
        dev.iommukit.backend.vtd.hw.VtdHardware hw = new dev.iommukit.backend.vtd.hw.VtdHardware(
                dev.iommukit.spi.memory.PhysicalMemory.of(0, 1L << 20), HardwareModel.defaults());
        assertThat(hw.read32(PECTL_REG)).as("PECTL.IM=1 on reset").isEqualTo(0x8000_0000);
        assertThat(hw.read32(PRS_REG)).isZero();
        assertThat(hw.read64(PQH_REG) | hw.read64(PQT_REG) | hw.read64(PQA_REG)).isZero();
        hw.write64(PQH_REG, -1L);
        hw.write64(PQT_REG, -1L);
        hw.write64(PQA_REG, -1L);
        assertThat(hw.read64(PQH_REG)).as("only 18:5 writable").isEqualTo(0x7_FFE0L);
        assertThat(hw.read64(PQT_REG)).isEqualTo(0x7_FFE0L);
        assertThat(hw.read64(PQA_REG)).as("PQA 63:12 and PQS 2:0").isEqualTo(0xFFFF_FFFF_FFFF_F007L);
        hw.write32(PECTL_REG, -1);
        assertThat(hw.read32(PECTL_REG)).as("IP is read-only").isEqualTo(ECTL_IM);
        hw.write32(PEDATA_REG, 0x4123);
        assertThat(hw.read32(PEDATA_REG)).isEqualTo(0x4123);
    }

    @Test
    void enableSetsDteAndPreWithTable28Invalidations() {
        m.driver.probeDevice(DEV, 8);
        BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.driver.attach(DEV, Pasid.NONE, d);
        long ce = m.contextEntryAddress(SID);
        long before = m.memory.read64(ce);
        assertThat(before & 0x14).as("DTE=PRE=0 after probe").isZero();
        long iqt = m.hw.read64(IQT_REG);
        m.driver.enablePageRequests(DEV);
        assertThat(m.memory.read64(ce)).as("DTE (bit 2) and PRE (bit 4)").isEqualTo(before | 1L << 2 | 1L << 4);
        long whole = 0x7FFF_FFFF_FFFF_F000L;
        List<long[]> queued = queuedSince(iqt);
        assertThat(queued).hasSize(6);
        assertThat(queued.subList(0, 5)).containsExactly(
                new long[] {1L | 3L << 4 | (long) SID << 32, 0, 0, 0},
                new long[] {7L | 2L << 16, 0, 0, 0},
                new long[] {2L | 2L << 4 | 2L << 16, 0, 0, 0},
                new long[] {3L | (long) SID << 32 | (SID & 0xFL) << 12 | (long) (SID >>> 4) << 52, whole | 1, 0, 0},
                new long[] {8L | (long) SID << 16 | (SID & 0xFL) << 12 | (long) (SID >>> 4) << 52, whole | 1L << 11 | 1, 0, 0});
        assertThat(queued.get(5)[0] & 0xFF).as("closing inv_wait, SW=1").isEqualTo(5L | 1L << 5);
        iqt = m.hw.read64(IQT_REG);
        m.driver.disablePageRequests(DEV);
        assertThat(m.memory.read64(ce)).isEqualTo(before);
        assertThat(queuedSince(iqt)).hasSize(6);
    }

    @Test
    void lastRequestIsWrittenAtPqtReportedAndConsumed() {
        enabledDevice();
        send(new PageRequestMessage(SID, PASID, 0x7_6543_2000L, true, true, false, false, 0x1A5, true));
        long[] expected = {0x01L | 1L << 8 | (long) SID << 16 | (long) PASID << 32,
            1L | 1L << 1 | 1L << 2 | 0x1A5L << 3 | 0x7_6543_2000L, 0, 0};
        assertThat(descriptorAt(0)).containsExactly(expected);
        assertThat(m.hw.read64(PQT_REG)).as("PQT advanced by one 32-byte descriptor").isEqualTo(0x20);
        assertThat(m.hw.read64(PQH_REG)).as("the driver consumed it").isEqualTo(0x20);
        assertThat(m.hw.read32(PRS_REG)).as("PPR cleared by the driver").isZero();
        assertThat(m.pageRequests).hasSize(1);
        PageRequest r = m.pageRequests.get(0);
        assertThat(r.requester()).isEqualTo(DEV);
        assertThat(r.pasid()).isEqualTo(PASID);
        assertThat(r.pageAddress()).isEqualTo(0x7_6543_2000L);
        assertThat(r.read()).isTrue();
        assertThat(r.write()).isTrue();
        assertThat(r.groupIndex()).isEqualTo(0x1A5);
        assertThat(r.last()).isTrue();
        assertThat(r.record().format()).isEqualTo("vtd-prq");
        assertThat(r.record().words()).containsExactly(expected[0], expected[1], 0L, 0L);
        assertThat(r.record().fields()).containsEntry("PRGI", 0x1A5L).containsEntry("LPIG", 1L).containsEntry("RID", (long) SID);
        assertThat(responses).as("no automatic response for a queued request").isEmpty();
    }

    @Test
    void requestWithoutPasidCarriesNoPasid() {
        enabledDevice();
        send(request(Pasid.NONE, 0x3000, false, 7, true));
        assertThat(descriptorAt(0)).containsExactly(0x01L | (long) SID << 16, 1L | 1L << 2 | 7L << 3 | 0x3000L, 0L, 0L);
        assertThat(m.pageRequests.get(0).pasid()).isEqualTo(Pasid.NONE);
        assertThat(m.pageRequests.get(0).hasPasid()).isFalse();
    }

    @Test
    void maskedEventKeepsRequestsQueuedUntilUnmasked() {
        enabledDevice();
        m.hw.write32(PECTL_REG, ECTL_IM);
        send(request(PASID, 0x1000, false, 1, false));
        assertThat(m.hw.read32(PRS_REG)).as("every queued descriptor sets PPR").isEqualTo(PRS_PPR);
        assertThat(m.hw.read32(PECTL_REG)).as("IP held while masked").isEqualTo(ECTL_IM | ECTL_IP);
        send(request(PASID, 0x2000, true, 1, true));
        send(request(PASID, 0x3000, false, 2, true));
        assertThat(m.hw.read32(PRS_REG)).isEqualTo(PRS_PPR);
        assertThat(m.hw.read64(PQT_REG)).isEqualTo(0x60);
        assertThat(m.hw.read64(PQH_REG)).isZero();
        assertThat(m.pageRequests).isEmpty();
        m.hw.write32(PECTL_REG, 0);
        assertThat(m.hw.read32(PECTL_REG)).as("the held event was sent").isZero();
        assertThat(m.pageRequests).extracting(PageRequest::pageAddress).containsExactly(0x1000L, 0x2000L, 0x3000L);
        assertThat(m.pageRequests).extracting(PageRequest::last).containsExactly(false, true, true);
        assertThat(m.hw.read64(PQH_REG)).isEqualTo(0x60);
        assertThat(m.hw.read32(PRS_REG)).isZero();
        // Software clearing PPR drops a held event: nothing is pending any more.
        m.hw.write32(PECTL_REG, ECTL_IM);
        send(request(PASID, 0x4000, false, 3, true));
        assertThat(m.hw.read32(PECTL_REG)).isEqualTo(ECTL_IM | ECTL_IP);
        m.hw.write32(PRS_REG, PRS_PPR);
        assertThat(m.hw.read32(PECTL_REG)).isEqualTo(ECTL_IM);
    }

    @Test
    void overflowDropsAndHardwareAnswersSuccess() {
        enabledDevice();
        m.hw.write32(PECTL_REG, ECTL_IM);
        int usable = 2048 - 1;
        for (int i = 0; i < usable; i++) {
            send(request(PASID, (long) i << 12, false, i & 0x1FF, false));
        }
        assertThat(m.hw.read64(PQT_REG)).isEqualTo(usable * 32L);
        assertThat(m.hw.read32(PRS_REG)).isEqualTo(PRS_PPR);
        // Software clears PPR (and so the held event) but has not moved PQH yet.
        m.hw.write32(PRS_REG, PRS_PPR);
        assertThat(m.hw.read32(PECTL_REG)).isEqualTo(ECTL_IM);
        send(request(PASID, 0x900_0000L, true, 0x33, true));
        assertThat(m.hw.read32(PRS_REG)).as("PRO").isEqualTo(PRS_PRO);
        assertThat(m.hw.read32(PECTL_REG)).as("PRO set while PPR and PRO were clear: an event").isEqualTo(ECTL_IM | ECTL_IP);
        assertThat(m.hw.read64(PQT_REG)).as("dropped").isEqualTo(usable * 32L);
        assertThat(responses).containsExactly(new PageResponseMessage(SID, PASID, 0x33, PageResponseCode.SUCCESS));
        send(request(PASID, 0x901_0000L, false, 0x34, false));
        assertThat(responses).as("no response to a dropped request that is not last").hasSize(1);
        // Unmasking sends the held event: the driver empties the queue and clears PRO once empty.
        m.hw.write32(PECTL_REG, 0);
        assertThat(m.pageRequests).hasSize(usable);
        assertThat(m.hw.read64(PQH_REG)).isEqualTo(m.hw.read64(PQT_REG));
        assertThat(m.hw.read32(PRS_REG)).isZero();
        send(request(PASID, 0x902_0000L, false, 0x35, true));
        assertThat(m.pageRequests).hasSize(usable + 1);
        assertThat(descriptorAt(usable * 32L)[1] & ~0xFFFL).as("written in the last slot, PQT wraps to 0").isEqualTo(0x902_0000L);
        assertThat(m.hw.read64(PQT_REG)).isZero();
    }

    @Test
    void pageRequestWithPreClearIsRecordedAsSct8AndAnsweredInvalid() {
        m.driver.probeDevice(DEV, 8);
        m.driver.attach(DEV, PASID, m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT));
        send(new PageRequestMessage(SID, PASID, 0x4_5000L, true, false, false, true, 0x11, true));
        assertThat(m.hw.read64(PQT_REG)).as("not queued").isZero();
        assertThat(m.pageRequests).isEmpty();
        assertThat(responses).containsExactly(new PageResponseMessage(SID, PASID, 0x11, PageResponseCode.INVALID_REQUEST));
        // FRCD: FI = page, SID, T2=1 T1=0 (page request), PRIV from PMR, PP, FR=0x47, PV.
        long high = SID | 1L << 28 | 1L << 29 | 1L << 31 | 0x47L << 32 | (long) PASID << 40;
        assertThat(m.frcdLow(0)).isEqualTo(0x4_5000L);
        assertThat(m.frcdHigh(0)).as("F cleared by the driver").isEqualTo(high);
        assertThat(m.reported).hasSize(1);
        assertThat(m.reported.get(0).record().name()).isEqualTo("SCT.8");
        assertThat(m.reported.get(0).record().words()).containsExactly(0x4_5000L, high | 1L << 63);
        assertThat(m.reported.get(0).reason()).isEqualTo(FaultReason.UNSUPPORTED_REQUEST);
        // A request that is not the last of its group gets no response.
        send(request(PASID, 0x6000, false, 0x12, false));
        assertThat(responses).hasSize(1);
        assertThat(m.reported).hasSize(2);
    }

    @Test
    void preWithoutDteIsAnInvalidContextEntry() {
        m.driver.probeDevice(DEV, 8);
        m.driver.attach(DEV, Pasid.NONE, m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT));
        long ce = m.contextEntryAddress(SID);
        m.memory.write64(ce, m.memory.read64(ce) | 1L << 4);
        m.submit(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, SID, 0));
        assertThat(m.dma(SID, Pasid.NONE, 0x1000, dev.iommukit.spi.dma.AccessType.READ).fault().record().name()).isEqualTo("SCT.4");
        send(request(Pasid.NONE, 0x1000, false, 4, true));
        assertThat(m.reported).extracting(f -> f.record().name()).containsExactly("SCT.4", "SCT.4");
        assertThat(m.reported.get(1).record().words().get(1) >>> 28 & 1).as("T2: a page request").isEqualTo(1);
        assertThat(responses).containsExactly(new PageResponseMessage(SID, Pasid.NONE, 4, PageResponseCode.INVALID_REQUEST));
    }

    @Test
    void pageRequestFromAnUnknownRequesterIsAnsweredInvalid() {
        int other = RequesterId.parse("09:00.0").value();
        m.hw.dmaPort().pageRequest(new PageRequestMessage(other, Pasid.NONE, 0x1000, true, false, false, false, 3, true));
        assertThat(m.reported).extracting(f -> f.record().name()).containsExactly("SRT.2");
        assertThat(responses).containsExactly(new PageResponseMessage(other, Pasid.NONE, 3, PageResponseCode.INVALID_REQUEST));
    }

    @Test
    void pageGroupResponsesCarryTheirCodes() {
        enabledDevice();
        send(request(PASID, 0x5000, true, 0x101, true));
        send(request(Pasid.NONE, 0x6000, false, 0x102, true));
        PageRequest withPasid = m.pageRequests.get(0);
        PageRequest withoutPasid = m.pageRequests.get(1);
        long iqt = m.hw.read64(IQT_REG);
        m.driver.respondPageRequest(withPasid, PageResponseCode.SUCCESS);
        assertThat(queuedSince(iqt).get(0)).as("type 9, PP, RC 0, RID, PASID; LPIG, PRGI")
                .containsExactly(9L | 1L << 4 | (long) SID << 16 | (long) PASID << 32, 1L << 2 | 0x101L << 3, 0L, 0L);
        iqt = m.hw.read64(IQT_REG);
        m.driver.respondPageRequest(withoutPasid, PageResponseCode.INVALID_REQUEST);
        assertThat(queuedSince(iqt).get(0)).containsExactly(9L | 1L << 12 | (long) SID << 16, 1L << 2 | 0x102L << 3, 0L, 0L);
        iqt = m.hw.read64(IQT_REG);
        m.driver.respondPageRequest(withPasid, PageResponseCode.RESPONSE_FAILURE);
        assertThat(queuedSince(iqt).get(0)[0]).as("RC 0xF").isEqualTo(9L | 1L << 4 | 0xFL << 12 | (long) SID << 16 | (long) PASID << 32);
        assertThat(responses).containsExactly(
                new PageResponseMessage(SID, PASID, 0x101, PageResponseCode.SUCCESS),
                new PageResponseMessage(SID, Pasid.NONE, 0x102, PageResponseCode.INVALID_REQUEST),
                new PageResponseMessage(SID, PASID, 0x101, PageResponseCode.RESPONSE_FAILURE));
    }

    @Test
    void linuxFailureCodeTwoIsAResponseFailure() {
        m.submit(InvalidationDescriptor.pageGroupResponse(SID, true, 9, 2, true, 0x44));
        m.submit(InvalidationDescriptor.pageGroupResponse(SID, false, 0, 0xF, true, 0x45));
        assertThat(m.hw.read32(FSTS_REG) & FSTS_IQE).isZero();
        assertThat(responses).containsExactly(new PageResponseMessage(SID, 9, 0x44, PageResponseCode.RESPONSE_FAILURE),
                new PageResponseMessage(SID, Pasid.NONE, 0x45, PageResponseCode.RESPONSE_FAILURE));
    }

    @Test
    void reservedBitsInResponseAndDeviceTlbDescriptorsAreQueueErrors() {
        long[] bad = InvalidationDescriptor.pageGroupResponse(SID, true, 9, 0, true, 0x44);
        bad[1] |= 1L << 12;
        m.submit(bad);
        assertThat(m.hw.read32(FSTS_REG) & FSTS_IQE).isNotZero();
        assertThat(m.hw.read64(IQERCD_REG) & 0xF).isEqualTo(IQEI_RESERVED_FIELD);
        assertThat(responses).isEmpty();
        // Fix the descriptor in place and clear IQE: the queue resumes at IQH.
        long slot = m.driver.invalidationQueue() + m.hw.read64(IQH_REG);
        m.memory.write64(slot + 8, bad[1] & ~(1L << 12));
        m.hw.write32(FSTS_REG, FSTS_IQE);
        assertThat(responses).hasSize(1);
        long[] devTlb = InvalidationDescriptor.deviceTlb(SID, SID, 0, 0x1000, false);
        devTlb[0] |= 1L << 21;
        m.submit(devTlb);
        assertThat(m.hw.read64(IQERCD_REG) & 0xF).isEqualTo(IQEI_RESERVED_FIELD);
        m.memory.write64(m.driver.invalidationQueue() + m.hw.read64(IQH_REG), devTlb[0] & ~(1L << 21));
        m.hw.write32(FSTS_REG, FSTS_IQE);
        long[] pDevTlb = InvalidationDescriptor.pasidDeviceTlb(SID, SID, 3, 0, false, 0x1000, false);
        pDevTlb[1] |= 1L << 5;
        m.submit(pDevTlb);
        assertThat(m.hw.read32(FSTS_REG) & FSTS_IQE).isNotZero();
        m.memory.write64(m.driver.invalidationQueue() + m.hw.read64(IQH_REG) + 8, pDevTlb[1] & ~(1L << 5));
        m.hw.write32(FSTS_REG, FSTS_IQE);
        assertThat(m.hw.read32(FSTS_REG) & FSTS_IQE).as("well-formed device-TLB invalidations complete").isZero();
        assertThat(m.hw.read64(IQH_REG)).isEqualTo(m.hw.read64(IQT_REG));
    }

    @Test
    void drainConsumesTheQueueWithFenceAndPageRequestDrain() {
        enabledDevice();
        m.hw.write32(PECTL_REG, ECTL_IM);
        send(request(PASID, 0x1000, false, 1, true));
        send(request(PASID, 0x2000, false, 2, true));
        assertThat(m.pageRequests).isEmpty();
        long iqt = m.hw.read64(IQT_REG);
        m.driver.drainPageRequests(DEV, PASID);
        assertThat(m.pageRequests).as("every request queued before the drain is reported").hasSize(2);
        assertThat(m.hw.read64(PQH_REG)).isEqualTo(m.hw.read64(PQT_REG));
        List<long[]> queued = queuedSince(iqt);
        long whole = 0x7FFF_FFFF_FFFF_F000L;
        assertThat(queued).hasSize(4);
        assertThat(queued.get(0)).as("inv_wait FN=1").containsExactly(5L | 1L << 6, 0L, 0L, 0L);
        assertThat(queued.get(1)).as("p_iotlb PASID-selective, DID 3").containsExactly(6L | 2L << 4 | 3L << 16 | (long) PASID << 32, 0L, 0L, 0L);
        assertThat(queued.get(2)).as("p_dev_tlb, whole range")
                .containsExactly(8L | (SID & 0xFL) << 12 | (long) SID << 16 | (long) PASID << 32 | (long) (SID >>> 4) << 52,
                        whole | 1L << 11, 0L, 0L);
        assertThat(queued.get(3)[0] & 0xFFFF_FFFFL).as("inv_wait SW=1 PD=1").isEqualTo(5L | 1L << 5 | 1L << 7);
        // Draining every PASID of the device: iotlb domain-selective of the RID_PASID DID, dev_tlb and p_dev_tlb G=1.
        iqt = m.hw.read64(IQT_REG);
        m.driver.drainPageRequests(DEV, Pasid.NONE);
        queued = queuedSince(iqt);
        assertThat(queued).extracting(q -> InvalidationDescriptor.type(q[0])).containsExactly(5, 2, 3, 8, 5);
        assertThat(queued.get(1)[0]).isEqualTo(2L | 2L << 4 | 2L << 16);
        assertThat(queued.get(3)[1]).as("G=1").isEqualTo(whole | 1L << 11 | 1);
    }

    @Test
    void queuedRequestInvalidatesThePageImplicitly() {
        BackendDomain[] d = enabledDevice();
        d[0].map(0x1000, 0x5000, 4096, 1, Permissions.READ_WRITE);
        d[0].map(0x2000, 0x6000, 4096, 1, Permissions.READ_WRITE);
        assertThat(m.read(SID, 0x1000)).isEqualTo(0x5000);
        assertThat(m.read(SID, 0x2000)).isEqualTo(0x6000);
        long slRoot = m.memory.read64(m.pasidEntryAddress(SID, 0)) & ~0xFFFL;
        m.memory.write64(m.leafSlot(slRoot, 4, 0x1000, 12), 0x9000 | 3);
        m.memory.write64(m.leafSlot(slRoot, 4, 0x2000, 12), 0xA000 | 3);
        assertThat(m.read(SID, 0x1000)).as("stale").isEqualTo(0x5000);
        // SL-only: iotlb page-selective in the DID for the requested page only (SPEC Table 27).
        send(request(Pasid.NONE, 0x1000, false, 1, true));
        assertThat(m.read(SID, 0x1000)).as("fresh after the implicit invalidation").isEqualTo(0x9000);
        assertThat(m.read(SID, 0x2000)).as("other pages keep their entries").isEqualTo(0x6000);
    }

    @Test
    void unmapOfAnAtsDeviceAlsoInvalidatesItsDeviceTlb() {
        BackendDomain[] d = enabledDevice();
        d[0].map(0x20_0000L, 0x40_0000L, 4096, 4, Permissions.READ);
        long iqt = m.hw.read64(IQT_REG);
        d[0].unmap(0x20_0000L, 4 * 4096);
        List<long[]> queued = queuedSince(iqt);
        assertThat(queued).extracting(q -> InvalidationDescriptor.type(q[0])).containsExactly(2, 3, 5);
        assertThat(queued.get(0)[1]).as("iotlb page, AM=2").isEqualTo(0x20_0000L | 2 | 1L << 6);
        assertThat(queued.get(1)).as("dev_tlb: SID, S=1, ADDR with the 4-page size encoding")
                .containsExactly(3L | (SID & 0xFL) << 12 | (long) SID << 32 | (long) (SID >>> 4) << 52, 0x20_1000L | 1, 0L, 0L);
        // The PASID's domain is second level too: iotlb page in its DID, then p_dev_tlb for the PASID.
        d[1].map(0x1000, 0x7000, 4096, 1, Permissions.READ);
        iqt = m.hw.read64(IQT_REG);
        d[1].unmap(0x1000, 4096);
        queued = queuedSince(iqt);
        assertThat(queued).extracting(q -> InvalidationDescriptor.type(q[0])).containsExactly(2, 8, 5);
        assertThat(queued.get(1)[0]).isEqualTo(8L | (SID & 0xFL) << 12 | (long) SID << 16 | (long) PASID << 32 | (long) (SID >>> 4) << 52);
        assertThat(queued.get(1)[1]).as("S=0: one page").isEqualTo(0x1000L);
        m.driver.disablePageRequests(DEV);
        d[0].map(0x1000, 0x7000, 4096, 1, Permissions.READ);
        iqt = m.hw.read64(IQT_REG);
        d[0].unmap(0x1000, 4096);
        assertThat(queuedSince(iqt)).extracting(q -> InvalidationDescriptor.type(q[0])).as("no device TLB once ATS is off").containsExactly(2, 5);
    }

    @Test
    void aQueueOutsideRamLosesTheDescriptorWithoutEscaping() {
        enabledDevice();
        m.hw.write32(PECTL_REG, ECTL_IM);
        m.hw.write64(PQA_REG, 0x8000_0000L | 4);
        send(request(PASID, 0x1000, false, 1, true));
        assertThat(m.hw.read64(PQT_REG)).as("PQT still advances; the write to no memory is lost").isEqualTo(0x20);
        assertThat(m.hw.read32(PRS_REG)).isEqualTo(PRS_PPR);
        assertThat(responses).isEmpty();
        // Software repairs PQA and resets the queue.
        m.hw.write64(PQA_REG, prq() | 4);
        m.hw.write64(PQH_REG, 0x20);
        m.hw.write32(PRS_REG, PRS_PPR);
        m.hw.write32(PECTL_REG, 0);
        send(request(PASID, 0x2000, false, 2, true));
        assertThat(m.pageRequests).extracting(PageRequest::pageAddress).containsExactly(0x2000L);
    }

    @Test
    void pageRequestDescriptorDecodesWhatHardwareWrote() {
        enabledDevice();
        send(new PageRequestMessage(SID, PASID, 0xFFFF_FFFF_F000L, false, true, true, true, 0x1FF, true));
        PageRequestDescriptor d = PageRequestDescriptor.decode(descriptorAt(0));
        assertThat(d.executeRequested()).isTrue();
        assertThat(d.privilegedRequested()).isTrue();
        assertThat(d.writeRequested()).isTrue();
        assertThat(d.readRequested()).isFalse();
        assertThat(d.groupIndex()).isEqualTo(0x1FF);
        assertThat(d.pageAddress()).isEqualTo(0xFFFF_FFFF_F000L);
        PageRequest r = m.pageRequests.get(0);
        assertThat(r.execute()).isTrue();
        assertThat(r.privileged()).isTrue();
        assertThat(HardwareModel.defaults().ecap().prs()).isTrue();
    }
}
