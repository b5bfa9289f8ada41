package dev.iommukit.conformance;

import java.util.Locale;

/**
 * The groups of conformance rules, in report order. A rule id starts with its group's prefix
 * ({@code PAGING-3} belongs to {@link #PAGING}), so tools can group outcomes without reflection.
 */
public enum Group {
    DISCOVERY("DISC", "discovery"),
    PAGING("PAGING", "paging"),
    ISOLATION("ISOL", "isolation"),
    INVALIDATION("INVAL", "invalidation"),
    FAULTS("FAULT", "faults"),
    DOMAINS("DOMAIN", "identity-blocked"),
    BAD_INPUT("INPUT", "bad-input"),
    LIFETIMES("LIFE", "lifetimes"),
    CONCURRENCY("CONC", "concurrency"),
    AUX("AUX", "aux"),
    CONTAINER("CONT", "container"),
    SVA("SVA", "sva"),
    PAGE_REQUESTS("IOPF", "page-requests"),
    NESTING("NEST", "nesting"),
    GUEST_PASID("GPASID", "guest-pasid"),
    PASID_TABLE("PTBIND", "pasid-table");

    /** The tag name of the kit's own set-up failures (a test class that could not start). */
    public static final String SETUP = "setup";

    private final String prefix;
    private final String label;

    Group(String prefix, String label) {
        this.prefix = prefix;
        this.label = label;
    }

    /** The rule-id prefix, such as {@code PAGING}. */
    public String prefix() {
        return prefix;
    }

    /** The short lower-case name used as tag and report row, such as {@code paging}. */
    public String label() {
        return label;
    }

    /** The group label of {@code ruleId}, or {@link #SETUP} when no group has its prefix. */
    public static String labelOf(String ruleId) {
        if (ruleId != null) {
            String p = ruleId.contains("-") ? ruleId.substring(0, ruleId.indexOf('-')) : ruleId;
            for (Group g : values()) {
                if (g.prefix.equals(p.toUpperCase(Locale.ROOT))) {
                    return g.label;
                }
            }
        }
        return SETUP;
    }
}
