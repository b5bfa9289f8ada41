package dev.iommukit.mdev;

import dev.iommukit.spi.fault.VendorFaultRecord;
import java.util.List;
import java.util.Map;

/**
 * The record of a DMA an mdev was refused before it reached the bus: the mdev has no PASID (it is
 * not attached to a container), so no request was issued and no IOMMU wrote a record.
 */
record NoPasidRecord() implements VendorFaultRecord {
    static final NoPasidRecord INSTANCE = new NoPasidRecord();

    @Override
    public String format() {
        return "iommukit-mdev";
    }

    @Override
    public String name() {
        return "NO_PASID";
    }

    @Override
    public int code() {
        return 0;
    }

    @Override
    public List<Long> words() {
        return List.of();
    }

    @Override
    public Map<String, Long> fields() {
        return Map.of();
    }
}
