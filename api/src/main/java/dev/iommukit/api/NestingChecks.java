package dev.iommukit.api;

import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.nested.NestedConfig;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import java.util.Arrays;
import java.util.List;

/** The vendor-neutral rules for a nested domain, checked once before any backend sees it. */
final class NestingChecks {
    private NestingChecks() {}

    static void check(Unit unit, PagingDomain parent, NestedConfig config) {
        if (parent.unit != unit) {
            throw IommuException.invalid("parent", parent + " belongs to unit " + parent.unit.name() + ", not " + unit.name());
        }
        parent.checkOpen("parent");
        if (!parent.isNestingParent()) {
            throw IommuException.invalid("parent", parent + " was not allocated as a nesting parent (DomainOptions.NESTING_PARENT)");
        }
        var caps = unit.capabilities();
        caps.require(Capability.NESTING, "unit " + unit.name() + ": nested domain");
        List<String> stage1 = list(caps.parameter(Capability.NESTING, "stage1").orElse(""));
        if (!stage1.contains(config.stage1())) {
            throw new NotSupportedException("config: unit " + unit.name() + " nests " + stage1 + " stage 1, not " + config.stage1());
        }
        if (config instanceof VtdFirstLevelConfig vtd) {
            caps.require(Capability.GUEST_PASID_BIND, "unit " + unit.name() + ": guest PASID bind");
            List<String> widths = list(caps.parameter(Capability.GUEST_PASID_BIND, "addressWidths").orElse(""));
            if (!widths.contains(Integer.toString(vtd.addressWidth()))) {
                throw new NotSupportedException("addressWidth: unit " + unit.name() + " takes guest address widths " + widths
                        + ", not " + vtd.addressWidth());
            }
            List<String> flags = list(caps.parameter(Capability.GUEST_PASID_BIND, "flags").orElse(""));
            for (VtdGuestPasidFlag f : vtd.flags()) {
                if (!flags.contains(f.name())) {
                    throw new NotSupportedException("flags: unit " + unit.name() + " honours guest PASID flags " + flags + ", not " + f);
                }
            }
        } else if (config instanceof SmmuContextTableConfig smmu) {
            caps.require(Capability.PASID_TABLE_BIND, "unit " + unit.name() + ": PASID-table bind");
            List<String> formats = list(caps.parameter(Capability.PASID_TABLE_BIND, "formats").orElse(""));
            if (!formats.contains(smmu.format().name())) {
                throw new NotSupportedException("format: unit " + unit.name() + " takes CD table formats " + formats + ", not " + smmu.format());
            }
            int max = Integer.parseInt(caps.parameter(Capability.PASID_TABLE_BIND, "cdMaxBits").orElse("0"));
            if (smmu.cdMaxBits() > max) {
                throw IommuException.invalid("cdMaxBits", smmu.cdMaxBits() + " exceeds the unit's " + max + " substream bits");
            }
        }
    }

    private static List<String> list(String csv) {
        return csv.isEmpty() ? List.of() : Arrays.stream(csv.split(",")).map(String::trim).toList();
    }
}
