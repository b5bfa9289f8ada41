package dev.iommukit.it.mdev;

/** Every teardown order on VT-d, with an mdev on an aux domain and a whole device. */
class VtdTeardownOrderTest extends TeardownOrderContract {
    @Override
    String backend() {
        return "vtd";
    }

    @Override
    boolean withMdev() {
        return true;
    }
}
