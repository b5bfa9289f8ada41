package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.backend.vtd.hw.HardwareModel;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.Test;

/** Driver initialisation (digest §1.4, §1.5, §1.9) and the structures it writes (§2-§5) as seen in registers and memory. */
class InitAndStructuresTest {
    @Test
    void providerIsFoundAndAdvertises() {
        List<IommuBackend> backends = StreamSupport.stream(ServiceLoader.load(IommuBackend.class).spliterator(), false)
                .filter(b -> b.id().equals("vtd")).collect(Collectors.toList());
        assertThat(backends).hasSize(1);
        var caps = backends.get(0).capabilities();
        assertThat(caps.parameters(Capability.IDENTITY_DOMAIN).orElseThrow()).containsEntry("mechanism", "PASID entry pass-through")
                .containsEntry("atPasid", "true");
        assertThat(caps.parameters(Capability.PAGING_DOMAIN).orElseThrow()).containsEntry("pageSizes", "4K,2M,1G")
                .containsEntry("inputBits", "48").containsEntry("outputBits", "48").containsEntry("level", "second level");
        assertThat(caps.parameter(Capability.NESTING_PARENT_DOMAIN, "level")).contains("second level");
        assertThat(caps.parameter(Capability.PASID_ATTACH, "pasidBits")).contains("20");
        assertThat(caps.has(Capability.BLOCKED_DOMAIN)).isTrue();
    }

    @Test
    void createUnitThroughTheProviderAndRefuseUnknownOptions() {
        PhysicalMemory memory = PhysicalMemory.of(0, 64L << 20);
        PageAllocator alloc = new PageAllocator(memory, 32L << 20, 32L << 20);
        IommuBackend backend = new VtdBackend();
        assertThatThrownBy(() -> backend.createUnit(new UnitContext("u", memory, alloc, f -> { }, r -> { }, Map.of("colour", "blue"))))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("colour");
        assertThatThrownBy(() -> backend.createUnit(new UnitContext("u", memory, alloc, f -> { }, r -> { }, Map.of("addressWidth", "40"))))
                .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("addressWidth");
        assertThat(alloc.allocatedPages()).isZero();
        IommuUnit unit = backend.createUnit(new UnitContext("u", memory, alloc, f -> { }, r -> { }, Map.of("pagingLevel", "first", "addressWidth", "57")));
        assertThat(unit.capabilities().parameter(Capability.PAGING_DOMAIN, "level")).contains("first level");
        assertThat(unit.capabilities().parameter(Capability.NESTING_PARENT_DOMAIN, "inputBits")).contains("57");
        assertThat(unit.registers()).containsKeys("CAP_REG", "ECAP_REG", "GSTS_REG", "RTADDR_REG");
        unit.close();
        assertThat(alloc.allocatedPages()).isZero();
    }

    @Test
    void registersAfterInitialisation() {
        try (VtdMachine m = new VtdMachine()) {
            long root = m.driver.rootTable();
            assertThat(m.hw.read32(GSTS_REG)).isEqualTo(GSTS_TES | GSTS_RTPS | GSTS_QIES);
            assertThat(m.hw.read32(GCMD_REG)).as("GCMD is write-only").isZero();
            assertThat(m.hw.read64(RTADDR_REG)).isEqualTo(root | 1L << 10);
            assertThat(m.hw.read64(IQA_REG)).isEqualTo(m.driver.invalidationQueue() | 1L << 11 | 1);
            // cc global, pc global, iotlb global, inv_wait: four 32-byte descriptors consumed.
            assertThat(m.hw.read64(IQT_REG)).isEqualTo(0x80);
            assertThat(m.hw.read64(IQH_REG)).isEqualTo(0x80);
            long iq = m.driver.invalidationQueue();
            assertThat(m.memory.read64(iq)).isEqualTo(0x11L);
            assertThat(m.memory.read64(iq + 32)).isEqualTo(0x37L);
            assertThat(m.memory.read64(iq + 64)).isEqualTo(0x12L);
            assertThat(m.memory.read64(iq + 96) & 0xFFFF_FFFFL).isEqualTo(0x25L);
            assertThat(m.hw.read32(FECTL_REG)).isZero();
            assertThat(m.hw.read32(FSTS_REG)).isZero();
            assertThat(m.driver.registers().keySet()).startsWith("VER_REG", "CAP_REG", "ECAP_REG", "GCMD_REG", "GSTS_REG", "RTADDR_REG");
            assertThat(m.driver.registers()).containsEntry("GSTS_REG", 0xC400_0000L).containsKey("FRCD_REG[7].HI");
            // root table, 2-page queue, status page, 16-page page request queue
            assertThat(m.allocator.allocatedPages()).isEqualTo(20);
        }
    }

