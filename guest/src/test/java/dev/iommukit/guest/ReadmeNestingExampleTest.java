package dev.iommukit.guest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.SmmuContextTableConfig.DefaultSubstream;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The README's nesting example, kept true: the same calls, with what their comments promise asserted. */
class ReadmeNestingExampleTest {
    @Test
    void nestedTranslationWithAGuestOnVtd() {
        try (Machine m = Machine.vtd().build()) {
            MdevCore bus = new MdevCore(m);
            Process vmm = m.newProcess("qemu");
            Device dev = m.device("00:03.0");
            long gva = 0x7f00_0000_0000L;
            long gpa = 0x10_0000;
            byte[] buffer = new byte[0x1000];

            Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
            c.attach(dev);
            Guest guest = Guest.create(c, 16 << 20);
            GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
            pt.map(gva, gpa, 0x1000, Permissions.READ_WRITE);
            int pasid = c.allocateGuestPasid();
            assertThat(bus.guestPasidsHeld(vmm)).isEqualTo(1);
            c.bindGuestPasid(dev, pasid, new VtdFirstLevelConfig(pt.root(), 48, Set.of()));
            assertThat(dev.read(gva, buffer, DmaAttributes.pasid(pasid)).physicalAddress()).isEqualTo(guest.hostPhysical(gpa));
            pt.unmap(gva, 0x1000);
            assertThat(dev.translate(gva, AccessType.READ, DmaAttributes.pasid(pasid)).ok()).as("not seen by the IOMMU").isTrue();
            c.invalidateGuestCaches(dev, List.of(CacheInvalidation.range(pasid, gva, 0x1000, 1, true)));
            assertThat(dev.translate(gva, AccessType.READ, DmaAttributes.pasid(pasid)).faulted()).as("until now").isTrue();
            c.close();
            assertThat(m.pasidsInUse()).isZero();
            assertThat(bus.guestPasidsHeld(vmm)).isZero();
        }
    }

    @Test
    void theSmmuVariant() {
        try (Machine m = Machine.smmuv3().build()) {
            MdevCore bus = new MdevCore(m);
            Device dev = m.device("00:03.0");
            Container c = bus.newContainer(m.newProcess("qemu"), ContainerType.TYPE1_NESTING);
            c.attach(dev);
            Guest guest = Guest.create(c, 16 << 20);
            GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
            pt.map(0x40_0000, 0x10_0000, 0x1000, Permissions.READ_WRITE);
            GuestContextTable cds = guest.newContextTable(4);
            cds.writeContextDescriptor(1, pt, 5);
            c.attachPasidTable(dev, cds.config(DefaultSubstream.TERMINATE));
            assertThat(dev.translate(0x40_0008, AccessType.READ, DmaAttributes.pasid(1)).physicalAddress())
                    .isEqualTo(guest.hostPhysical(0x10_0008));
            c.close();
        }
    }
}
