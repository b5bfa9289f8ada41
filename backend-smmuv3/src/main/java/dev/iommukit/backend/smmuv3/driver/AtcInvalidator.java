package dev.iommukit.backend.smmuv3.driver;

import dev.iommukit.spi.domain.BackendDomain;

/**
 * Invalidates the ATCs of the ATS-enabled devices that reach a domain (CMD_ATC_INV + CMD_SYNC),
 * called by a domain after its TLB invalidation of the range completed. {@code size} 0 means
 * everything.
 */
@FunctionalInterface
interface AtcInvalidator {
    void invalidate(BackendDomain domain, long iova, long size);
}