    @Test
    void resetValuesAndCapabilities() {
        PhysicalMemory memory = PhysicalMemory.of(0, 1L << 20);
        var hw = new dev.iommukit.backend.vtd.hw.VtdHardware(memory, HardwareModel.defaults());
        assertThat(hw.read32(VER_REG)).isEqualTo(0x10);
        assertThat(hw.read32(GSTS_REG)).isZero();
        assertThat(hw.read32(FECTL_REG)).isEqualTo(ECTL_IM);
        assertThat(hw.read32(IECTL_REG)).isEqualTo(ECTL_IM);
        assertThat(hw.read64(RTADDR_REG)).isZero();
        long cap = hw.read64(CAP_REG);
        assertThat(cap & 7).as("ND").isEqualTo(6);
        assertThat(cap >>> 8 & 0x1F).as("SAGAW 39/48/57").isEqualTo(0b01110);
        assertThat(cap >>> 16 & 0x3F).as("MGAW").isEqualTo(56);
        assertThat(cap >>> 24 & 0x3FF).as("FRO").isEqualTo(0x40);
        assertThat(cap >>> 34 & 0xF).as("SLLPS").isEqualTo(3);
        assertThat(cap >>> 39 & 1).as("PSI").isEqualTo(1);
        assertThat(cap >>> 40 & 0xFF).as("NFR").isEqualTo(7);
        assertThat(cap >>> 48 & 0x3F).as("MAMV").isEqualTo(18);
        assertThat(cap >>> 56 & 1).as("FL1GP").isEqualTo(1);
        assertThat(cap >>> 60 & 1).as("FL5LP").isEqualTo(1);
        long ecap = hw.read64(ECAP_REG);
        assertThat(ecap >>> 1 & 1).as("QI").isEqualTo(1);
        assertThat(ecap >>> 6 & 1).as("PT").isEqualTo(1);
        assertThat(ecap >>> 8 & 0x3FF).as("IRO").isEqualTo(0x50);
        assertThat(ecap >>> 26 & 1).as("NEST").isEqualTo(1);
        assertThat(ecap >>> 31 & 1).as("SRS").isEqualTo(1);
        assertThat(ecap >>> 35 & 0x1F).as("PSS").isEqualTo(19);
        assertThat(ecap >>> 40 & 1).as("PASID").isEqualTo(1);
        assertThat(ecap >>> 43 & 1).as("SMTS").isEqualTo(1);
        assertThat(ecap >>> 46 & 1).as("SLTS").isEqualTo(1);
        assertThat(ecap >>> 47 & 1).as("FLTS").isEqualTo(1);
        assertThat(ecap >>> 48 & 1).as("SMPWCS").isEqualTo(1);
        assertThat(ecap >>> 49 & 1).as("RPS").isZero();
    }

    @Test
    void gcmdActsOnEdgesAndOneShots() {
        PhysicalMemory memory = PhysicalMemory.of(0, 1L << 20);
        var hw = new dev.iommukit.backend.vtd.hw.VtdHardware(memory, HardwareModel.defaults());
        hw.write64(RTADDR_REG, 0x5000 | 1L << 10);
        hw.write32(GCMD_REG, GCMD_SRTP);
        assertThat(hw.read32(GSTS_REG)).isEqualTo(GSTS_RTPS);
        hw.write32(GCMD_REG, GCMD_TE | GCMD_QIE);
        assertThat(hw.read32(GSTS_REG)).isEqualTo(GSTS_RTPS | GSTS_TES | GSTS_QIES);
        hw.write32(GCMD_REG, GCMD_TE);
        assertThat(hw.read32(GSTS_REG)).isEqualTo(GSTS_RTPS | GSTS_TES);
        // register-based invalidation is a no-op in scalable mode: ICC / IVT read back 0 at once.
        hw.write64(CCMD_REG, 1L << 63 | 1L << 61);
        assertThat(hw.read64(CCMD_REG)).as("ICC and CAIG clear, CIRG kept").isEqualTo(1L << 61);
        hw.write64(iotlb(HardwareModel.IRO), 1L << 63 | 1L << 60);
        assertThat(hw.read64(iotlb(HardwareModel.IRO))).as("IVT and IAIG clear").isEqualTo(1L << 60);
    }

    @Test
    void probeWritesRootAndContextEntries() {
        try (VtdMachine m = new VtdMachine()) {
            RequesterId low = RequesterId.parse("03:03.0");
            RequesterId high = RequesterId.parse("03:10.1");
            assertThat(m.driver.probeDevice(low, 0).pasidBits()).isZero();
            assertThat(m.driver.probeDevice(low.equals(high) ? null : high, 20).pasidBits()).isEqualTo(20);
            long root = m.driver.rootTable();
            long lower = m.memory.read64(root + 3 * 16);
            long upper = m.memory.read64(root + 3 * 16 + 8);
            assertThat(lower & 0xFFF).as("LP").isEqualTo(1);
            assertThat(upper & 0xFFF).as("UP").isEqualTo(1);
            long ceLow = (lower & ~0xFFFL) + 0x18 * 32;
            long dirLow = m.memory.read64(ceLow) & ~0xFFFL;
            assertThat(m.memory.read64(ceLow)).as("P=1, PASIDE=0, PDTS=0").isEqualTo(dirLow | 1);
            assertThat(m.memory.read64(ceLow + 8)).as("RID_PASID=0").isZero();
            long ceHigh = (upper & ~0xFFFL) + 1 * 32;
            long dirHigh = m.memory.read64(ceHigh) & ~0xFFFL;
            assertThat(m.memory.read64(ceHigh)).as("P=1, PASIDE=1, PDTS=7").isEqualTo(dirHigh | 7L << 9 | 1 << 3 | 1);
            // a 20-bit PASID directory: 2^14 entries of 8 bytes = 32 pages
            assertThat(m.allocator.liveAllocations().stream().filter(a -> a.pa() == dirHigh).findFirst().orElseThrow().bytes())
                    .isEqualTo(128 * 1024);
            m.driver.releaseDevice(low);
            m.driver.releaseDevice(high);
            assertThat(m.memory.read64(root + 48)).isZero();
            assertThat(m.memory.read64(root + 56)).isZero();
            assertThat(m.allocator.allocatedPages()).isEqualTo(20);
        }
    }

