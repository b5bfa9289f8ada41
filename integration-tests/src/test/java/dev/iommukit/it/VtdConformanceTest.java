package dev.iommukit.it;

import dev.iommukit.backend.vtd.VtdBackend;
import dev.iommukit.conformance.BackendConformanceTest;
import dev.iommukit.spi.IommuBackend;
import java.util.Map;

/** The conformance kit against the VT-d backend. */
class VtdConformanceTest extends BackendConformanceTest {
    @Override
    protected IommuBackend backend() {
        return new VtdBackend();
    }

    /**
     * Observed on the integration branch: after a full attach / PASID attach / detach / close
     * cycle three table pages (per-device PASID structures) stay until the device is released;
     * LIFE-3 and LIFE-4 (no growth per cycle, nothing left after machine close) still hold.
     */
    @Override
    protected Map<String, String> deviations() {
        return Map.of("LIFE-7", "per-device PASID structures stay allocated until the device is released");
    }
}
