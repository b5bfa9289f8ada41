package dev.iommukit.api;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.iopf.PageResponseCode;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Replacing the domain of requests without PASID drains their page requests, and only theirs. */
class RequesterDrainTest {
    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void replacingTheDomainWithoutPasidAnswersItsPendingRequestsButNotThoseOfAnSvaPasid(String backend) throws Exception {
        try (Machine m = Machine.preset(backend).build()) {
            Device dev = m.devices().get(0);
            PagingDomain first = dev.unit().newPagingDomain();
            PagingDomain second = dev.unit().newPagingDomain();
            dev.attach(first);
            Process app = m.newProcess("app");
            long va = app.mmapLazy(0x1000, Permissions.READ_WRITE);
            int pasid = dev.bindSva(app);
            dev.enablePageRequests();
            dev.setPageResponseTimeout(Duration.ofSeconds(20));
            List<PendingPageRequest> held = new CopyOnWriteArrayList<>();
            Registration handler = dev.onPageRequest(held::add);
            AtomicReference<DmaResult> withoutPasid = new AtomicReference<>();
            AtomicReference<DmaResult> atSvaPasid = new AtomicReference<>();
            Thread a = new Thread(() -> withoutPasid.set(dev.read(0x10_0000, new byte[8])));
            Thread b = new Thread(() -> atSvaPasid.set(dev.write(va, new byte[] {7}, DmaAttributes.pasid(pasid))));
            a.start();
            b.start();
            for (int i = 0; i < 10_000 && held.size() < 2; i++) {
                Thread.sleep(1);
            }
            assertThat(held).as("both requests reached the handler").hasSize(2);
            PendingPageRequest rid = held.stream().filter(p -> !p.request().hasPasid()).findFirst().orElseThrow();
            PendingPageRequest sva = held.stream().filter(p -> p.request().hasPasid()).findFirst().orElseThrow();

            dev.replace(second);
            a.join(TimeUnit.SECONDS.toMillis(10));
            assertThat(a.isAlive()).as("the DMA without PASID was answered by the drain").isFalse();
            assertThat(withoutPasid.get().fault().record().name()).isEqualTo("INVALID_REQUEST");
            assertThat(rid.respond(PageResponseCode.SUCCESS)).as("a late answer matches nothing").isFalse();
            assertThat(dev.pendingPageRequests()).as("the SVA PASID's request is untouched").containsExactly(sva);

            PageRequestHandler.svaFaultIn().onPageRequest(sva);
            assertThat(sva.isAnswered()).isTrue();
            b.join(TimeUnit.SECONDS.toMillis(10));
            assertThat(atSvaPasid.get().ok()).as("the SVA DMA completed after its own answer").isTrue();
            assertThat(app.read(va, 1)).containsExactly(7);
            handler.close();
        }
    }
}
