package dev.iommukit.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.nested.SmmuContextTableConfig;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Rules of the vendor-neutral core for nesting and page requests found missing in review. */
class CoreReviewTest {
    @Test
    void anSvaBindIsRefusedWhileAGuestCdTableOwnsEverySubstream() {
        try (Machine m = Machine.smmuv3().build()) {
            Device dev = m.device("00:03.0");
            Unit unit = dev.unit();
            PagingDomain s2 = unit.newPagingDomain(DomainOptions.NESTING_PARENT);
            NestedDomain table = unit.newNestedDomain(s2, SmmuContextTableConfig.linear(0x4000, 4));
            dev.attach(table);
            Process p = m.newProcess("app");
            p.mmap(0x1000, Permissions.READ_WRITE);
            long tables = m.tablePagesInUse();
            assertThatThrownBy(() -> dev.bindSva(p)).isInstanceOf(BusyException.class)
                    .hasMessageContaining("has the guest CD table " + table + " attached");
            assertThat(dev.svaBindings()).isEmpty();
            assertThat(dev.pasidAttachments()).isEmpty();
            assertThat(p.pasid()).isEqualTo(-1);
            assertThat(m.pasidsInUse()).isZero();
            assertThat(m.tablePagesInUse()).isEqualTo(tables);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void closingTheMachineAnswersPageRequestsStillQueuedForTheHandlerThread(String backend) throws Exception {
        Machine m = Machine.preset(backend).build();
        Device dev = m.devices().get(0);
        PagingDomain d = dev.unit().newPagingDomain();
        dev.attach(d);
        dev.enablePageRequests();
        dev.setPageResponseTimeout(Duration.ofSeconds(2));
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        dev.onPageRequest(request -> {
            entered.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        AtomicReference<DmaResult> first = new AtomicReference<>();
        AtomicReference<DmaResult> second = new AtomicReference<>();
        Thread a = new Thread(() -> first.set(dev.read(0x1000, new byte[8])));
        a.start();
        assertThat(entered.await(10, TimeUnit.SECONDS)).as("the handler holds the first request").isTrue();
        long before = m.pageRequestQueue().nextSequence();
        Thread b = new Thread(() -> second.set(dev.read(0x2000, new byte[8])));
        b.start();
        for (int i = 0; i < 10_000 && m.pageRequestQueue().nextSequence() == before; i++) {
            Thread.sleep(1);
        }
        assertThat(m.pageRequestQueue().nextSequence()).as("the second request is queued behind the first").isGreaterThan(before);
        m.close();
        release.countDown();
        a.join();
        b.join();
        assertThat(first.get().fault().record().name()).isEqualTo("INVALID_REQUEST");
        assertThat(second.get().fault().record().name())
                .as("a request queued for the handler thread when the machine closed is answered, not left to time out")
                .isEqualTo("INVALID_REQUEST");
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void aHandlerThatFailsWithAnErrorDoesNotStopPageRequestHandlingForTheMachine(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Device dev = m.devices().get(0);
            dev.attach(dev.unit().newPagingDomain());
            dev.enablePageRequests();
            dev.setPageResponseTimeout(Duration.ofSeconds(2));
            java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
            dev.onPageRequest(request -> {
                if (calls.incrementAndGet() == 1) {
                    throw new AssertionError("a broken handler");
                }
                request.respond(PageResponseCode.INVALID_REQUEST);
            });
            assertThat(dev.read(0x1000, new byte[8]).fault().record().name())
                    .as("the request whose handler failed is answered as invalid").isEqualTo("INVALID_REQUEST");
            assertThat(dev.read(0x2000, new byte[8]).fault().record().name())
                    .as("the next request still reaches the handler").isEqualTo("INVALID_REQUEST");
            assertThat(calls).hasValue(2);
        }
    }

    @Test
    void aFaultInTheMappingForbidsPopulatesNothing() {
        try (Machine m = Machine.smmuv3().build()) {
            Process p = m.newProcess("app");
            long va = p.mmapLazy(0x2000, Permissions.READ);
            long pages = m.processPagesInUse();
            assertThat(p.faultIn(va, dev.iommukit.spi.dma.AccessType.WRITE, false)).isFalse();
            assertThat(p.faultIn(va + 0x1000, dev.iommukit.spi.dma.AccessType.READ, true)).as("no execute permission").isFalse();
            assertThat(p.resolve(va)).as("a refused write fault leaves the page unpopulated, as a CPU fault on a read-only VMA does").isEqualTo(-1);
            assertThat(p.resolve(va + 0x1000)).isEqualTo(-1);
            assertThat(m.processPagesInUse()).isEqualTo(pages);
            assertThat(p.faultIn(va, dev.iommukit.spi.dma.AccessType.READ, false)).isTrue();
            assertThat(p.resolve(va)).isNotNegative();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void detachingAPasidAnswersItsRequestsStillQueuedForTheHandlerThreadBeforeItReturns(String backend) throws Exception {
        try (Machine m = Machine.preset(backend).build()) {
            Device dev = m.devices().get(0);
            PagingDomain d = dev.unit().newPagingDomain();
            dev.attachPasid(5, d);
            dev.enablePageRequests();
            dev.setPageResponseTimeout(Duration.ofSeconds(2));
            CountDownLatch entered = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            dev.onPageRequest(request -> {
                entered.countDown();
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            AtomicReference<DmaResult> first = new AtomicReference<>();
            AtomicReference<DmaResult> second = new AtomicReference<>();
            Thread a = new Thread(() -> first.set(dev.read(0x1000, new byte[8], DmaAttributes.pasid(5))));
            a.start();
            assertThat(entered.await(10, TimeUnit.SECONDS)).as("the handler holds the first request").isTrue();
            long before = m.pageRequestQueue().nextSequence();
            Thread b = new Thread(() -> second.set(dev.read(0x2000, new byte[8], DmaAttributes.pasid(5))));
            b.start();
            for (int i = 0; i < 10_000 && m.pageRequestQueue().nextSequence() == before; i++) {
                Thread.sleep(1);
            }
            assertThat(m.pageRequestQueue().nextSequence()).as("the second request is queued behind the first").isGreaterThan(before);
            dev.detachPasid(5);
            a.join();
            b.join();
            release.countDown();
            assertThat(first.get().fault().record().name()).isEqualTo("INVALID_REQUEST");
            assertThat(second.get().fault().record().name())
                    .as("the detach answered the request queued behind the handler, so its transfer did not wait for the handler thread")
                    .isEqualTo("INVALID_REQUEST");
        }
    }

    @Test
    void aPageResponseTimeoutBeyondWhatNanosecondsHoldIsWaitingPracticallyForever() {
        try (Machine m = Machine.smmuv3().build()) {
            Device dev = m.device("00:03.0");
            dev.setPageResponseTimeout(Duration.ofSeconds(Long.MAX_VALUE));
            assertThatThrownBy(() -> dev.setPageResponseTimeout(Duration.ZERO))
                    .isInstanceOf(dev.iommukit.spi.error.InvalidArgumentException.class).hasMessageContaining("timeout");
        }
    }
}
