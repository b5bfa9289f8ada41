package dev.iommukit.api;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import com.google.inject.multibindings.Multibinder;
import dev.iommukit.spi.IommuBackend;
import java.util.Set;

/**
 * Guice composition of the same pieces the plain builders offer: the backends found by
 * {@link java.util.ServiceLoader} go into a {@code Set<IommuBackend>} multibinding (tests add
 * their own with {@link Multibinder}), a {@link BackendRegistry} is made from that set, and a
 * {@link Machine.Builder} is handed out already pointing at it.
 */
public final class IommuKitModule extends AbstractModule {
    @Override
    protected void configure() {
        Multibinder<IommuBackend> set = Multibinder.newSetBinder(binder(), IommuBackend.class);
        for (IommuBackend b : BackendRegistry.discover().backends()) {
            set.addBinding().toInstance(b);
        }
    }

    @Provides
    BackendRegistry registry(Set<IommuBackend> backends) {
        return BackendRegistry.of(backends.toArray(IommuBackend[]::new));
    }

    @Provides
    Machine.Builder machineBuilder(BackendRegistry registry) {
        return Machine.builder().backends(registry);
    }
}
