package dev.iommukit.mdev;

/** The mdev container contract on VT-d: aux domains are second-level PASID entries. */
class VtdMdevContainerTest extends MdevContainerContract {
    @Override
    String backend() {
        return "vtd";
    }
}
