package dev.iommukit.backend.vtd.driver;

import dev.iommukit.backend.vtd.arch.CapabilityRegister;
import dev.iommukit.backend.vtd.arch.ExtendedCapabilityRegister;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import java.util.ArrayList;
import java.util.List;

/**
 * What a VT-d unit advertises for nested translation, read from its CAP and ECAP: {@code NESTING}
 * with a guest first level (x86-64 4-level, and 5-level with CAP.FL5LP) and {@code
 * GUEST_PASID_BIND} with the guest address widths and the guest PASID flags the PASID entry can
 * carry on this unit (SRE needs ECAP.SRS, WPE is honoured with SRE only, EAFE needs ECAP.EAFS and
 * PCD/PWT need ECAP.MTS, which this model never reports). Nothing when ECAP.NEST is clear or its
 * prerequisites (scalable mode with PASID, FLTS and SLTS) are missing.
 */
public final class NestingCapabilities {
    private NestingCapabilities() {}

    /** Whether the unit can translate PGTT=011 PASID entries. */
    static boolean supported(ExtendedCapabilityRegister ecap) {
        return ecap.nest() && ecap.smts() && ecap.pasid() && ecap.flts() && ecap.slts();
    }

    /** The guest PASID flags honoured. */
    static List<VtdGuestPasidFlag> flags(ExtendedCapabilityRegister ecap) {
        List<VtdGuestPasidFlag> flags = new ArrayList<>();
        if (ecap.srs()) {
            flags.add(VtdGuestPasidFlag.SRE);
            flags.add(VtdGuestPasidFlag.WPE);
        }
        return flags;
    }

    /** {@code base} plus NESTING and GUEST_PASID_BIND for a unit with {@code cap}, {@code ecap} and {@code pasidBits}. */
    public static CapabilitySet add(CapabilitySet base, CapabilityRegister cap, ExtendedCapabilityRegister ecap, int pasidBits) {
        if (!supported(ecap)) {
            return base;
        }
        String formats = "x86-64-4level" + (cap.fl5lp() ? ",x86-64-5level" : "");
        String widths = "48" + (cap.fl5lp() ? ",57" : "");
        String flags = String.join(",", flags(ecap).stream().map(Enum::name).toList());
        return CapabilitySet.builder().addAll(base)
                .add(Capability.NESTING, "stage1", VtdFirstLevelConfig.STAGE1, "stage1Formats", formats)
                .add(Capability.GUEST_PASID_BIND, "addressWidths", widths, "flags", flags, "pasidBits", Integer.toString(pasidBits))
                .build();
    }

    /** The device's view: GUEST_PASID_BIND with its own PASID width, or none without PASIDs. */
    static CapabilitySet forDevice(CapabilitySet caps, int pasidBits) {
        if (!caps.has(Capability.GUEST_PASID_BIND)) {
            return caps;
        }
        if (pasidBits == 0) {
            return caps.without(Capability.GUEST_PASID_BIND);
        }
        var params = caps.parameters(Capability.GUEST_PASID_BIND).orElseThrow();
        return CapabilitySet.builder().addAll(caps)
                .add(Capability.GUEST_PASID_BIND, "addressWidths", params.get("addressWidths"), "flags", params.get("flags"),
                        "pasidBits", Integer.toString(pasidBits))
                .build();
    }
}
