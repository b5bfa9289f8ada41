package dev.iommukit.mdev;


/** The mdev container contract on SMMUv3: aux domains are stage-1 context descriptors per substream. */
class Smmuv3MdevContainerTest extends MdevContainerContract {
    @Override
    String backend() {
        return "smmuv3";
    }
}
