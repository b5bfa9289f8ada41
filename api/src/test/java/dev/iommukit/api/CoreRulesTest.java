package dev.iommukit.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The vendor-neutral rules of the core, checked on both built-in backends. */
class CoreRulesTest {
    private static final long RAM = 0x8000_0000L;

    private static Machine machine(String backend) {
        return Machine.preset(backend).device(backend.equals("smmuv3") ? "smmu0" : "dmar0", "00:05.0", 0).build();
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void mapChoosesTheLargestPagesAlignmentAllowsAndTranslatesEveryByte(String backend) {
        try (Machine m = machine(backend)) {
            Device dev = m.devices().get(0);
            PagingDomain d = dev.unit().newPagingDomain();
            d.map(0x1F_F000, RAM + 0x1F_F000, 0x20_2000, Permissions.READ_WRITE);
            dev.attach(d);
            for (long off = 0; off < 0x20_2000; off += 0x1000) {
                assertThat(dev.translate(0x1F_F000 + off + 8, AccessType.READ).physicalAddress()).isEqualTo(RAM + 0x1F_F008 + off);
            }
            assertThat(d.mappings()).singleElement().isEqualTo(new Mapping(0x1F_F000, 0x20_2000, RAM + 0x1F_F000, Permissions.READ_WRITE));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void overlapIsRefusedAndTheExistingMappingStays(String backend) {
        try (Machine m = machine(backend)) {
            Device dev = m.devices().get(0);
            PagingDomain d = dev.unit().newPagingDomain();
            d.map(0x10_0000, RAM, 0x2000, Permissions.READ);
            dev.attach(d);
            assertThatThrownBy(() -> d.map(0x10_1000, RAM + 0x10_0000, 0x4000, Permissions.READ_WRITE))
                    .isInstanceOf(ConflictException.class).hasMessageContaining("iova").hasMessageContaining("overlaps");
            assertThat(dev.translate(0x10_1000, AccessType.READ).physicalAddress()).isEqualTo(RAM + 0x1000);
            assertThat(dev.translate(0x10_2000, AccessType.READ).ok()).isFalse();
            assertThat(d.mappings()).hasSize(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void unmappingTheMiddleOfABlockKeepsBothEnds(String backend) {
        try (Machine m = machine(backend)) {
            Device dev = m.devices().get(0);
            PagingDomain d = dev.unit().newPagingDomain();
            d.map(0x20_0000, RAM, 0x20_0000, Permissions.READ_WRITE);
            dev.attach(d);
            assertThat(d.unmap(0x30_0000, 0x1000)).isEqualTo(0x1000);
            assertThat(dev.translate(0x30_0000, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
            assertThat(dev.translate(0x2F_F000, AccessType.READ).physicalAddress()).isEqualTo(RAM + 0xF_F000);
            assertThat(dev.translate(0x30_1000, AccessType.READ).physicalAddress()).isEqualTo(RAM + 0x10_1000);
            assertThat(d.mappings()).containsExactly(new Mapping(0x20_0000, 0x10_0000, RAM, Permissions.READ_WRITE),
                    new Mapping(0x30_1000, 0xF_F000, RAM + 0x10_1000, Permissions.READ_WRITE));
            assertThat(d.unmap(0x30_0000, 0x1000)).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void badArgumentsNameTheArgumentAndChangeNothing(String backend) {
        try (Machine m = machine(backend)) {
            Device dev = m.devices().get(0);
            PagingDomain d = dev.unit().newPagingDomain();
            long pages = m.tablePagesInUse();
            assertThatThrownBy(() -> d.map(0x1001, RAM, 0x1000, Permissions.READ)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("iova:");
            assertThatThrownBy(() -> d.map(0x1000, RAM + 1, 0x1000, Permissions.READ)).hasMessageStartingWith("pa:");
            assertThatThrownBy(() -> d.map(0x1000, RAM, 0, Permissions.READ)).hasMessageStartingWith("size:");
            assertThatThrownBy(() -> d.map(-0x1000L, RAM, 0x2000, Permissions.READ)).hasMessageStartingWith("size:").hasMessageContaining("overflows");
            assertThatThrownBy(() -> d.map(d.apertureEnd() + 1, RAM, 0x1000, Permissions.READ)).hasMessageStartingWith("iova:").hasMessageContaining("aperture");
            assertThatThrownBy(() -> d.map(0x1000, RAM, 0x1000, 0)).hasMessageStartingWith("permissions:");
            assertThatThrownBy(() -> m.device("00:1f.0")).isInstanceOf(NotFoundException.class).hasMessageStartingWith("device:");
            assertThat(d.mappings()).isEmpty();
            assertThat(m.tablePagesInUse()).isEqualTo(pages);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void attachRulesHoldForEveryBackend(String backend) {
        try (Machine m = machine(backend)) {
            Device dev = m.devices().get(0);
            PagingDomain a = dev.unit().newPagingDomain();
            PagingDomain b = dev.unit().newPagingDomain();
            dev.attach(a);
            assertThatThrownBy(() -> dev.attach(a)).isInstanceOf(ConflictException.class).hasMessageStartingWith("domain:");
            assertThatThrownBy(() -> dev.attach(b)).isInstanceOf(BusyException.class).hasMessageContaining("replace()");
            assertThatThrownBy(a::close).isInstanceOf(BusyException.class).hasMessageContaining(dev.name());
            dev.replace(b);
            assertThat(dev.domain()).isSameAs(b);
            a.close();
            assertThatThrownBy(() -> dev.replace(a)).isInstanceOf(ClosedException.class);
            assertThatThrownBy(() -> a.map(0, RAM, 0x1000, Permissions.READ)).isInstanceOf(ClosedException.class);
            assertThatThrownBy(() -> dev.attachPasid(0, b)).isInstanceOf(InvalidArgumentException.class).hasMessageContaining("PASID 0");
            assertThatThrownBy(() -> dev.attachPasid(1 << 20, b)).hasMessageStartingWith("pasid:");
            Device noPasid = m.device("00:05.0");
            assertThatThrownBy(() -> noPasid.attachPasid(1, b)).isInstanceOf(NotSupportedException.class).hasMessageContaining("PASID_ATTACH");
            assertThatThrownBy(() -> dev.detachPasid(7)).isInstanceOf(NotFoundException.class);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void aDomainOfAnotherUnitIsRefused(String backend) {
        try (Machine m = Machine.builder().ram(RAM, 1 << 26).unit("a", backend).unit("b", backend)
                .device("a", "00:03.0", 0).device("b", "00:04.0", 0).build()) {
            PagingDomain other = m.unit("b").newPagingDomain();
            assertThatThrownBy(() -> m.device("00:03.0").attach(other)).isInstanceOf(InvalidArgumentException.class)
                    .hasMessageContaining("belongs to unit b");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void faultsReachTheDeviceHandlerWithReasonAndRecord(String backend) {
        try (Machine m = machine(backend)) {
            Device dev = m.devices().get(0);
            List<Fault> seen = new ArrayList<>();
            Registration registration = dev.onFault(seen::add);
            try {
                PagingDomain d = dev.unit().newPagingDomain();
                d.map(0x1000, RAM, 0x1000, Permissions.READ);
                dev.attach(d);
                DmaResult r = dev.translate(0x1000, AccessType.WRITE);
                assertThat(r.fault().reason()).isEqualTo(FaultReason.PERMISSION);
                assertThat(seen).singleElement().satisfies(f -> {
                    assertThat(f.reason()).isEqualTo(FaultReason.PERMISSION);
                    assertThat(f.record().words()).isNotEmpty();
                    assertThat(f.pasid()).isEqualTo(Pasid.NONE);
                });
            } finally {
                registration.close();
            }
            dev.translate(0x5000, AccessType.READ);
            assertThat(seen).hasSize(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void transfersMoveBytesPageByPageAndStopAtTheFirstFault(String backend) {
        try (Machine m = machine(backend)) {
            Device dev = m.devices().get(0);
            PagingDomain d = dev.unit().newPagingDomain();
            d.map(0x1000, RAM + 0x5000, 0x1000, Permissions.READ_WRITE);
            d.map(0x2000, RAM + 0x9000, 0x1000, Permissions.READ_WRITE);
            dev.attach(d);
            byte[] data = new byte[0x1800];
            for (int i = 0; i < data.length; i++) {
                data[i] = (byte) i;
            }
            assertThat(dev.write(0x1800, data).bytesTransferred()).isEqualTo(0x1800);
            byte[] back = new byte[0x800];
            m.memory().read(RAM + 0x9000, back, 0, back.length);
            assertThat(back[0]).isEqualTo(data[0x800]);
            DmaResult partial = dev.read(0x2800, new byte[0x1000]);
            assertThat(partial.bytesTransferred()).isEqualTo(0x800);
            assertThat(partial.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
            assertThat(partial.fault().address()).isEqualTo(0x3000);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void reachableRangesFollowTheBookkeeping(String backend) {
        try (Machine m = machine(backend)) {
            Device dev = m.devices().get(0);
            PagingDomain d = dev.unit().newPagingDomain();
            d.map(0x1000, RAM, 0x3000, Permissions.READ);
            dev.attach(d);
            PagingDomain p = dev.unit().newPagingDomain();
            p.map(0x4000, RAM + 0x8000, 0x1000, Permissions.READ_WRITE);
            dev.attachPasid(5, p);
            assertThat(m.reachableRanges()).containsExactly(
                    new ReachableRange(dev.unit().name(), 0x18, Pasid.NONE, false, 0x1000, 0x3000, RAM, true, false),
                    new ReachableRange(dev.unit().name(), 0x18, 5, false, 0x4000, 0x1000, RAM + 0x8000, true, true));
            dev.detachPasid(5);
            dev.detach();
            assertThat(m.reachableRanges()).isEmpty();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void closingTheMachineReturnsEveryTablePage(String backend) {
        Machine m = machine(backend);
        Device dev = m.devices().get(0);
        PagingDomain d = dev.unit().newPagingDomain();
        d.map(0x1000, RAM, 0x40_0000, Permissions.READ_WRITE);
        dev.attach(d);
        dev.attachPasid(3, dev.unit().newPagingDomain());
        assertThat(m.tablePagesInUse()).isPositive();
        m.close();
        assertThat(m.tablePagesInUse()).isZero();
        assertThatThrownBy(() -> m.unit(dev.unit().name()).newPagingDomain()).isInstanceOf(ClosedException.class);
    }
}
