package dev.iommukit.backend.vtd.driver;

import dev.iommukit.spi.error.IommuException;
import java.util.Map;

/**
 * The options a VT-d unit accepts: {@code pagingLevel} ({@code second}, the default, or
 * {@code first}) picks the level of default paging domains; {@code addressWidth} (39, 48 the
 * default, or 57) the second-level width (3, 4 or 5 levels). Any other key is refused.
 */
public record UnitOptions(boolean firstLevel, int addressWidth) {
    public static final String PAGING_LEVEL = "pagingLevel";
    public static final String ADDRESS_WIDTH = "addressWidth";
    public static final UnitOptions DEFAULTS = new UnitOptions(false, 48);

    public static UnitOptions parse(Map<String, String> options) {
        boolean first = false;
        int aw = 48;
        for (Map.Entry<String, String> e : options.entrySet()) {
            switch (e.getKey()) {
                case PAGING_LEVEL -> {
                    switch (e.getValue()) {
                        case "second" -> first = false;
                        case "first" -> first = true;
                        default -> throw IommuException.invalid(PAGING_LEVEL, "must be 'second' or 'first', was '" + e.getValue() + "'");
                    }
                }
                case ADDRESS_WIDTH -> {
                    switch (e.getValue()) {
                        case "39" -> aw = 39;
                        case "48" -> aw = 48;
                        case "57" -> aw = 57;
                        default -> throw IommuException.invalid(ADDRESS_WIDTH, "must be 39, 48 or 57, was '" + e.getValue() + "'");
                    }
                }
                default -> throw IommuException.invalid(e.getKey(), "unknown option of the vtd backend; known: "
                        + PAGING_LEVEL + ", " + ADDRESS_WIDTH);
            }
        }
        return new UnitOptions(first, aw);
    }
}
