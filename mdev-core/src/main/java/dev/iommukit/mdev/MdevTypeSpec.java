package dev.iommukit.mdev;

import dev.iommukit.spi.error.IommuException;

/**
 * What a parent declares about one of its mdev types: its name (unique on the parent), the device
 * API its instances present (such as {@code vfio-pci}), and how many instances it can hold at once.
 * The name must be non-blank without {@code '/'}; {@code maxInstances} must be positive.
 */
public record MdevTypeSpec(String name, String deviceApi, int maxInstances) {
    public MdevTypeSpec {
        if (name == null || name.isBlank() || name.indexOf('/') >= 0) {
            throw IommuException.invalid("name", "an mdev type needs a non-blank name without '/', was " + (name == null ? "null" : "'" + name + "'"));
        }
        if (deviceApi == null || deviceApi.isBlank()) {
            throw IommuException.invalid("deviceApi", "an mdev type of '" + name + "' needs a non-blank device API (such as vfio-pci)");
        }
        if (maxInstances <= 0) {
            throw IommuException.invalid("maxInstances", "an mdev type holds at least one instance, was " + maxInstances + " for '" + name + "'");
        }
    }
}
