package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.backend.vtd.driver.UnitOptions;
import dev.iommukit.backend.vtd.driver.VtdDriver;
import dev.iommukit.backend.vtd.hw.HardwareModel;
import dev.iommukit.backend.vtd.hw.VtdHardware;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * inv_wait with PD=1 (digest §11): it completes only after every page request the unit was
 * already processing is queued or dropped. A page request is held inside the unit by a fault
 * reporter that blocks (its structure fault raises the fault event on the sender's thread).
 */
class PageRequestDrainTest {
    @Test
    void pageRequestDrainWaitsForARequestInFlight() throws Exception {
        PhysicalMemory memory = PhysicalMemory.of(0, 1L << 30);
        PageAllocator allocator = new PageAllocator(memory, 512L << 20, 512L << 20);
        CountDownLatch inReporter = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        UnitContext ctx = new UnitContext("vtd0", memory, allocator, f -> {
            inReporter.countDown();
            try {
                release.await(20, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, r -> { }, Map.of());
        VtdHardware hw = new VtdHardware(memory, HardwareModel.defaults());
        VtdDriver driver = new VtdDriver(ctx, hw, hw.dmaPort(), UnitOptions.DEFAULTS, 48);
        hw.connectFaultEvent(driver::onFaultInterrupt);
        hw.connectPageRequestEvent(driver::onPageRequestInterrupt);
        driver.initialize();
        RequesterId dev = RequesterId.parse("00:03.0");
        driver.probeDevice(dev, 8);
        // PRE=0: the request faults (SCT.8), and the fault event holds it in the reporter.
        CompletableFuture<Void> request = CompletableFuture.runAsync(() -> hw.dmaPort().pageRequest(
                new PageRequestMessage(dev.value(), 5, 0x1000, true, false, false, false, 1, true)));
        assertThat(inReporter.await(20, TimeUnit.SECONDS)).isTrue();

        long status = allocator.allocatePage("status");
        long base = hw.read64(IQA_REG) & IQA_BASE_MASK;
        long tail = hw.read64(IQT_REG);
        long[] wait = InvalidationDescriptor.invWait(false, true, false, true, 0x5A5A, status);
        for (int i = 0; i < 4; i++) {
            memory.write64(base + tail + 8L * i, wait[i]);
        }
        AtomicReference<Thread> submitter = new AtomicReference<>();
        CompletableFuture<Void> drain = CompletableFuture.runAsync(() -> {
            submitter.set(Thread.currentThread());
            hw.write64(IQT_REG, (tail + 32) % 8192);
        });
        // Wait until the submitting thread parks on the page request engine (or, wrongly, finishes).
        while (!drain.isDone() && (submitter.get() == null || submitter.get().getState() != Thread.State.WAITING)) {
            Thread.onSpinWait();
        }
        assertThat(drain.isDone()).as("PD waits for the page request in flight").isFalse();
        assertThat(memory.read32(status)).isZero();
        release.countDown();
        drain.get(20, TimeUnit.SECONDS);
        request.get(20, TimeUnit.SECONDS);
        assertThat(memory.read32(status)).isEqualTo(0x5A5A);
        assertThat(hw.read32(FSTS_REG) & FSTS_IQE).isZero();
        allocator.free(status);
        driver.releaseDevice(dev);
        driver.close();
        assertThat(allocator.allocatedPages()).isZero();
    }
}
