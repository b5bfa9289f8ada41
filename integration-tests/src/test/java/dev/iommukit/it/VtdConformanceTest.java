package dev.iommukit.it;

import dev.iommukit.backend.vtd.VtdBackend;
import dev.iommukit.conformance.BackendConformanceTest;
import dev.iommukit.spi.IommuBackend;

/** The conformance kit against the VT-d backend: every rule, none waived. */
class VtdConformanceTest extends BackendConformanceTest {
    @Override
    protected IommuBackend backend() {
        return new VtdBackend();
    }
}
