package dev.iommukit.it.mdev;

/** Every teardown order on SMMUv3 for a container holding a whole device only. */
class Smmuv3WholeDeviceTeardownOrderTest extends TeardownOrderContract {
    @Override
    String backend() {
        return "smmuv3";
    }

    @Override
    boolean withMdev() {
        return false;
    }
}
