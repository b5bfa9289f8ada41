package dev.iommukit.spi.domain;

/**
 * How a paging domain is to be built. {@code nestingParent} asks for the translation level that
 * can serve as stage 2 under a guest's stage 1 (SMMUv3 stage 2; VT-d second level).
 */
public record DomainOptions(boolean nestingParent) {
    public static final DomainOptions DEFAULT = new DomainOptions(false);
    public static final DomainOptions NESTING_PARENT = new DomainOptions(true);
}
