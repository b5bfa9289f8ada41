package dev.iommukit.conformance;

import dev.iommukit.conformance.reference.ReferenceBackend;
import dev.iommukit.spi.IommuBackend;

/** The kit as a backend author uses it: the full reference backend must pass every rule. */
class ReferenceBackendConformanceTest extends BackendConformanceTest {
    @Override
    protected IommuBackend backend() {
        return new ReferenceBackend();
    }
}
