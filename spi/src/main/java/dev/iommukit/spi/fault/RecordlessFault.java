package dev.iommukit.spi.fault;

import java.util.List;
import java.util.Map;

/**
 * The record of a fault for which no IOMMU wrote one: a request refused before it reached an
 * IOMMU, or aborted by the bus after translation. Its {@link #words()} are empty; {@code fields}
 * says what is known.
 */
public record RecordlessFault(String format, String name, Map<String, Long> fields) implements VendorFaultRecord {
    public RecordlessFault {
        fields = Map.copyOf(fields);
    }

    @Override
    public int code() {
        return 0;
    }

    @Override
    public List<Long> words() {
        return List.of();
    }
}
