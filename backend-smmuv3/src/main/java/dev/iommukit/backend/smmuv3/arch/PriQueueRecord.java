package dev.iommukit.backend.smmuv3.arch;

import dev.iommukit.spi.fault.VendorFaultRecord;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A PRI queue record: 2 dwords, 16 bytes (spec §6.4, SMMU chapter 8), as raw words with their
 * decoding; also the {@link VendorFaultRecord} of a reported page request (format
 * {@value #FORMAT}, name {@code PAGE_REQUEST}, or {@code STOP_PASID} for a Stop PASID marker:
 * SSV=1 with Last/Write/Read = 1/0/0).
 */
public record PriQueueRecord(List<Long> words) implements VendorFaultRecord {
    public static final String FORMAT = "smmuv3-priq";
    public static final int DWORDS = 2;

    public static final Field SID = Field.of("SID", 0, 31, 0);
    public static final Field SSID = Field.of("SSID", 0, 51, 32);
    public static final Field PRIV = Field.of("Priv", 0, 58, 58);
    public static final Field EXEC = Field.of("Exec", 0, 59, 59);
    public static final Field READ = Field.of("Read", 0, 60, 60);
    public static final Field WRITE = Field.of("Write", 0, 61, 61);
    public static final Field LAST = Field.of("Last", 0, 62, 62);
    public static final Field SSV = Field.of("SSV", 0, 63, 63);
    public static final Field PRG_INDEX = Field.of("PRGIndex", 1, 8, 0);
    /** Addr[63:12], in place. */
    public static final Field ADDR = Field.of("Addr", 1, 63, 12);

    public PriQueueRecord {
        if (words.size() != DWORDS) {
            throw new IllegalArgumentException("a PRI queue record has 2 dwords, got " + words.size());
        }
        words = List.copyOf(words);
    }

    /** Wraps the two dwords read from the queue. */
    public static PriQueueRecord of(long d0, long d1) {
        return new PriQueueRecord(List.of(d0, d1));
    }

    /**
     * Dword 0. Without a PASID (SSV=0) SSID is written as 0 (UNKNOWN) and Exec/Priv are 0, as the
     * spec requires.
     */
    public static long dword0(int sid, boolean ssv, int ssid, boolean priv, boolean exec, boolean read, boolean write,
                              boolean last) {
        return SID.of(sid & 0xFFFF_FFFFL) | SSID.of(ssv ? ssid & 0xFFFFF : 0) | PRIV.of(ssv && priv ? 1 : 0)
                | EXEC.of(ssv && exec ? 1 : 0) | READ.of(read ? 1 : 0) | WRITE.of(write ? 1 : 0) | LAST.of(last ? 1 : 0)
                | SSV.of(ssv ? 1 : 0);
    }

    /** Dword 1: PRGIndex and the page address (bits [11:0] dropped). */
    public static long dword1(int prgIndex, long address) {
        return PRG_INDEX.of(prgIndex & 0x1FF) | (address & ADDR.mask());
    }

    /** Whether dwords {@code d0} describe a Stop PASID marker (SSV=1, Last/Write/Read = 1/0/0). */
    public static boolean isStopMarker(long d0) {
        return SSV.isSet(d0) && LAST.isSet(d0) && !WRITE.isSet(d0) && !READ.isSet(d0);
    }

    public long dword0() {
        return words.get(0);
    }

    public long dword1() {
        return words.get(1);
    }

    @Override
    public String format() {
        return FORMAT;
    }

    @Override
    public String name() {
        return isStopMarker(dword0()) ? "STOP_PASID" : "PAGE_REQUEST";
    }

    /** PRI records carry no type code. */
    @Override
    public int code() {
        return 0;
    }

    @Override
    public Map<String, Long> fields() {
        long d0 = dword0();
        long d1 = dword1();
        Map<String, Long> f = new LinkedHashMap<>();
        f.put("SID", SID.get(d0));
        f.put("SSID", SSID.get(d0));
        f.put("Priv", PRIV.get(d0));
        f.put("Exec", EXEC.get(d0));
        f.put("Read", READ.get(d0));
        f.put("Write", WRITE.get(d0));
        f.put("Last", LAST.get(d0));
        f.put("SSV", SSV.get(d0));
        f.put("PRGIndex", PRG_INDEX.get(d1));
        f.put("Addr", d1 & ADDR.mask());
        return f;
    }
}