    @Test
    void attachWritesPasidEntries() {
        try (VtdMachine m = new VtdMachine()) {
            RequesterId dev = RequesterId.parse("00:02.0");
            m.driver.probeDevice(dev, 8);
            BackendDomain sl = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            m.driver.attach(dev, Pasid.NONE, sl);
            long pe = m.pasidEntryAddress(dev.value(), 0);
            long q0 = m.memory.read64(pe);
            long slptptr = q0 & ~0xFFFL;
            assertThat(q0).as("P, AW=2 (48-bit), PGTT=010").isEqualTo(slptptr | 2L << 6 | 2L << 2 | 1);
            assertThat(m.memory.read64(pe + 8)).as("DID 2, PWSNP").isEqualTo(2L | 1L << 23);
            assertThat(m.memory.read64(pe + 16)).as("SRE").isEqualTo(1L);
            long dirEntry = m.memory.read64(m.memory.read64(m.contextEntryAddress(dev.value())) & ~0xFFFL);
            assertThat(dirEntry & 0xFFF).as("PASID directory entry P").isEqualTo(1);
            assertThat(sl.info().translation()).contains("second level");
            assertThat(sl.info().apertureEnd()).isEqualTo((1L << 48) - 1);
            assertThat(sl.info().pageSizes()).isEqualTo((1L << 12) | (1L << 21) | (1L << 30));

            BackendDomain identity = m.driver.allocateDomain(DomainType.IDENTITY, DomainOptions.DEFAULT);
            m.driver.attach(dev, 5, identity);
            long pt = m.pasidEntryAddress(dev.value(), 5);
            assertThat(m.memory.read64(pt)).as("PGTT=100, AW=2").isEqualTo(4L << 6 | 2L << 2 | 1);
            assertThat(m.memory.read64(pt + 8)).as("DID 1, PWSNP").isEqualTo(1L | 1L << 23);
            BackendDomain blocked = m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT);
            m.driver.attach(dev, 5, blocked);
            for (int i = 0; i < 8; i++) {
                assertThat(m.memory.read64(pt + 8L * i)).isZero();
            }
            m.driver.attach(dev, Pasid.NONE, blocked);
            sl.free();
            m.driver.releaseDevice(dev);
        }
    }

    @Test
    void firstLevelDomainEntry() {
        try (VtdMachine m = new VtdMachine(Map.of("pagingLevel", "first"))) {
            RequesterId dev = RequesterId.parse("00:02.0");
            m.driver.probeDevice(dev, 0);
            BackendDomain fl = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            BackendDomain parent = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
            assertThat(parent.info().translation()).contains("second level");
            m.driver.attach(dev, Pasid.NONE, fl);
            long pe = m.pasidEntryAddress(dev.value(), 0);
            assertThat(m.memory.read64(pe)).as("P, PGTT=001").isEqualTo(1L << 6 | 1);
            long q2 = m.memory.read64(pe + 16);
            assertThat(q2 & 0xFFF).as("SRE, FLPM=00, WPE").isEqualTo(1L | 1L << 4);
            fl.map(0x10_0000L, 0x20_0000L, 4096, 1, Permissions.READ_WRITE);
            long pml4 = q2 & ~0xFFFL;
            long pte = m.memory.read64(m.leafSlot(pml4, 4, 0x10_0000L, 12));
            assertThat(pte).as("P, R/W, U/S, A, D").isEqualTo(0x20_0000L | 0x67);
            assertThat(m.read(dev.value(), 0x10_0010L)).isEqualTo(0x20_0010L);
            m.driver.attach(dev, Pasid.NONE, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
            fl.free();
            parent.free();
            m.driver.releaseDevice(dev);
        }
    }

    @Test
    void closeFreesEveryTablePage() {
        VtdMachine m = new VtdMachine();
        RequesterId dev = RequesterId.parse("00:02.0");
        m.driver.probeDevice(dev, 20);
        BackendDomain sl = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.driver.attach(dev, 77, sl);
        sl.map(0, 0x10_0000L, 1L << 21, 3, Permissions.READ);
        m.driver.attach(dev, 77, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        sl.free();
        m.close();
        assertThat(m.allocator.allocatedPages()).isEqualTo(m.pagesBefore);
        assertThat(m.hw.read32(GSTS_REG) & (GSTS_TES | GSTS_QIES)).isZero();
    }
}
