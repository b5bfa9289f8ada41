package dev.iommukit.it.mdev;

import static dev.iommukit.it.mdev.MdevFixtures.assertClean;
import static dev.iommukit.it.mdev.MdevFixtures.pattern;
import static dev.iommukit.it.mdev.MdevFixtures.peek;
import static dev.iommukit.it.mdev.MdevFixtures.poke;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.it.mdev.MdevFixtures.Usage;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.mdev.MdevParent;
import dev.iommukit.mdev.MdevTypeSpec;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.FaultReason;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Two mdevs of one parent, each in a container of its own process, on one backend's preset
 * machine: each reaches only its own pages, the parent without PASID and any other PASID reach
 * neither, and closing everything leaves nothing behind.
 */
abstract class MdevIsolationContract {
    private static final long IOVA = 0x4000_0000L;

    abstract String backend();

    @Test
    void twoMdevsOfOneParentInSeparateContainersAreIsolated() {
        try (Machine m = Machine.preset(backend()).build()) {
            MdevCore bus = new MdevCore(m);
            Device parentDevice = m.device("00:03.0");
            MdevParent parent = bus.registerParent(parentDevice, List.of(new MdevTypeSpec("vgpu-1g", "vfio-pci", 2)));
            Mdev a = parent.create(UUID.randomUUID(), "vgpu-1g");
            Mdev b = parent.create(UUID.randomUUID(), "vgpu-1g");
            Process warm = m.newProcess("warm-up");
            try (Container c = bus.newContainer(warm)) {
                c.attach(a);
            }
            warm.exit();
            Usage empty = Usage.of(m);

            Process vmA = m.newProcess("vm-a");
            Process vmB = m.newProcess("vm-b");
            long vaA = vmA.mmap(0x8000, Permissions.READ_WRITE);
            long vaB = vmB.mmap(0x8000, Permissions.READ_WRITE);
            poke(m, vmA, vaA, pattern(1, 0x8000));
            poke(m, vmB, vaB, pattern(2, 0x8000));
            Usage owners = Usage.of(m);

            // the parent keeps a domain of its own for requests without PASID, at the same IOVA
            PagingDomain own = parentDevice.unit().newPagingDomain();
            own.map(IOVA, 0x8000_0000L, 0x8000, Permissions.READ_WRITE);
            parentDevice.attach(own);

            Container cA = bus.newContainer(vmA);
            Container cB = bus.newContainer(vmB);
            cA.attach(a);
            cA.mapDma(vaA, IOVA, 0x8000, Permissions.READ_WRITE);
            cB.mapDma(vaB, IOVA, 0x8000, Permissions.READ_WRITE);
            cB.attach(b);
            int pasidA = a.pasid().getAsInt();
            int pasidB = b.pasid().getAsInt();
            assertThat(pasidA).isNotEqualTo(pasidB);

            byte[] buf = new byte[0x8000];
            assertThat(a.read(IOVA, buf).ok()).isTrue();
            assertThat(buf).isEqualTo(pattern(1, 0x8000));
            assertThat(b.read(IOVA, buf).ok()).isTrue();
            assertThat(buf).isEqualTo(pattern(2, 0x8000));
            assertThat(b.write(IOVA + 0x1000, pattern(9, 0x2000)).ok()).isTrue();
            assertThat(peek(m, vmB, vaB + 0x1000, 0x2000)).isEqualTo(pattern(9, 0x2000));
            assertThat(peek(m, vmA, vaA, 0x8000)).as("A's pages untouched by B").isEqualTo(pattern(1, 0x8000));

            for (long off = 0; off < 0x8000; off += 0x1000) {
                assertThat(a.translate(IOVA + off, AccessType.WRITE).physicalAddress()).isEqualTo(vmA.resolve(vaA + off));
                assertThat(b.translate(IOVA + off, AccessType.WRITE).physicalAddress()).isEqualTo(vmB.resolve(vaB + off));
                assertThat(parentDevice.translate(IOVA + off, AccessType.READ).physicalAddress())
                        .as("the parent without PASID reaches its own domain only").isEqualTo(0x8000_0000L + off);
            }
            int nobody = Math.max(pasidA, pasidB) + 1;
            assertThat(parentDevice.translate(IOVA, AccessType.READ, DmaAttributes.pasid(nobody)).ok()).as("a wrong PASID").isFalse();
            assertThat(m.device("00:04.0").translate(IOVA, AccessType.READ, DmaAttributes.pasid(pasidA)).ok())
                    .as("A's PASID on another device").isFalse();

            cA.close();
            assertThat(a.translate(IOVA, AccessType.READ).fault().reason()).isEqualTo(FaultReason.BLOCKED);
            assertThat(parentDevice.translate(IOVA, AccessType.READ, DmaAttributes.pasid(pasidA)).ok()).as("A's old PASID").isFalse();
            assertThat(b.read(IOVA, buf).ok()).as("B unaffected by A's teardown").isTrue();
            cB.close();
            parentDevice.detach();
            own.close();
            assertThat(vmA.lockedBytes()).isZero();
            assertThat(vmB.lockedBytes()).isZero();
            assertClean(m, owners, "after both containers closed");
            vmA.exit();
            vmB.exit();
            a.remove();
            b.remove();
            parent.unregister();
            assertClean(m, empty, "after the owners exited");
        }
    }
}
