package dev.iommukit.conformance.reference;

import com.google.auto.service.AutoService;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * A small, correct IOMMU backend that keeps its translations in Java maps with a TLB in front:
 * the kit's proof that it passes a backend that keeps the contract. With {@link Flaw}s it turns
 * into the broken backends the kit must fail.
 */
@AutoService(IommuBackend.class)
public final class ReferenceBackend implements IommuBackend {
    static final long PAGE_SIZES = (1L << 12) | (1L << 21) | (1L << 30);
    static final int INPUT_BITS = 48;
    static final int OUTPUT_BITS = 48;
    static final int PASID_BITS = 20;
    /** Which translation level the reference backend's aux domains use (its paging domains have one level). */
    static final String AUX_LEVEL = "second";

    private final boolean full;
    private final Set<Flaw> flaws;

    private ReferenceBackend(boolean full, Set<Flaw> flaws) {
        this.full = full;
        this.flaws = flaws.isEmpty() ? EnumSet.noneOf(Flaw.class) : EnumSet.copyOf(flaws);
    }

    /** Blocked, identity (also at PASIDs), paging domains, PASID attach, aux domains, SVA of AArch64 processes and page requests;
     * its paging domains may serve as nesting parents, but it nests nothing on them (so the kit checks that refusal). */
    public ReferenceBackend() {
        this(true, Set.of());
    }

    /** The full backend with {@code flaws}. */
    public static ReferenceBackend withFlaws(Flaw... flaws) {
        return new ReferenceBackend(true, Set.of(flaws));
    }

    /** Blocked and paging domains only: no identity, no PASIDs, no aux domains, no SVA, no page requests, so the kit checks the refusal side. */
    public static ReferenceBackend minimal() {
        return new ReferenceBackend(false, Set.of());
    }

    @Override
    public String id() {
        String base = full ? "reference" : "reference-minimal";
        return flaws.isEmpty() ? base : base + "-" + flaws.stream().map(f -> f.name().toLowerCase(Locale.ROOT).replace('_', '-'))
                .collect(Collectors.joining("-"));
    }

    @Override
    public String description() {
        return "reference IOMMU for the conformance kit: maps and a TLB" + (flaws.isEmpty() ? "" : ", flawed: " + flaws);
    }

    @Override
    public CapabilitySet capabilities() {
        CapabilitySet.Builder b = CapabilitySet.builder()
                .add(Capability.BLOCKED_DOMAIN)
                .add(Capability.PAGING_DOMAIN, "pageSizes", "4K,2M,1G", "inputBits", "48", "outputBits", "48", "level", "single");
        if (full) {
            b.add(Capability.IDENTITY_DOMAIN, "mechanism", "pass-through", "atPasid", "true");
            b.add(Capability.NESTING_PARENT_DOMAIN, "pageSizes", "4K,2M,1G", "inputBits", "48", "outputBits", "48", "level", "single");
            b.add(Capability.PASID_ATTACH, "pasidBits", Integer.toString(PASID_BITS));
            b.add(Capability.AUX_DOMAIN, "level", AUX_LEVEL, "pasidBits", Integer.toString(PASID_BITS));
            b.add(Capability.SVA, "cpuFormat", ReferenceSvaDomain.CPU_FORMAT, "addressBits",
                    Integer.toString(ReferenceSvaDomain.ADDRESS_BITS), "pasidBits", Integer.toString(PASID_BITS));
            b.add(Capability.PAGE_REQUEST, "queue", "reference", "queueEntries", "4096");
            if (flaws.contains(Flaw.NESTING_OVER_ADVERTISED)) {
                b.add(Capability.NESTING, "stage1", "vtd-first-level", "stage1Formats", "x86-64-4level");
                b.add(Capability.GUEST_PASID_BIND, "addressWidths", "48", "flags", "SRE", "pasidBits", Integer.toString(PASID_BITS));
            }
        }
        return b.build();
    }

    @Override
    public IommuUnit createUnit(UnitContext context) {
        return new ReferenceUnit(context, capabilities(), flaws);
    }
}
