package dev.iommukit.it;

import dev.iommukit.backend.smmuv3.SmmuV3Backend;
import dev.iommukit.conformance.BackendConformanceTest;
import dev.iommukit.spi.IommuBackend;

/** The conformance kit against the SMMUv3 backend. */
class SmmuV3ConformanceTest extends BackendConformanceTest {
    @Override
    protected IommuBackend backend() {
        return new SmmuV3Backend();
    }
}
