package dev.iommukit.api;

import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.CapabilitySet;

/** A provider whose constructor fails, as a backend with a missing native library would. */
public final class ExplodingBackend implements IommuBackend {
    public ExplodingBackend() {
        throw new IllegalStateException("model firmware not found");
    }

    @Override
    public String id() {
        return "exploding";
    }

    @Override
    public String description() {
        return "never loads";
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
