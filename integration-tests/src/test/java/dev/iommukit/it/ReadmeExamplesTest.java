package dev.iommukit.it;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PageRequestHandler;
import dev.iommukit.api.PendingPageRequest;
import dev.iommukit.api.Registration;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.guest.Guest;
import dev.iommukit.guest.GuestContextTable;
import dev.iommukit.guest.GuestPageTable;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.mdev.MdevParent;
import dev.iommukit.mdev.MdevTypeSpec;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** The README's examples, kept true: the same calls, with what their comments promise asserted. */
class ReadmeExamplesTest {
    @Test
    void theApiInTenLines() {
        List<Fault> faults = new ArrayList<>();
        try (Machine m = Machine.smmuv3().build()) {
            PagingDomain d = m.unit("smmu0").newPagingDomain();
            d.map(0x10_0000, 0x8000_0000L, 0x20_0000, Permissions.READ_WRITE);
            Device dev = m.device("00:03.0");
            dev.attach(d);
            DmaResult ok = dev.translate(0x10_1234, AccessType.WRITE);
            assertThat(ok.physicalAddress()).isEqualTo(0x8000_1234L);
            dev.onFault(faults::add);
            DmaResult bad = dev.translate(0x40_0000, AccessType.READ);
            assertThat(bad.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
            assertThat(faults).singleElement().satisfies(f -> assertThat(f.record().name()).isEqualTo("F_TRANSLATION"));
            d.unmap(0x10_0000, 0x1000);
            assertThat(dev.translate(0x10_0000, AccessType.READ).faulted()).isTrue();
            assertThat(dev.translate(0x10_1000, AccessType.READ).physicalAddress()).isEqualTo(0x8000_1000L);
        }
    }

    @Test
    void auxDomainsAndMediatedDevices() {
        for (Machine.Builder preset : List.of(Machine.smmuv3(), Machine.vtd())) {
            try (Machine m = preset.build()) {
                Process vmm = m.newProcess("qemu");
                long buffer = vmm.mmap(0x10000, Permissions.READ_WRITE);
                MdevCore bus = new MdevCore(m);
                MdevParent parent = bus.registerParent(m.device("00:03.0"), List.of(new MdevTypeSpec("vgpu-1", "vfio-pci", 4)));
                Mdev mdev = parent.create(UUID.randomUUID(), "vgpu-1");
                try (Container c = bus.newContainer(vmm)) {
                    c.attach(mdev);
                    c.mapDma(buffer, 0x100000, 0x10000, Permissions.READ_WRITE);
                    assertThat(mdev.write(0x100000, "hello".getBytes(StandardCharsets.US_ASCII)).ok()).isTrue();
                    byte[] seen = new byte[5];
                    m.memory().read(vmm.resolve(buffer), seen, 0, 5);
                    assertThat(new String(seen, StandardCharsets.US_ASCII)).isEqualTo("hello");
                    assertThat(mdev.pasid()).isPresent();
                }
                assertThat(m.pasidsInUse()).isZero();
                assertThat(vmm.lockedBytes()).isZero();
            }
        }
    }

    @Test
    void sharedVirtualAddressing() {
        for (Machine.Builder preset : List.of(Machine.smmuv3(), Machine.vtd())) {
            List<Fault> faults = new ArrayList<>();
            try (Machine m = preset.build()) {
                Device dev = m.device("00:03.0");
                dev.onFault(faults::add);
                byte[] data = "sva".getBytes(StandardCharsets.US_ASCII);
                Process app = m.newProcess("app");
                long va = app.mmap(0x4000, Permissions.READ_WRITE);
                int pasid = dev.bindSva(app);
                assertThat(m.device("00:04.0").bindSva(app)).isEqualTo(pasid);
                DmaResult w = dev.write(va, data, DmaAttributes.pasid(pasid));
                assertThat(w.physicalAddress()).isEqualTo(app.resolve(va));
                app.munmap(va, 0x1000);
                assertThat(dev.translate(va, AccessType.READ, DmaAttributes.pasid(pasid)).fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
                faults.clear();
                app.exit();
                assertThat(dev.translate(va + 0x1000, AccessType.READ, DmaAttributes.pasid(pasid)).faulted()).isTrue();
                assertThat(faults).as("quiet after exit").isEmpty();
                dev.unbindSva(app);
                m.device("00:04.0").unbindSva(app);
                assertThat(m.pasidsInUse()).isZero();
            }
        }
    }

    @Test
    void ioPageFaults() throws Exception {
        for (Machine.Builder preset : List.of(Machine.smmuv3(), Machine.vtd())) {
            try (Machine m = preset.build()) {
                Device dev = m.device("00:03.0");
                byte[] data = "iopf".getBytes(StandardCharsets.US_ASCII);
                Process app = m.newProcess("app");
                long va = app.mmapLazy(0x10000, Permissions.READ_WRITE);
                assertThat(app.resolve(va)).as("no page until first touch").isEqualTo(-1);
                int pasid = dev.bindSva(app);
                dev.enablePageRequests();
                List<PendingPageRequest> seen = new ArrayList<>();
                PageRequestHandler svaFaultIn = PageRequestHandler.svaFaultIn();
                Registration h = dev.onPageRequest(r -> {
                    synchronized (seen) {
                        seen.add(r);
                    }
                    svaFaultIn.onPageRequest(r);
                });
                DmaResult w = dev.write(va, data, DmaAttributes.pasid(pasid));
                assertThat(w.ok()).isTrue();
                assertThat(w.physicalAddress()).isEqualTo(app.resolve(va));
                assertThat(app.read(va, data.length)).containsExactly(data);
                assertThat(seen).hasSize(1);
                assertThat(seen.get(0).request().pageAddress()).isEqualTo(va);
                assertThat(seen.get(0).request().record().words()).isNotEmpty();
                dev.unbindSva(app);
                assertThat(m.pasidsInUse()).isZero();
                h.close();
                dev.disablePageRequests();
            }
        }
    }

    @Test
    void nestedTranslation() {
        try (Machine m = Machine.vtd().build()) {
            MdevCore bus = new MdevCore(m);
            Process vmm = m.newProcess("qemu");
            Device dev = m.device("00:03.0");
            long gva = 0x7f00_0000_0000L;
            long gpa = 0x10_0000L;
            byte[] buffer = new byte[16];
            Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
            c.attach(dev);
            Guest guest = Guest.create(c, 16 << 20);
            guest.memory().write(gpa, "nested".getBytes(StandardCharsets.US_ASCII));
            GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
            pt.map(gva, gpa, 0x1000, Permissions.READ_WRITE);
            int pasid = c.allocateGuestPasid();
            c.bindGuestPasid(dev, pasid, new VtdFirstLevelConfig(pt.root(), 48, Set.of()));
            DmaResult r = dev.read(gva, buffer, DmaAttributes.pasid(pasid));
            assertThat(r.physicalAddress()).isEqualTo(guest.hostPhysical(gpa));
            assertThat(new String(buffer, 0, 6, StandardCharsets.US_ASCII)).isEqualTo("nested");
            pt.unmap(gva, 0x1000);
            assertThat(dev.translate(gva, AccessType.READ, DmaAttributes.pasid(pasid)).ok()).as("not seen by the IOMMU ...").isTrue();
            c.invalidateGuestCaches(dev, List.of(CacheInvalidation.range(pasid, gva, 0x1000, 1, true)));
            assertThat(dev.translate(gva, AccessType.READ, DmaAttributes.pasid(pasid)).faulted()).as("... until now").isTrue();
            c.close();
            assertThat(m.pasidsInUse()).isZero();
            assertThat(dev.domain()).isNull();
        }
        try (Machine m = Machine.smmuv3().build()) {
            MdevCore bus = new MdevCore(m);
            Process vmm = m.newProcess("qemu");
            Device dev = m.device("00:03.0");
            long gva = 0x40_0000_0000L;
            long gpa = 0x10_0000L;
            Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
            c.attach(dev);
            Guest guest = Guest.create(c, 16 << 20);
            GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
            pt.map(gva, gpa, 0x1000, Permissions.READ_WRITE);
            GuestContextTable cds = guest.newContextTable(4);
            cds.writeContextDescriptor(1, pt, 7);
            c.attachPasidTable(dev, cds.config(SmmuContextTableConfig.DefaultSubstream.TERMINATE));
            assertThat(dev.translate(gva, AccessType.WRITE, DmaAttributes.pasid(1)).physicalAddress()).isEqualTo(guest.hostPhysical(gpa));
            c.close();
            assertThat(m.pasidsInUse()).isZero();
        }
    }
}
