package dev.iommukit.spi;

import dev.iommukit.spi.cap.CapabilitySet;

/**
 * A backend: the service a {@link java.util.ServiceLoader} finds, registered with
 * {@code @AutoService(IommuBackend.class)}. It names itself, advertises what its units can do,
 * and creates units. A third-party backend depends on this module alone.
 */
public interface IommuBackend {
    /** The short id users choose it by, such as {@code smmuv3} or {@code vtd}. */
    String id();

    /** One line for humans: the architecture and revision modelled. */
    String description();

    /** What every unit this backend creates advertises, with parameters. */
    CapabilitySet capabilities();

    /** Creates one IOMMU unit: its hardware half in reset state and its driver half, initialised. */
    IommuUnit createUnit(UnitContext context);
}
