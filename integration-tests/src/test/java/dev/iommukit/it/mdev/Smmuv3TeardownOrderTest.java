package dev.iommukit.it.mdev;


/** Every teardown order on SMMUv3, with an mdev on an aux domain and a whole device. */
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
