package dev.iommukit.api;

import dev.iommukit.spi.fault.VendorFaultRecord;
import java.util.List;
import java.util.Map;

/** The record of a DMA that translated to an address outside RAM: the bus, not the IOMMU, aborted it. */
record BusAbortRecord(long address) implements VendorFaultRecord {
    static BusAbortRecord at(long address) {
        return new BusAbortRecord(address);
    }

    @Override
    public String format() {
        return "iommukit-bus";
    }

    @Override
    public String name() {
        return "EXTERNAL_ABORT";
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
        return Map.of("address", address);
    }
}
