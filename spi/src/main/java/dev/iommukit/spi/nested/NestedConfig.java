package dev.iommukit.spi.nested;

/**
 * A guest's stage-1 configuration, typed by the architecture that walks it. Every address in it
 * is guest-physical: the nested domain's parent (stage 2) translates it, and so every fetch of a
 * guest structure.
 */
public sealed interface NestedConfig permits VtdFirstLevelConfig, SmmuContextTableConfig {
    /** The {@link dev.iommukit.spi.cap.Capability#NESTING} {@code stage1} value this configuration needs. */
    String stage1();
}
