package dev.iommukit.guest;

import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.MdevCore;

/** A machine without IOMMU units, a VMM and a nesting container: enough for a guest to write its own structures. */
final class GuestRig implements AutoCloseable {
    final Machine machine;
    final MdevCore bus;
    final Process vmm;
    final Container container;

    GuestRig() {
        machine = Machine.builder().ram(0x8000_0000L, 1L << 28).build();
        bus = new MdevCore(machine);
        vmm = machine.newProcess("vmm");
        container = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
    }

    Guest guest(long ramSize) {
        return Guest.create(container, ramSize);
    }

    @Override
    public void close() {
        machine.close();
    }
}
