package dev.iommukit.conformance;

/** How binding a conformance rule is. */
public enum Level {
    /** Every backend must keep it; a failure means the backend breaks the contract. */
    REQUIRED,
    /** Good practice a backend may deviate from for a documented reason. */
    OPTIONAL
}
