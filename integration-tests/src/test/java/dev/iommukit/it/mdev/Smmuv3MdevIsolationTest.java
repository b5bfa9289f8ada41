package dev.iommukit.it.mdev;


/** Mdev isolation on SMMUv3. */
class Smmuv3MdevIsolationTest extends MdevIsolationContract {
    @Override
    String backend() {
        return "smmuv3";
    }
}
