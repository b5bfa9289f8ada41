package dev.iommukit.backend.smmuv3.driver;

import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;
import java.util.Map;
import java.util.Set;

/**
 * The unit options the SMMUv3 backend accepts: {@code streamTable} ({@code linear} or
 * {@code 2level}, default 2level with SPLIT=8), {@code granule} ({@code 4K}, {@code 16K},
 * {@code 64K}; default 4K) and {@code sidBits} (1..16, default 16). Unknown names are refused.
 */
public record DriverOptions(boolean twoLevelStreamTable, VmsaGranule granule, int sidBits) {
    public static final DriverOptions DEFAULT = new DriverOptions(true, VmsaGranule.G4K, 16);
    private static final Set<String> KNOWN = Set.of("streamTable", "granule", "sidBits");

    /** Parses {@code options}, refusing unknown names and bad values with InvalidArgumentException. */
    public static DriverOptions parse(Map<String, String> options) {
        for (String key : options.keySet()) {
            if (!KNOWN.contains(key)) {
                throw IommuException.invalid(key, "unknown smmuv3 option; known options are streamTable, granule, sidBits, pri");
            }
        }
        boolean twoLevel = switch (options.getOrDefault("streamTable", "2level")) {
            case "2level" -> true;
            case "linear" -> false;
            default -> throw IommuException.invalid("streamTable", "must be linear or 2level, was '" + options.get("streamTable") + "'");
        };
        String g = options.getOrDefault("granule", "4K");
        VmsaGranule granule = VmsaGranule.parse(g);
        if (granule == null) {
            throw IommuException.invalid("granule", "must be 4K, 16K or 64K, was '" + g + "'");
        }
        int sidBits;
        try {
            sidBits = Integer.parseInt(options.getOrDefault("sidBits", "16").trim());
        } catch (NumberFormatException e) {
            throw IommuException.invalid("sidBits", "must be an integer in 1..16, was '" + options.get("sidBits") + "'");
        }
        if (sidBits < 1 || sidBits > 16) {
            throw IommuException.invalid("sidBits", "must be in 1..16 (requester ids are 16 bits), was " + sidBits);
        }
        return new DriverOptions(twoLevel, granule, sidBits);
    }
}
