package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Caches change only through the invalidation queue (digest §1.9, §11): stale until invalidated, queue errors, unmap strictness. */
class InvalidationTest {
    private static final RequesterId DEV = RequesterId.parse("00:03.0");
    private static final int SID = DEV.value();
    private VtdMachine m = new VtdMachine();

    @AfterEach
    void close() {
        m.close();
    }

    private BackendDomain domain() {
        m.driver.probeDevice(DEV, 8);
        BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.driver.attach(DEV, Pasid.NONE, d);
        return d;
    }

    @Test
    void staleIotlbUntilPageSelectiveInvalidation() {
        BackendDomain d = domain();
        d.map(0x1000, 0x5000, 4096, 1, Permissions.READ_WRITE);
        assertThat(m.read(SID, 0x1000)).isEqualTo(0x5000);
        long slRoot = m.memory.read64(m.pasidEntryAddress(SID, 0)) & ~0xFFFL;
        long leaf = m.leafSlot(slRoot, 4, 0x1000, 12);
        m.memory.write64(leaf, 0x9000 | 3);
        assertThat(m.read(SID, 0x1000)).as("stale IOTLB entry").isEqualTo(0x5000);
        // p_iotlb page-selective leaves second-level entries alone (digest §11 table)
        m.submit(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PAGE, 2, 0, 0x1000, 0, true));
        assertThat(m.read(SID, 0x1000)).isEqualTo(0x5000);
        // iotlb page-selective in another DID does nothing either
        m.submit(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_PAGE, 3, 0x1000, 0, true));
        assertThat(m.read(SID, 0x1000)).isEqualTo(0x5000);
        m.submit(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_PAGE, 2, 0x1000, 0, true));
        assertThat(m.read(SID, 0x1000)).as("fresh after invalidation").isEqualTo(0x9000);
    }

    @Test
    void stalePasidAndContextCaches() {
        domain().map(0x1000, 0x5000, 4096, 1, Permissions.READ);
        assertThat(m.read(SID, 0x1000)).isEqualTo(0x5000);
        long pe = m.pasidEntryAddress(SID, 0);
        long q0 = m.memory.read64(pe);
        m.memory.write64(pe, q0 & ~1L);
        m.submit(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, 0, 0, false));
        assertThat(m.read(SID, 0x1000)).as("PASID cache still holds the entry").isEqualTo(0x5000);
        m.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, 2, 0));
        assertThat(m.dma(SID, Pasid.NONE, 0x1000, AccessType.READ).fault().record().name()).isEqualTo("SPT.2");
        m.memory.write64(pe, q0);
        m.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_DOMAIN, 2, 0));
        assertThat(m.read(SID, 0x1000)).isEqualTo(0x5000);

        long ce = m.contextEntryAddress(SID);
        long c0 = m.memory.read64(ce);
        m.memory.write64(ce, c0 & ~1L);
        m.submit(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_GLOBAL, 0, 0));
        assertThat(m.read(SID, 0x1000)).as("context cache still holds the entry").isEqualTo(0x5000);
        m.submit(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, SID ^ 4, 0));
        assertThat(m.read(SID, 0x1000)).as("other device").isEqualTo(0x5000);
        m.submit(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_DEVICE, 0, SID ^ 4, 1));
        assertThat(m.dma(SID, Pasid.NONE, 0x1000, AccessType.READ).fault().record().name()).as("FM=1 masks SID bit 2")
                .isEqualTo("SCT.2");
        m.memory.write64(ce, c0);
        m.invalidateAll();
    }

    @Test
    void invalidDescriptorStopsTheQueue() {
        long tail = m.hw.read64(IQT_REG);
        long[] bad = {0xF, 0, 0, 0};
        m.submit(bad, InvalidationDescriptor.invWait(false, true, false, 0x55, m.driver.invalidationQueue() + 8192 - 8));
        assertThat(m.hw.read32(FSTS_REG) & FSTS_IQE).isNotZero();
        assertThat(m.hw.read64(IQERCD_REG) & 0xF).as("IQEI invalid type").isEqualTo(IQEI_INVALID_TYPE);
        assertThat(m.hw.read64(IQH_REG)).as("IQH at the bad descriptor").isEqualTo(tail);
        assertThat(m.hw.read64(IQT_REG)).isEqualTo(tail + 64);
        // software replaces it and clears IQE: the queue resumes
        long slot = m.driver.invalidationQueue() + tail;
        long[] nop = InvalidationDescriptor.invWait(false, false, false, 0, 0);
        for (int i = 0; i < 4; i++) {
            m.memory.write64(slot + 8L * i, nop[i]);
        }
        m.hw.write32(FSTS_REG, FSTS_IQE);
        assertThat(m.hw.read64(IQH_REG)).isEqualTo(tail + 64);
        // the driver still works
        m.driver.probeDevice(DEV, 0);
        m.driver.releaseDevice(DEV);
    }

    @Test
    void reservedFieldAndMisalignedTail() {
        long[] cc = InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_GLOBAL, 0, 0, 0);
        cc[1] = 1;
        m.submit(cc);
        assertThat(m.hw.read64(IQERCD_REG) & 0xF).isEqualTo(IQEI_RESERVED_FIELD);
        long head = m.hw.read64(IQH_REG);
        m.memory.write64(m.driver.invalidationQueue() + head + 8, 0);
        m.hw.write32(FSTS_REG, FSTS_IQE);
        assertThat(m.hw.read64(IQH_REG)).isEqualTo(m.hw.read64(IQT_REG));
        m.hw.write64(IQT_REG, m.hw.read64(IQT_REG) + 16);
        assertThat(m.hw.read64(IQERCD_REG) & 0xF).isEqualTo(IQEI_TAIL_MISALIGNED);
        m.hw.write64(IQT_REG, m.hw.read64(IQH_REG));
        m.hw.write32(FSTS_REG, FSTS_IQE);
        long[] pc = InvalidationDescriptor.pasidCache(2, 0, 0);
        m.submit(pc);
        assertThat(m.hw.read64(IQERCD_REG) & 0xF).as("pc_inv G=10 is invalid").isEqualTo(IQEI_RESERVED_FIELD);
        m.hw.write64(IQT_REG, m.hw.read64(IQH_REG));
        m.hw.write32(FSTS_REG, FSTS_IQE);
    }

    @Test
    void invWaitInterruptFlagSetsIwc() {
        long status = m.driver.invalidationQueue() + 8192 - 16;
        m.submit(InvalidationDescriptor.invWait(true, true, false, 0x1234, status));
        assertThat(m.memory.read32(status)).isEqualTo(0x1234);
        assertThat(m.hw.read32(ICS_REG)).isEqualTo(ICS_IWC);
        assertThat(m.hw.read32(IECTL_REG)).as("IM=1: IP set").isEqualTo(ECTL_IM | ECTL_IP);
        m.hw.write32(ICS_REG, ICS_IWC);
        assertThat(m.hw.read32(ICS_REG)).isZero();
        assertThat(m.hw.read32(IECTL_REG)).isEqualTo(ECTL_IM);
    }

    @Test
    void unmapIsStrictForEveryPageSize() {
        BackendDomain d = domain();
        d.map(0x1000, 0x5000, 4096, 1, Permissions.READ);
        d.map(0x20_0000L, 0x80_0000L, 1L << 21, 1, Permissions.READ);
        d.map(0x4000_0000L, 0x8000_0000L, 1L << 30, 1, Permissions.READ);
        for (long a : new long[] {0x1000, 0x20_0000L, 0x20_1000L, 0x4000_0000L, 0x4010_0000L}) {
            assertThat(m.read(SID, a)).isNotEqualTo(-1);
        }
        d.unmap(0x1000, 4096);
        assertThat(m.read(SID, 0x1000)).isEqualTo(-1);
        // cutting a 2 MiB page: the cut page faults, the rest still translates
        d.unmap(0x20_1000L, 4096);
        assertThat(m.read(SID, 0x20_1000L)).isEqualTo(-1);
        assertThat(m.read(SID, 0x20_0000L)).isEqualTo(0x80_0000L);
        assertThat(m.read(SID, 0x20_2000L)).isEqualTo(0x80_2000L);
        d.unmap(0x4000_0000L, 1L << 30);
        assertThat(m.read(SID, 0x4010_0000L)).isEqualTo(-1);
        assertThat(m.reported).allSatisfy(f -> assertThat(f.record().name()).isEqualTo("SSS.2"));
    }

    @Test
    void firstLevelUnmapUsesPasidBasedInvalidation() {
        m.close();
        m = new VtdMachine(Map.of("pagingLevel", "first"));
        BackendDomain d = domain();
        m.driver.attach(DEV, 9, d);
        d.map(0x1000, 0x5000, 4096, 4, Permissions.READ);
        assertThat(m.read(SID, 0x3000)).isEqualTo(0x7000);
        assertThat(m.dma(SID, 9, 0x3000, AccessType.READ).physicalAddress()).isEqualTo(0x7000);
        long tail = m.hw.read64(IQT_REG);
        d.unmap(0x1000, 3 * 4096);
        assertThat(m.read(SID, 0x3000)).isEqualTo(-1);
        assertThat(m.dma(SID, 9, 0x3000, AccessType.READ).isTranslated()).isFalse();
        assertThat(m.read(SID, 0x4000)).isEqualTo(0x8000);
        long first = m.memory.read64(m.driver.invalidationQueue() + tail);
        assertThat(InvalidationDescriptor.type(first)).isEqualTo(InvalidationDescriptor.P_IOTLB_INV);
        assertThat(InvalidationDescriptor.granularity(first)).isEqualTo(InvalidationDescriptor.P_IOTLB_PAGE);
    }

    @Test
    void iotlbPageSelectiveDropsWholeDomainOfFirstLevelEntries() {
        m.close();
        m = new VtdMachine(Map.of("pagingLevel", "first"));
        BackendDomain d = domain();
        d.map(0x1000, 0x5000, 4096, 2, Permissions.READ);
        assertThat(m.read(SID, 0x1000)).isEqualTo(0x5000);
        assertThat(m.read(SID, 0x2000)).isEqualTo(0x6000);
        long pml4 = m.memory.read64(m.pasidEntryAddress(SID, 0) + 16) & ~0xFFFL;
        long pte2 = m.leafSlot(pml4, 4, 0x2000, 12);
        m.memory.write64(pte2, (m.memory.read64(pte2) & 0xFFF) | 0x9000);
        assertThat(m.read(SID, 0x2000)).as("stale").isEqualTo(0x6000);
        // page-selective iotlb_inv for another page of the DID still drops every FL entry of the DID (digest §11 table)
        m.submit(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_PAGE, 2, 0x1000, 0, true));
        assertThat(m.read(SID, 0x2000)).isEqualTo(0x9000);
    }

    @Test
    void releasedDeviceIsUnknownAgain() {
        domain();
        m.driver.attach(DEV, Pasid.NONE, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        m.driver.releaseDevice(DEV);
        assertThat(m.dma(SID, Pasid.NONE, 0x1000, AccessType.READ).fault().record().name()).isEqualTo("SRT.2");
    }
}
