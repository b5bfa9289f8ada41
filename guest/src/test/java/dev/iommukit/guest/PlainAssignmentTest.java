package dev.iommukit.guest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.Machine;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.spi.dma.AccessType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A guest without a vIOMMU: in a plain TYPE1 container its device's DMA addresses are GPAs. */
class PlainAssignmentTest {
    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void anAssignedDeviceDmasAtGuestPhysicalAddresses(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            MdevCore bus = new MdevCore(m);
            Container c = bus.newContainer(m.newProcess("vmm"));
            Device dev = m.device("00:03.0");
            c.attach(dev);
            Guest guest = Guest.create(c, 4L << 20);
            guest.memory().write(0x3_0000, new byte[] {1, 2, 3, 4});
            byte[] seen = new byte[4];
            assertThat(dev.read(0x3_0000, seen).physicalAddress()).isEqualTo(guest.hostPhysical(0x3_0000));
            assertThat(seen).containsExactly(1, 2, 3, 4);
            assertThat(dev.translate(4L << 20, AccessType.READ).faulted()).as("beyond the RAM").isTrue();
            guest.close();
            assertThat(dev.translate(0x3_0000, AccessType.READ).faulted()).as("RAM gone with the guest").isTrue();
            c.close();
        }
    }
}
