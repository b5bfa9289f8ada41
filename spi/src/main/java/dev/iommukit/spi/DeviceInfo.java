package dev.iommukit.spi;

import dev.iommukit.spi.cap.CapabilitySet;

/**
 * What a unit can do for one device once probed: the PASID width it will honour (the smaller of
 * the device's and the unit's; 0 for none) and the device's capabilities.
 */
public record DeviceInfo(int pasidBits, CapabilitySet capabilities) {}
