package dev.iommukit.backend.vtd.arch;

import dev.iommukit.spi.fault.VendorFaultRecord;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A page request descriptor (page_req_dsc, 256 bits, digest §12) as hardware writes it into the
 * page request queue at PQT. Bits (absolute): Type 7:0 (01h), PP 8, PDP 9, RID 31:16, PASID
 * 51:32, EXR 52, PMR 53, RDR 64, WRR 65, LPIG 66, PRGI 75:67, ADDR 127:76 (page address 63:12),
 * private data 255:128 (valid when PDP=1).
 */
public record PageRequestDescriptor(long qw0, long qw1, long qw2, long qw3) implements VendorFaultRecord {
    public static final String FORMAT = "vtd-prq";
    public static final int SIZE = 32;
    /** The Type of a page group request. */
    public static final int TYPE_PAGE_REQUEST = 0x01;
    /** Reserved bits of qword 0 (15:10, 63:54), written 0 by hardware; qword 1 has none. */
    public static final long QW0_RESERVED = Bits.mask(15, 10) | Bits.mask(63, 54);

    /** Encodes a page request without private data (PDP=0). {@code pasid} is ignored unless {@code pasidPresent}. */
    public static PageRequestDescriptor of(int rid, boolean pasidPresent, int pasid, long pageAddress, boolean read, boolean write,
                                           boolean execute, boolean privileged, int groupIndex, boolean last) {
        long qw0 = TYPE_PAGE_REQUEST | Bits.flag(pasidPresent, 8) | Bits.put(rid, 16, 16)
                | (pasidPresent ? Bits.put(pasid, 32, 20) : 0) | Bits.flag(execute, 52) | Bits.flag(privileged, 53);
        long qw1 = Bits.flag(read, 0) | Bits.flag(write, 1) | Bits.flag(last, 2) | Bits.put(groupIndex, 3, 9)
                | (pageAddress & Bits.mask(63, 12));
        return new PageRequestDescriptor(qw0, qw1, 0, 0);
    }

    /** Decodes the four qwords read from the queue. */
    public static PageRequestDescriptor decode(long[] q) {
        return new PageRequestDescriptor(q[0], q[1], q[2], q[3]);
    }

    public long[] encode() {
        return new long[] {qw0, qw1, qw2, qw3};
    }

    public int type() {
        return (int) Bits.get(qw0, 0, 8);
    }

    /** PP: PASID present. */
    public boolean pasidPresent() {
        return Bits.bit(qw0, 8);
    }

    /** PDP: private data present (qwords 2-3). */
    public boolean privateDataPresent() {
        return Bits.bit(qw0, 9);
    }

    public int rid() {
        return (int) Bits.get(qw0, 16, 16);
    }

    public int pasid() {
        return (int) Bits.get(qw0, 32, 20);
    }

    /** EXR: execute requested. */
    public boolean executeRequested() {
        return Bits.bit(qw0, 52);
    }

    /** PMR: privileged mode requested. */
    public boolean privilegedRequested() {
        return Bits.bit(qw0, 53);
    }

    /** RDR: read requested. */
    public boolean readRequested() {
        return Bits.bit(qw1, 0);
    }

    /** WRR: write requested. */
    public boolean writeRequested() {
        return Bits.bit(qw1, 1);
    }

    /** LPIG: last page in group (a page group response is expected). */
    public boolean lastPageInGroup() {
        return Bits.bit(qw1, 2);
    }

    /** PRGI: page request group index. */
    public int groupIndex() {
        return (int) Bits.get(qw1, 3, 9);
    }

    /** ADDR: the page address (bits 63:12). */
    public long pageAddress() {
        return qw1 & Bits.mask(63, 12);
    }

    @Override
    public String format() {
        return FORMAT;
    }

    @Override
    public String name() {
        return "page_req_dsc";
    }

    @Override
    public int code() {
        return type();
    }

    @Override
    public List<Long> words() {
        return List.of(qw0, qw1, qw2, qw3);
    }

    @Override
    public Map<String, Long> fields() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("Type", (long) type());
        m.put("PP", pasidPresent() ? 1L : 0L);
        m.put("PDP", privateDataPresent() ? 1L : 0L);
        m.put("RID", (long) rid());
        m.put("PASID", (long) pasid());
        m.put("EXR", executeRequested() ? 1L : 0L);
        m.put("PMR", privilegedRequested() ? 1L : 0L);
        m.put("RDR", readRequested() ? 1L : 0L);
        m.put("WRR", writeRequested() ? 1L : 0L);
        m.put("LPIG", lastPageInGroup() ? 1L : 0L);
        m.put("PRGI", (long) groupIndex());
        m.put("ADDR", pageAddress());
        return m;
    }
}
