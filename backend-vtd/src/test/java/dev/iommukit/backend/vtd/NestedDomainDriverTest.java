package dev.iommukit.backend.vtd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.backend.vtd.arch.ExtendedCapabilityRegister;
import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.backend.vtd.arch.RegisterOffsets;
import dev.iommukit.backend.vtd.driver.UnitOptions;
import dev.iommukit.backend.vtd.driver.VtdDriver;
import dev.iommukit.backend.vtd.hw.HardwareModel;
import dev.iommukit.backend.vtd.hw.VtdHardware;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import dev.iommukit.backend.vtd.arch.PasidDeviceTlbDescriptor;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The driver half of guest PASID bind: what the unit advertises, and what it refuses before touching anything. */
class NestedDomainDriverTest {
    private static final RequesterId DEV = RequesterId.parse("00:03.0");

    @Test
    void advertisesNestingAndGuestPasidBindFromCapAndEcap() {
        try (VtdMachine m = new VtdMachine()) {
            var caps = m.driver.capabilities();
            assertThat(caps.parameters(Capability.NESTING).orElseThrow())
                    .containsExactly(Map.entry("stage1", "vtd-first-level"), Map.entry("stage1Formats", "x86-64-4level,x86-64-5level"));
            assertThat(caps.parameters(Capability.GUEST_PASID_BIND).orElseThrow()).containsExactly(Map.entry("addressWidths", "48,57"),
                    Map.entry("flags", "SRE,WPE"), Map.entry("pasidBits", "20"));
            assertThat(caps.has(Capability.PASID_TABLE_BIND)).isFalse();
            assertThat(caps.parameter(Capability.NESTING_PARENT_DOMAIN, "level")).contains("second level");
            assertThat(m.driver.probeDevice(DEV, 10).capabilities().parameter(Capability.GUEST_PASID_BIND, "pasidBits")).contains("10");
            assertThat(m.driver.probeDevice(RequesterId.parse("00:04.0"), 0).capabilities().has(Capability.GUEST_PASID_BIND)).isFalse();
        }
        IommuBackend vtd = ServiceLoader.load(IommuBackend.class).stream().map(ServiceLoader.Provider::get)
                .filter(b -> b.id().equals("vtd")).findFirst().orElseThrow();
        assertThat(vtd.capabilities().parameter(Capability.GUEST_PASID_BIND, "flags")).contains("SRE,WPE");
        assertThat(vtd.capabilities().parameter(Capability.NESTING, "stage1")).contains("vtd-first-level");
    }

