package dev.iommukit.conformance.concurrency;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.PagingDomain;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.domain.Permissions;
import org.junit.jupiter.api.DisplayName;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Concurrency: DMA runs on many threads while the control path changes tables. Fixed seeds and a
 * bounded number of operations; nothing is timed. The generous timeout only turns a deadlocked
 * backend into a failure instead of a hung build.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class ConcurrencyRules extends ConformanceGroup {
    private static final int THREADS = 3;
    private static final int OPERATIONS = 200;
    private static final int SLOTS = 16;

    protected ConcurrencyRules(KitSubject subject) {
        super(subject);
    }

    private DmaStorm.Result storm(long seed) throws InterruptedException {
        PagingDomain d = newPagingDomain();
        PagingDomain stable = unit.newPagingDomain();
        long slotBase = iova(d, 0x100 * PAGE);
        long stableIova = iova(stable, 0x10 * PAGE);
        stable.map(stableIova, pa(0x1000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        devB.attach(stable);
        DmaStorm.Result r = new DmaStorm(d, devA, slotBase, SLOTS, pa(16 * MIB), devB, stableIova, pa(0x1000))
                .run(THREADS, OPERATIONS, seed);
        assertThat(r.escaped()).as("Java exceptions that escaped translate()").isEmpty();
        return r;
    }

    @Test
    @Rule(id = "CONC-1")
    @DisplayName("under concurrent DMA, a request that starts after unmap returned never reaches the old page")
    public void noStaleTranslationAfterUnmap() throws InterruptedException {
        DmaStorm.Result r = storm(0x1055_0001L);
        assertThat(r.staleHits()).as("stale translations (of %d requests)", r.requests()).isEmpty();
        assertThat(r.strayHits()).as("requests that reached a page never mapped at their IOVA").isEmpty();
    }

    @Test
    @Rule(id = "CONC-2")
    @DisplayName("under concurrent DMA and table changes, no exception escapes translate and other domains' mappings stay reachable")
    public void stableMappingsAndNoEscapes() throws InterruptedException {
        DmaStorm.Result r = storm(0x1055_0002L);
        assertThat(r.stableMisses()).as("requests to an unchanged mapping of another domain that missed").isEmpty();
        assertThat(r.strayHits()).as("requests that reached a page never mapped at their IOVA").isEmpty();
    }
}
