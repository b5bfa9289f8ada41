package dev.iommukit.conformance.run;

import dev.iommukit.conformance.BackendConformanceTest;
import dev.iommukit.spi.IommuBackend;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.extension.ExtendWith;

/** The kit as {@link ConformanceRunner} launches it: the backend comes from the launch's configuration. */
@DisplayName("conformance kit")
@ExtendWith(LaunchedBackendResolver.class)
public class LaunchedConformanceTest extends BackendConformanceTest {
    private final IommuBackend backend;

    public LaunchedConformanceTest(IommuBackend backend) {
        this.backend = backend;
    }

    @Override
    protected IommuBackend backend() {
        return backend;
    }
}
