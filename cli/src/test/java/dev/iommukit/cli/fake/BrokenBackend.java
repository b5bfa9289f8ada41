package dev.iommukit.cli.fake;

import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.CapabilitySet;

/** A provider that cannot be instantiated, to test how load failures are listed. */
public final class BrokenBackend implements IommuBackend {
    public BrokenBackend() {
        throw new IllegalStateException("broken on purpose");
    }

    @Override
    public String id() {
        return "broken";
    }

    @Override
    public String description() {
        return "never seen";
    }

    @Override
    public CapabilitySet capabilities() {
        return CapabilitySet.empty();
    }

    @Override
    public IommuUnit createUnit(UnitContext context) {
        throw new UnsupportedOperationException();
    }
}
