package dev.iommukit.conformance;

import dev.iommukit.api.Machine;
import dev.iommukit.conformance.auxdomain.AuxRules;
import dev.iommukit.conformance.concurrency.ConcurrencyRules;
import dev.iommukit.conformance.container.ContainerRules;
import dev.iommukit.conformance.discovery.DiscoveryRules;
import dev.iommukit.conformance.domains.IdentityBlockedRules;
import dev.iommukit.conformance.faults.FaultRules;
import dev.iommukit.conformance.input.BadInputRules;
import dev.iommukit.conformance.invalidation.InvalidationRules;
import dev.iommukit.conformance.iopf.IopfRules;
import dev.iommukit.conformance.isolation.IsolationRules;
import dev.iommukit.conformance.lifetimes.LifetimeRules;
import dev.iommukit.conformance.nesting.GuestPasidRules;
import dev.iommukit.conformance.nesting.NestingRules;
import dev.iommukit.conformance.nesting.PasidTableRules;
import dev.iommukit.conformance.paging.PagingRules;
import dev.iommukit.conformance.sva.SvaRules;
import dev.iommukit.spi.IommuBackend;
import java.util.Map;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;

/**
 * The conformance kit: extend it in a backend's tests and name the backend.
 *
 * <pre>{@code
 * class MyBackendConformanceTest extends BackendConformanceTest {
 *     @Override protected IommuBackend backend() { return new MyBackend(); }
 * }
 * }</pre>
 *
 * Every rule builds fresh machines through the public API with one unit of the backend, asks
 * what the unit and its devices advertise, and checks both sides through DMA issued by devices:
 * what is advertised works, what is not is refused with {@code NOT_SUPPORTED} and changes nothing.
 * Each test names its {@link Rule} and group; each skip says why.
 */
public abstract class BackendConformanceTest {
    private KitSubject subject;

    /** The backend under test; called once per test. */
    protected abstract IommuBackend backend();

    /** Backend-specific options for the units the kit creates (none by default). */
    protected Map<String, String> unitOptions() {
        return Map.of();
    }

    /** A hook to adjust each machine before it is built (more RAM, a different table pool). */
    protected Machine.Builder customize(Machine.Builder builder) {
        return builder;
    }

    /**
     * The {@link Level#OPTIONAL} rules this backend declares it does not keep, by rule id, each
     * with the reason; those tests are skipped showing the reason. A {@link Level#REQUIRED} rule
     * cannot be waived: its test fails saying so.
     */
    protected Map<String, String> deviations() {
        return Map.of();
    }

    /** What the rule groups test: built once per test instance. */
    protected final KitSubject subject() {
        if (subject == null) {
            subject = new KitSubject(backend(), unitOptions(), this::customize, deviations());
        }
        return subject;
    }

    @Nested
    @Tag("discovery")
    @DisplayName("discovery and capabilities")
    class Discovery extends DiscoveryRules {
        Discovery() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("paging")
    @DisplayName("paging")
    class Paging extends PagingRules {
        Paging() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("isolation")
    @DisplayName("isolation")
    class Isolation extends IsolationRules {
        Isolation() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("invalidation")
    @DisplayName("invalidation")
    class Invalidation extends InvalidationRules {
        Invalidation() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("faults")
    @DisplayName("faults")
    class Faults extends FaultRules {
        Faults() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("identity-blocked")
    @DisplayName("identity and blocked domains")
    class IdentityAndBlocked extends IdentityBlockedRules {
        IdentityAndBlocked() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("bad-input")
    @DisplayName("bad input")
    class BadInput extends BadInputRules {
        BadInput() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("lifetimes")
    @DisplayName("lifetimes")
    class Lifetimes extends LifetimeRules {
        Lifetimes() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("concurrency")
    @DisplayName("concurrency")
    class Concurrency extends ConcurrencyRules {
        Concurrency() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("aux")
    @DisplayName("aux domains")
    class Aux extends AuxRules {
        Aux() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("container")
    @DisplayName("containers")
    class Containers extends ContainerRules {
        Containers() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("sva")
    @DisplayName("shared virtual addressing")
    class Sva extends SvaRules {
        Sva() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("page-requests")
    @DisplayName("I/O page faults")
    class PageRequests extends IopfRules {
        PageRequests() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("nesting")
    @DisplayName("nesting")
    class Nesting extends NestingRules {
        Nesting() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("guest-pasid")
    @DisplayName("guest PASID bind")
    class GuestPasid extends GuestPasidRules {
        GuestPasid() {
            super(BackendConformanceTest.this.subject());
        }
    }

    @Nested
    @Tag("pasid-table")
    @DisplayName("PASID-table bind")
    class PasidTable extends PasidTableRules {
        PasidTable() {
            super(BackendConformanceTest.this.subject());
        }
    }
}
