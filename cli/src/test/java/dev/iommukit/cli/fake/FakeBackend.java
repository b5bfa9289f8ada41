package dev.iommukit.cli.fake;

import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;

/**
 * A small, correct backend for the cli's own tests (never registered as a service in main
 * code): tables in simulated memory in {@link FakeFormat}, contexts per (rid, PASID) in a map,
 * faults named {@code FAKE_BLOCKED}, {@code FAKE_NOT_MAPPED} and {@code FAKE_PERMISSION}.
 * Option {@code pasidBits} limits the unit's PASID width (default 8).
 */
public final class FakeBackend implements IommuBackend {
    static final CapabilitySet CAPABILITIES = CapabilitySet.builder()
            .add(Capability.BLOCKED_DOMAIN)
            .add(Capability.IDENTITY_DOMAIN, "mechanism", "context", "atPasid", "true")
            .add(Capability.PAGING_DOMAIN, "pageSizes", "4K,2M,1G", "inputBits", "39", "outputBits", "48", "level", "single")
            .add(Capability.PASID_ATTACH, "pasidBits", "8")
            .build();
    private final String id;

    /** The backend with id {@code fake}. */
    public FakeBackend() {
        this("fake");
    }

    public FakeBackend(String id) {
        this.id = id;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String description() {
        return "Fake IOMMU for cli tests";
    }

    @Override
    public CapabilitySet capabilities() {
        return CAPABILITIES;
    }

    @Override
    public IommuUnit createUnit(UnitContext context) {
        return new FakeUnit(context);
    }
}
