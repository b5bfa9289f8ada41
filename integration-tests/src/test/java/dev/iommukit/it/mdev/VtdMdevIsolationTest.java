package dev.iommukit.it.mdev;

/** Mdev isolation on VT-d. */
class VtdMdevIsolationTest extends MdevIsolationContract {
    @Override
    String backend() {
        return "vtd";
    }
}