    @Test
    void refusesWhatTheUnitCannotNest() {
        try (VtdMachine m = new VtdMachine(); VtdMachine other = new VtdMachine()) {
            m.driver.probeDevice(DEV, 10);
            BackendDomain parent = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
            VtdFirstLevelConfig ok = new VtdFirstLevelConfig(0x1000, 48, Set.of(VtdGuestPasidFlag.SRE));
            BackendDomain foreign = other.driver.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
            assertThatThrownBy(() -> m.driver.allocateNestedDomain(foreign, ok)).isInstanceOf(InvalidArgumentException.class)
                    .hasMessageContaining("parent");
            BackendDomain identity = m.driver.allocateDomain(DomainType.IDENTITY, DomainOptions.DEFAULT);
            assertThatThrownBy(() -> m.driver.allocateNestedDomain(identity, ok)).isInstanceOf(InvalidArgumentException.class)
                    .hasMessageContaining("parent");
            assertThatThrownBy(() -> m.driver.allocateNestedDomain(parent, SmmuContextTableConfig.linear(0x1000, 4)))
                    .isInstanceOf(NotSupportedException.class).hasMessageContaining("config");
            assertThatThrownBy(() -> m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(0x1000, 48,
                    Set.of(VtdGuestPasidFlag.EAFE)))).isInstanceOf(NotSupportedException.class).hasMessageContaining("EAFE");
            assertThatThrownBy(() -> m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(0x1000, 48,
                    Set.of(VtdGuestPasidFlag.PCD)))).isInstanceOf(NotSupportedException.class).hasMessageContaining("PCD");
            assertThatThrownBy(() -> m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(0x1000, 48,
                    Set.of(VtdGuestPasidFlag.WPE)))).isInstanceOf(InvalidArgumentException.class).hasMessageContaining("SRE");
            assertThatThrownBy(() -> m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(1L << 48, 48, Set.of())))
                    .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("firstLevelPointer");
            var nested = m.driver.allocateNestedDomain(parent, ok);
            assertThatThrownBy(() -> m.driver.attach(DEV, Pasid.NONE, nested)).isInstanceOf(InvalidArgumentException.class)
                    .hasMessageContaining("PASID");
            other.driver.probeDevice(DEV, 10);
            assertThatThrownBy(() -> other.driver.attach(DEV, 3, nested)).isInstanceOf(InvalidArgumentException.class)
                    .hasMessageContaining("another unit");
            assertThatThrownBy(() -> nested.map(0, 0, 4096, 1, 3)).isInstanceOf(InvalidArgumentException.class);
            assertThatThrownBy(() -> m.driver.allocateDomain(DomainType.NESTED, DomainOptions.DEFAULT))
                    .isInstanceOf(InvalidArgumentException.class);
            nested.free();
            m.driver.releaseDevice(DEV);
            parent.free();
            foreign.free();
        }
    }

    @Test
    void firstLevelParentIsRefused() {
        try (VtdMachine m = new VtdMachine(Map.of("pagingLevel", "first"))) {
            BackendDomain flDomain = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            assertThatThrownBy(() -> m.driver.allocateNestedDomain(flDomain, new VtdFirstLevelConfig(0x1000, 48, Set.of())))
                    .isInstanceOf(InvalidArgumentException.class).hasMessageContaining("parent").hasMessageContaining("second-level");
            flDomain.free();
        }
    }

    /** The default model with ECAP.NEST (bit 26) cleared. */
    private static HardwareModel withoutNest() {
        HardwareModel d = HardwareModel.defaults();
        ExtendedCapabilityRegister e = ExtendedCapabilityRegister.decode(d.ecap().encode() & ~(1L << 26));
        return new HardwareModel(d.version(), d.cap(), e, d.hostAddressWidth());
    }

    @Test
    void nestNeedsFirstAndSecondLevelTranslation() {
        HardwareModel d = HardwareModel.defaults();
        ExtendedCapabilityRegister noFl = ExtendedCapabilityRegister.decode(d.ecap().encode() & ~(1L << 47));
        assertThatThrownBy(() -> new HardwareModel(d.version(), d.cap(), noFl, d.hostAddressWidth()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NEST");
        ExtendedCapabilityRegister noSl = ExtendedCapabilityRegister.decode(d.ecap().encode() & ~(1L << 46));
        assertThatThrownBy(() -> new HardwareModel(d.version(), d.cap(), noSl, d.hostAddressWidth()))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(d.ecap().nest() && d.ecap().flts() && d.ecap().slts() && d.ecap().smts() && d.ecap().pasid()).isTrue();
    }

    @Test
    void withoutNestNothingIsAdvertisedAndPgtt011IsSpt4() {
        PhysicalMemory memory = PhysicalMemory.of(0, 1L << 30);
        PageAllocator allocator = new PageAllocator(memory, 512L << 20, 512L << 20);
        List<Fault> faults = new CopyOnWriteArrayList<>();
        HardwareModel model = withoutNest();
        VtdHardware hw = new VtdHardware(memory, model);
        VtdDriver driver = new VtdDriver(new UnitContext("vtd-nonest", memory, allocator, faults::add, r -> { }, Map.of()), hw,
                hw.dmaPort(), UnitOptions.DEFAULTS, model.hostAddressWidth());
        hw.connectFaultEvent(driver::onFaultInterrupt);
        driver.initialize();
        try {
            assertThat(driver.capabilities().has(Capability.NESTING)).isFalse();
            assertThat(driver.capabilities().has(Capability.GUEST_PASID_BIND)).isFalse();
            driver.probeDevice(DEV, 10);
            BackendDomain parent = driver.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
            assertThatThrownBy(() -> driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(0x1000, 48, Set.of())))
                    .isInstanceOf(NotSupportedException.class).hasMessageContaining("NEST");
            driver.attach(DEV, 4, parent);
            // Rewrite the PASID entry by hand as PGTT=011: the unit does not nest, SPT.4.
            long root = hw.read64(RegisterOffsets.RTADDR_REG) & ~0xFFFL;
            long ctx = (memory.read64(root + DEV.bus() * 16L) & ~0xFFFL) + (DEV.devfn() & 0x7F) * 32L;
            long table = memory.read64(memory.read64(ctx) & ~0xFFFL) & ~0xFFFL;
            long pe = table + 4 * 64L;
            long qw0 = memory.read64(pe);
            memory.write64(pe, qw0 & ~(7L << 6) | 3L << 6);
            int did = (int) (memory.read64(pe + 8) & 0xFFFF);
            TranslationOutcome out = new TranslationOutcome();
            long iqa = hw.read64(RegisterOffsets.IQA_REG) & ~0xFFFL;
            long tail = hw.read64(RegisterOffsets.IQT_REG);
            // pc_inv PASID-selective queued by hand, as software must after changing the entry.
            long[] pc = InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, did, 4);
            for (int i = 0; i < 4; i++) {
                memory.write64(iqa + tail + 8L * i, pc[i]);
            }
            hw.write64(RegisterOffsets.IQT_REG, (tail + 32) % 8192);
            hw.dmaPort().translate(DmaRequest.of(DEV.value(), 4, 0x1000, 4, AccessType.READ), out);
            assertThat(out.isTranslated()).isFalse();
            assertThat(out.fault().record().name()).isEqualTo("SPT.4");
            driver.releaseDevice(DEV);
            parent.free();
        } finally {
            driver.close();
        }
    }

    @Test
    void pasidDeviceTlbDescriptorFields() {
        long[] one = PasidDeviceTlbDescriptor.range(0x0318, 0xABCDE, 0x7654_3000L, 1);
        assertThat(one).containsExactly(8L | 0x0318L << 16 | 0xABCDEL << 32, 0x7654_3000L, 0, 0);
        assertThat(InvalidationDescriptor.type(one[0])).isEqualTo(InvalidationDescriptor.P_DEV_TLB_INV);
        assertThat(InvalidationDescriptor.pasid(one[0])).isEqualTo(0xABCDE);
        assertThat(PasidDeviceTlbDescriptor.sid(one[0])).isEqualTo(0x0318);
        // 2 pages: S=1, bit 12 clear; 8 pages: S=1, bits 13:12 set, bit 14 clear.
        assertThat(PasidDeviceTlbDescriptor.range(1, 1, 0x2000, 2)[1]).isEqualTo(0x2000L | 1L << 11);
        assertThat(PasidDeviceTlbDescriptor.range(1, 1, 0x8000, 8)[1]).isEqualTo(0x8000L | 0x3000L | 1L << 11);
        assertThat(PasidDeviceTlbDescriptor.whole(1, 1)[1]).isEqualTo(0x7FFF_FFFF_FFFF_F000L | 1L << 11);
        assertThat(PasidDeviceTlbDescriptor.sizeBit(PasidDeviceTlbDescriptor.whole(1, 1)[1])).isTrue();
        assertThatThrownBy(() -> PasidDeviceTlbDescriptor.range(1, 1, 0x1000, 2)).isInstanceOf(IllegalArgumentException.class);
    }
}
