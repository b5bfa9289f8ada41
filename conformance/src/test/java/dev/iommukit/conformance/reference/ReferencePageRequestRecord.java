package dev.iommukit.conformance.reference;

import dev.iommukit.spi.fault.VendorFaultRecord;
import dev.iommukit.spi.iopf.PageRequestMessage;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The reference backend's page request queue entry: two words,
 * {@code rid | pasid << 16 | R << 36 | W << 37 | X << 38 | P << 39 | L << 40 | PRGI << 41} and the page address.
 */
record ReferencePageRequestRecord(long word0, long address) implements VendorFaultRecord {
    static ReferencePageRequestRecord of(PageRequestMessage m) {
        long w0 = m.rid() | (m.pasid() & 0xFFFFFL) << 16 | (m.read() ? 1L : 0) << 36 | (m.write() ? 1L : 0) << 37
                | (m.execute() ? 1L : 0) << 38 | (m.privileged() ? 1L : 0) << 39 | (m.last() ? 1L : 0) << 40
                | (long) m.groupIndex() << 41;
        return new ReferencePageRequestRecord(w0, m.pageAddress());
    }

    @Override
    public String format() {
        return "reference-page-request";
    }

    @Override
    public String name() {
        return "PAGE_REQUEST";
    }

    @Override
    public int code() {
        return 0;
    }

    @Override
    public List<Long> words() {
        return List.of(word0, address);
    }

    @Override
    public Map<String, Long> fields() {
        Map<String, Long> f = new LinkedHashMap<>();
        f.put("RID", word0 & 0xFFFF);
        f.put("PASID", (word0 >>> 16) & 0xFFFFF);
        f.put("PRGI", word0 >>> 41);
        f.put("ADDR", address);
        return f;
    }
}
