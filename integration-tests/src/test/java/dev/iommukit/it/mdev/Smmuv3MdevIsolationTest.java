package dev.iommukit.it.mdev;

import org.junit.jupiter.api.Disabled;

/** Mdev isolation on SMMUv3. */
@Disabled("until smmuv3 advertises AUX_DOMAIN")
class Smmuv3MdevIsolationTest extends MdevIsolationContract {
    @Override
    String backend() {
        return "smmuv3";
    }
}
