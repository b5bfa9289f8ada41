package dev.iommukit.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Shared virtual addressing through the core, on both backends. */
class SvaTest {
    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void aBoundDeviceReachesTheProcessMemoryAtItsVirtualAddresses(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Device a = m.devices().get(0);
            Device b = m.devices().get(1);
            Process p = m.newProcess("app");
            long va = p.mmap(0x2000, Permissions.READ_WRITE);
            m.memory().write(p.resolve(va), "cpu".getBytes(StandardCharsets.US_ASCII), 0, 3);
            int pasid = a.bindSva(p);
            assertThat(pasid).isPositive().isEqualTo(p.pasid());
            assertThat(a.bindSva(p)).as("binding twice").isEqualTo(pasid);
            assertThat(b.bindSva(p)).as("the process's PASID on every device").isEqualTo(pasid);
            byte[] seen = new byte[3];
            assertThat(a.read(va, seen, DmaAttributes.pasid(pasid)).ok()).isTrue();
            assertThat(new String(seen, StandardCharsets.US_ASCII)).isEqualTo("cpu");
            assertThat(b.write(va + 0x1000, new byte[] {42}, DmaAttributes.pasid(pasid)).physicalAddress()).isEqualTo(p.resolve(va + 0x1000));
            assertThat(a.translate(va, AccessType.READ).ok()).as("requests without PASID do not see the process").isFalse();
            for (Device d : List.of(a, b)) {
                List<ReachableRange> ranges = m.reachableRanges().stream()
                        .filter(r -> r.pasid() == pasid && r.rid() == d.rid().value()).toList();
                assertThat(ranges).as("the process's two pages, merged where physically contiguous")
                        .allSatisfy(r -> assertThat(r.iova()).isBetween(va, va + 0x1000))
                        .allSatisfy(r -> assertThat(r.pa()).isEqualTo(p.resolve(r.iova())));
                assertThat(ranges.stream().mapToLong(ReachableRange::size).sum()).isEqualTo(0x2000);
            }
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void unmapReachesTheIommuBeforeItReturns(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Device a = m.devices().get(0);
            Process p = m.newProcess("app");
            long va = p.mmap(0x2000, Permissions.READ_WRITE);
            int pasid = a.bindSva(p);
            assertThat(a.translate(va + 0x1000, AccessType.READ, DmaAttributes.pasid(pasid)).ok()).isTrue();
            p.munmap(va + 0x1000, 0x1000);
            assertThat(a.translate(va + 0x1000, AccessType.READ, DmaAttributes.pasid(pasid)).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
            assertThat(a.translate(va, AccessType.READ, DmaAttributes.pasid(pasid)).ok()).isTrue();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void afterExitThePasidFaultsQuietlyUntilUnbound(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            long baseline = m.tablePagesInUse();
            Device a = m.devices().get(0);
            List<Fault> recorded = new ArrayList<>();
            a.onFault(recorded::add);
            Process p = m.newProcess("app");
            long va = p.mmap(0x1000, Permissions.READ_WRITE);
            int pasid = a.bindSva(p);
            p.exit();
            assertThat(a.translate(va, AccessType.READ, DmaAttributes.pasid(pasid)).faulted()).isTrue();
            assertThat(recorded).as("quiet: nothing recorded").isEmpty();
            assertThat(m.pasidsInUse()).as("the PASID stays until unbind").isEqualTo(1);
            assertThatThrownBy(() -> m.devices().get(1).bindSva(p)).isInstanceOf(ClosedException.class);
            a.unbindSva(p);
            assertThat(m.pasidsInUse()).isZero();
            assertThat(m.processPagesInUse()).isZero();
            assertThat(m.tablePagesInUse()).isEqualTo(baseline);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void unadvertisedOrMismatchedBindsAreRefused(String backend) {
        String unit = backend.equals("smmuv3") ? "smmu0" : "dmar0";
        try (Machine m = Machine.preset(backend).device(unit, "00:05.0", 0).build()) {
            Process p = m.newProcess("app");
            assertThatThrownBy(() -> m.device("00:05.0").bindSva(p)).isInstanceOf(NotSupportedException.class).hasMessageContaining("SVA");
            assertThat(m.pasidsInUse()).isZero();
        }
        CpuArchitecture other = backend.equals("smmuv3") ? CpuArchitecture.X86_64 : CpuArchitecture.AARCH64;
        try (Machine m = Machine.preset(backend).cpu(other).build()) {
            Process p = m.newProcess("app");
            assertThatThrownBy(() -> m.devices().get(0).bindSva(p)).isInstanceOf(NotSupportedException.class).hasMessageContaining("page tables");
            assertThat(m.pasidsInUse()).isZero();
        }
    }
}
