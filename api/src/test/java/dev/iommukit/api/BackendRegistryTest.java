package dev.iommukit.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.inject.Guice;
import com.google.inject.Injector;
import dev.iommukit.spi.error.NotFoundException;
import org.junit.jupiter.api.Test;

class BackendRegistryTest {
    @Test
    void aProviderThatFailsIsReportedByNameWithItsCauseAndTheOthersLoad() {
        BackendRegistry registry = BackendRegistry.discover();
        assertThat(registry.ids()).contains("smmuv3", "vtd");
        assertThat(registry.failures()).extracting(BackendLoadFailure::provider)
                .anySatisfy(p -> assertThat(p).contains("ExplodingBackend"))
                .anySatisfy(p -> assertThat(p).contains("NoSuchBackend"));
        assertThat(registry.failures()).filteredOn(f -> f.provider().contains("ExplodingBackend"))
                .singleElement().satisfies(f -> assertThat(f.cause()).hasMessageContaining("model firmware not found"));
    }

    @Test
    void anUnknownIdNamesTheKnownOnes() {
        assertThatThrownBy(() -> BackendRegistry.discover().require("amd-vi"))
                .isInstanceOf(NotFoundException.class).hasMessageContaining("amd-vi").hasMessageContaining("smmuv3");
    }

    @Test
    void theGuiceModuleComposesTheSamePieces() {
        Injector injector = Guice.createInjector(new IommuKitModule());
        BackendRegistry registry = injector.getInstance(BackendRegistry.class);
        assertThat(registry.ids()).contains("smmuv3", "vtd");
        try (Machine m = injector.getInstance(Machine.Builder.class).ram(0x8000_0000L, 1 << 24).unit("smmu0", "smmuv3").build()) {
            assertThat(m.unit("smmu0").backendId()).isEqualTo("smmuv3");
        }
    }
}
