package dev.iommukit.backend.vtd.arch;

import dev.iommukit.spi.fault.VendorFaultRecord;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One fault recording register (FRCD, 128 bits, digest §1.8) as a value: its two qwords and the
 * decoded fields. Bits (absolute): FI 63:12, SID 79:64, T2 92, PRIV 93, EXE 94, PP 95, FR 103:96,
 * PV 123:104, AT 125:124, T1 126, F 127. {T1,T2}: 00 write, 01 page request, 10 read.
 */
public record FaultRecord(long low, long high) implements VendorFaultRecord {
    public static final String FORMAT = "vtd-frcd";
    /** F within the high qword (bit 127). */
    public static final long F = 1L << 63;

    /** FRCD AT values: untranslated request, translation request (ATS). */
    public static final int AT_UNTRANSLATED = 0;
    public static final int AT_TRANSLATION_REQUEST = 1;

    /** Builds a record with F=1 for an untranslated request. */
    public static FaultRecord of(long address, int sid, boolean write, boolean privileged, boolean execute, boolean pasidPresent,
                                 int pasid, int fr) {
        return of(address, sid, write, privileged, execute, pasidPresent, pasid, fr, AT_UNTRANSLATED);
    }

    /** Builds a record with F=1 for a read or write request of address type {@code at}. */
    public static FaultRecord of(long address, int sid, boolean write, boolean privileged, boolean execute, boolean pasidPresent,
                                 int pasid, int fr, int at) {
        return record(address, sid, !write, false, privileged, execute, pasidPresent, pasid, fr, at);
    }

    /** Builds a record with F=1 for a page request ({T1,T2} = 01, digest §12): FI is the page address. */
    public static FaultRecord ofPageRequest(long pageAddress, int sid, boolean privileged, boolean execute, boolean pasidPresent,
                                            int pasid, int fr) {
        return record(pageAddress, sid, false, true, privileged, execute, pasidPresent, pasid, fr, AT_UNTRANSLATED);
    }

    private static FaultRecord record(long address, int sid, boolean t1, boolean t2, boolean privileged, boolean execute,
                                      boolean pasidPresent, int pasid, int fr, int at) {
        long lo = address & Bits.mask(63, 12);
        long hi = Bits.put(sid, 0, 16) | Bits.flag(t2, 28) | Bits.flag(privileged, 29) | Bits.flag(execute, 30)
                | Bits.flag(pasidPresent, 31) | Bits.put(fr, 32, 8) | Bits.put(pasidPresent ? pasid : 0, 40, 20) | Bits.put(at, 60, 2)
                | Bits.flag(t1, 62) | F;
        return new FaultRecord(lo, hi);
    }

    public long faultInfo() {
        return low & Bits.mask(63, 12);
    }

    public int sid() {
        return (int) Bits.get(high, 0, 16);
    }

    public boolean t2() {
        return Bits.bit(high, 28);
    }

    public boolean priv() {
        return Bits.bit(high, 29);
    }

    public boolean exe() {
        return Bits.bit(high, 30);
    }

    public boolean pasidPresent() {
        return Bits.bit(high, 31);
    }

    public int faultReason() {
        return (int) Bits.get(high, 32, 8);
    }

    public int pasidValue() {
        return (int) Bits.get(high, 40, 20);
    }

    public int addressType() {
        return (int) Bits.get(high, 60, 2);
    }

    public boolean t1() {
        return Bits.bit(high, 62);
    }

    public boolean fault() {
        return Bits.bit(high, 63);
    }

    /** Whether the faulting request was a page request ({T1,T2} = 01). */
    public boolean isPageRequest() {
        return !t1() && t2();
    }

    /** Whether the request was a write ({T1,T2} = 00). */
    public boolean isWrite() {
        return !t1() && !t2();
    }

    @Override
    public String format() {
        return FORMAT;
    }

    @Override
    public String name() {
        FaultReasonCode c = FaultReasonCode.of(faultReason());
        return c == null ? "FR 0x" + Integer.toHexString(faultReason()) : c.architecturalName();
    }

    @Override
    public int code() {
        return faultReason();
    }

    @Override
    public List<Long> words() {
        return List.of(low, high);
    }

    @Override
    public Map<String, Long> fields() {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("FI", faultInfo());
        m.put("SID", (long) sid());
        m.put("T2", t2() ? 1L : 0L);
        m.put("PRIV", priv() ? 1L : 0L);
        m.put("EXE", exe() ? 1L : 0L);
        m.put("PP", pasidPresent() ? 1L : 0L);
        m.put("FR", (long) faultReason());
        m.put("PV", (long) pasidValue());
        m.put("AT", (long) addressType());
        m.put("T1", t1() ? 1L : 0L);
        m.put("F", fault() ? 1L : 0L);
        return m;
    }
}
