package dev.iommukit.it.mdev;

import org.junit.jupiter.api.Disabled;

/** Every teardown order on SMMUv3, with an mdev on an aux domain and a whole device. */
@Disabled("until smmuv3 advertises AUX_DOMAIN")
class Smmuv3TeardownOrderTest extends TeardownOrderContract {
    @Override
    String backend() {
        return "smmuv3";
    }

    @Override
    boolean withMdev() {
        return true;
    }
}
