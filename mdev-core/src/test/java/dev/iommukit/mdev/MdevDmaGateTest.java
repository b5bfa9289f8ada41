package dev.iommukit.mdev;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Withdrawing one PASID of an mdev waits for the DMA in flight with that PASID only: a DMA of the
 * mdev at another PASID may be waiting for a page response that a handler answers after a call
 * into the container.
 */
class MdevDmaGateTest {
    private static final VtdFirstLevelConfig CR3 = new VtdFirstLevelConfig(0x1000, 48, Set.of());

    @Test
    void unbindingOneGuestPasidDoesNotWaitForDmaAtAnotherPasidOfTheMdev() throws Exception {
        try (Machine machine = Machine.vtd().build()) {
            MdevCore bus = new MdevCore(machine);
            Device parentDevice = machine.device("00:04.0");
            Mdev mdev = bus.registerParent(parentDevice, List.of(new MdevTypeSpec("vgpu", "vfio-pci", 2)))
                    .create(UUID.fromString("dddddddd-0000-0000-0000-00000000000d"), "vgpu");
            Process vmm = machine.newProcess("vmm");
            Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
            c.attach(mdev);
            int guestPasid = c.allocateGuestPasid();
            c.bindGuestPasid(mdev, guestPasid, CR3);
            parentDevice.enablePageRequests();
            parentDevice.setPageResponseTimeout(Duration.ofSeconds(2));
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch go = new CountDownLatch(1);
            parentDevice.onPageRequest(request -> {
                entered.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                // the VMM resolves the fault through its container (here: looks at its mappings) and answers
                c.mappings();
                request.respond(PageResponseCode.INVALID_REQUEST);
            });
            AtomicReference<DmaResult> dma = new AtomicReference<>();
            Thread device = new Thread(() -> dma.set(mdev.read(0x1000, new byte[8])));
            device.start();
            assertThat(entered.await(10, TimeUnit.SECONDS)).as("the mdev's DMA at its own PASID waits for a page response").isTrue();
            Thread unbind = new Thread(() -> c.unbindGuestPasid(mdev, guestPasid));
            unbind.start();
            for (int i = 0; i < 10_000 && unbind.isAlive() && unbind.getState() != Thread.State.WAITING
                    && unbind.getState() != Thread.State.TIMED_WAITING; i++) {
                Thread.sleep(1);
            }
            go.countDown();
            unbind.join();
            device.join();
            assertThat(mdev.guestPasids()).isEmpty();
            assertThat(dma.get().fault().record().name())
                    .as("the handler's answer reached the DMA instead of a timeout")
                    .isEqualTo("INVALID_REQUEST");
            c.close();
        }
    }
}
