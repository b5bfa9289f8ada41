package dev.iommukit.mdev;

import org.junit.jupiter.api.Disabled;

/** The mdev container contract on SMMUv3: aux domains are stage-1 context descriptors per substream. */
@Disabled("until smmuv3 advertises AUX_DOMAIN")
class Smmuv3MdevContainerTest extends MdevContainerContract {
    @Override
    String backend() {
        return "smmuv3";
    }
}
