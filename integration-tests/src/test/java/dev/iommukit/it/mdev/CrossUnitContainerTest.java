package dev.iommukit.it.mdev;

import static dev.iommukit.it.mdev.MdevFixtures.assertClean;
import static dev.iommukit.it.mdev.MdevFixtures.pattern;
import static dev.iommukit.it.mdev.MdevFixtures.poke;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.CpuArchitecture;
import dev.iommukit.api.Device;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.it.mdev.MdevFixtures.Usage;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerInfo;
import dev.iommukit.mdev.IovaRange;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.mdev.MdevTypeSpec;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.fault.FaultReason;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * One container spanning an SMMUv3 unit and a VT-d unit: a whole device behind each, and an mdev
 * on a VT-d parent. Every MAP_DMA reaches all of them, every failure is undone on both units.
 */
class CrossUnitContainerTest {
    private static final long IOVA = 0x1_0000_0000L;
    private Machine m;
    private MdevCore bus;
    private Device smmuDevice;
    private Device vtdDevice;
    private Mdev mdev;
    private Process vmm;
    private long va;
    private Usage baseline;

    @BeforeEach
    void setUp() {
        m = Machine.builder().cpu(CpuArchitecture.X86_64).ram(0x8000_0000L, 1L << 30)
                .unit("smmu0", "smmuv3").unit("dmar0", "vtd")
                .device("smmu0", "00:03.0", 20).device("dmar0", "00:04.0", 20).device("dmar0", "00:05.0", 20).build();
        bus = new MdevCore(m);
        smmuDevice = m.device("00:03.0");
        vtdDevice = m.device("00:04.0");
        mdev = bus.registerParent(m.device("00:05.0"), List.of(new MdevTypeSpec("nic-vf", "vfio-pci", 1)))
                .create(UUID.randomUUID(), "nic-vf");
        Process warm = m.newProcess("warm-up");
        try (Container c = bus.newContainer(warm)) {
            c.attach(smmuDevice);
            c.attach(vtdDevice);
            c.attach(mdev);
        }
        warm.exit();
        vmm = m.newProcess("vmm");
        va = vmm.mmap(0x10000, Permissions.READ_WRITE);
        poke(m, vmm, va, pattern(3, 0x10000));
        baseline = Usage.of(m);
    }

    @AfterEach
    void tearDown() {
        m.close();
    }

    @Test
    void everyMappingReachesTheDevicesOfBothUnitsAndTheMdev() {
        Container c = bus.newContainer(vmm);
        c.mapDma(va, IOVA, 0x8000, Permissions.READ_WRITE);
        c.attach(smmuDevice);
        c.attach(vtdDevice);
        c.attach(mdev);
        c.mapDma(va + 0x8000, IOVA + 0x8000, 0x8000, Permissions.READ);
        assertThat(m.unit("smmu0").pagingDomains()).hasSize(1);
        assertThat(m.unit("dmar0").pagingDomains()).as("the PCI domain and the mdev's aux domain").hasSize(2);

        for (long off = 0; off < 0x10000; off += 0x1000) {
            long pa = vmm.resolve(va + off);
            assertThat(smmuDevice.translate(IOVA + off, AccessType.READ).physicalAddress()).isEqualTo(pa);
            assertThat(vtdDevice.translate(IOVA + off, AccessType.READ).physicalAddress()).isEqualTo(pa);
            assertThat(mdev.translate(IOVA + off, AccessType.READ).physicalAddress()).isEqualTo(pa);
        }
        assertThat(smmuDevice.write(IOVA + 0x10, pattern(8, 0x100)).ok()).isTrue();
        byte[] seen = new byte[0x100];
        assertThat(vtdDevice.read(IOVA + 0x10, seen).ok()).isTrue();
        assertThat(seen).as("what the SMMUv3 device wrote, the VT-d device reads").isEqualTo(pattern(8, 0x100));
        assertThat(mdev.read(IOVA + 0x10, seen).ok()).isTrue();
        assertThat(seen).isEqualTo(pattern(8, 0x100));
        assertThat(vtdDevice.translate(IOVA + 0x8000, AccessType.WRITE).fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(smmuDevice.translate(IOVA + 0x8000, AccessType.WRITE).fault().reason()).isEqualTo(FaultReason.PERMISSION);

        PagingDomain smmuDomain = (PagingDomain) smmuDevice.domain();
        PagingDomain vtdDomain = (PagingDomain) vtdDevice.domain();
        ContainerInfo info = c.info();
        assertThat(info.pageSizes()).isEqualTo(smmuDomain.pageSizes() & vtdDomain.pageSizes()).isNotZero();
        long start = Math.max(smmuDomain.apertureStart(), vtdDomain.apertureStart());
        long end = Math.min(smmuDomain.apertureEnd(), vtdDomain.apertureEnd());
        assertThat(info.iovaRanges()).containsExactly(new IovaRange(start, end));
        assertThat(info.pasidSupport()).isTrue();
        assertThat(info.pasidBits()).isEqualTo(20);

        assertThat(c.unmapDma(IOVA, 0x10000)).isEqualTo(0x10000);
        assertThat(smmuDevice.translate(IOVA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(vtdDevice.translate(IOVA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(mdev.translate(IOVA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(vmm.lockedBytes()).isZero();
        c.close();
        assertClean(m, baseline, "after close");
        assertThat(smmuDevice.domain()).isNull();
        assertThat(vtdDevice.domain()).isNull();
    }

    @Test
    void aMapDmaRefusedOnTheVtdUnitIsUndoneOnTheSmmuUnit() {
        Container c = bus.newContainer(vmm);
        c.attach(smmuDevice);
        c.attach(vtdDevice);
        PagingDomain vtdDomain = (PagingDomain) vtdDevice.domain();
        vtdDomain.map(IOVA + 0x3000, 0x8000_0000L, 0x1000, Permissions.READ);
        Usage before = Usage.of(m);
        assertThatThrownBy(() -> c.mapDma(va, IOVA, 0x4000, Permissions.READ_WRITE)).isInstanceOf(ConflictException.class);
        assertThat(((PagingDomain) smmuDevice.domain()).mappings()).as("undone on smmu0").isEmpty();
        assertThat(smmuDevice.translate(IOVA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(vtdDomain.mappings()).hasSize(1);
        assertThat(c.mappings()).isEmpty();
        assertThat(vmm.lockedBytes()).isZero();
        assertThat(m.processPagesInUse()).isEqualTo(before.processPages());
        vtdDomain.unmap(IOVA + 0x3000, 0x1000);
        c.close();
        assertClean(m, baseline, "after close");
    }

    @Test
    void theOwnerExitingFirstLeavesThePinsToTheContainer() {
        Container c = bus.newContainer(vmm);
        c.attach(smmuDevice);
        c.attach(mdev);
        c.mapDma(va, IOVA, 0x10000, Permissions.READ_WRITE);
        vmm.exit();
        assertThat(m.processPagesInUse()).as("16 pinned pages outlive the owner").isEqualTo(16);
        byte[] seen = new byte[0x10000];
        assertThat(mdev.read(IOVA, seen).ok()).isTrue();
        assertThat(seen).isEqualTo(pattern(3, 0x10000));
        assertThat(smmuDevice.read(IOVA, seen).ok()).isTrue();
        assertThat(seen).isEqualTo(pattern(3, 0x10000));
        c.close();
        assertThat(vmm.lockedBytes()).isZero();
        assertClean(m, new Usage(baseline.tablePages(), 0, 0), "after close");
    }
}
