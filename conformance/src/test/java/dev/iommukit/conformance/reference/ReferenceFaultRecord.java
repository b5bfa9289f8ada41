package dev.iommukit.conformance.reference;

import dev.iommukit.spi.fault.VendorFaultRecord;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** The reference backend's fault record: two words, {@code code | rid << 16 | pasid << 32} and the address. */
record ReferenceFaultRecord(String name, int code, int rid, int pasid, long address) implements VendorFaultRecord {
    @Override
    public String format() {
        return "reference-fault";
    }

    @Override
    public List<Long> words() {
        return List.of(code | (long) rid << 16 | (pasid & 0xFFFFFL) << 32, address);
    }

    @Override
    public Map<String, Long> fields() {
        Map<String, Long> f = new LinkedHashMap<>();
        f.put("CODE", (long) code);
        f.put("RID", (long) rid);
        f.put("PASID", (long) pasid);
        f.put("ADDR", address);
        return f;
    }
}
