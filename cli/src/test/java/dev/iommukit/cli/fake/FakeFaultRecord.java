package dev.iommukit.cli.fake;

import dev.iommukit.spi.fault.VendorFaultRecord;
import java.util.List;
import java.util.Map;

/** The fake backend's fault record: a name and a code, no words. */
record FakeFaultRecord(String name, int code, long address) implements VendorFaultRecord {
    @Override
    public String format() {
        return "fake";
    }

    @Override
    public List<Long> words() {
        return List.of();
    }

    @Override
    public Map<String, Long> fields() {
        return Map.of("address", address);
    }
}
