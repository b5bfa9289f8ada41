package dev.iommukit.conformance.nesting;

import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.nested.NestedConfig;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/** Nested configurations the kit builds from what a unit advertises, and the capability each needs. */
final class NestedConfigs {
    /** The stage-1 kinds the kit knows, in the {@code stage1} spelling of {@link Capability#NESTING}. */
    static final List<String> KNOWN_STAGE1 = List.of(VtdFirstLevelConfig.STAGE1, SmmuContextTableConfig.STAGE1);

    private NestedConfigs() {}

    static List<String> list(Optional<String> csv) {
        String s = csv.orElse("").trim();
        return s.isEmpty() ? List.of() : Arrays.stream(s.split(",")).map(String::trim).toList();
    }

    /** The stage-1 kinds the unit nests. */
    static List<String> stage1(CapabilitySet caps) {
        return caps.has(Capability.NESTING) ? list(caps.parameter(Capability.NESTING, "stage1")) : List.of();
    }

    /** The bind capability a stage-1 kind belongs to. */
    static Capability bindCapability(String stage1) {
        return stage1.equals(VtdFirstLevelConfig.STAGE1) ? Capability.GUEST_PASID_BIND : Capability.PASID_TABLE_BIND;
    }

    /** A VT-d guest first level at {@code gpa}, within what {@code caps} advertises (48-bit and SRE when nothing is). */
    static VtdFirstLevelConfig vtd(CapabilitySet caps, long gpa) {
        List<String> widths = list(caps.parameter(Capability.GUEST_PASID_BIND, "addressWidths"));
        int width = widths.contains("48") || widths.isEmpty() ? 48 : Integer.parseInt(widths.get(0));
        List<String> flags = list(caps.parameter(Capability.GUEST_PASID_BIND, "flags"));
        Set<VtdGuestPasidFlag> asked = flags.isEmpty() || flags.contains("SRE") ? Set.of(VtdGuestPasidFlag.SRE) : Set.of();
        return new VtdFirstLevelConfig(gpa, width, asked);
    }

    /** A linear SMMUv3 guest CD table at {@code gpa} of up to {@code 2^bits} CDs, within what {@code caps} advertises. */
    static SmmuContextTableConfig smmu(CapabilitySet caps, long gpa, int bits, SmmuContextTableConfig.DefaultSubstream dss) {
        int max = Integer.parseInt(caps.parameter(Capability.PASID_TABLE_BIND, "cdMaxBits").orElse(Integer.toString(bits)));
        return new SmmuContextTableConfig(gpa, SmmuContextTableConfig.Format.LINEAR, Math.min(bits, max), dss);
    }

    /** One configuration of each known kind at {@code gpa}. */
    static List<NestedConfig> everyKind(CapabilitySet caps, long gpa) {
        return List.of(vtd(caps, gpa), smmu(caps, gpa, 2, SmmuContextTableConfig.DefaultSubstream.SUBSTREAM_0));
    }

    /** A configuration the unit advertises nesting for at {@code gpa}, if any. */
    static Optional<NestedConfig> advertised(CapabilitySet caps, long gpa) {
        for (NestedConfig c : everyKind(caps, gpa)) {
            if (stage1(caps).contains(c.stage1()) && caps.has(bindCapability(c.stage1()))) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }
}
