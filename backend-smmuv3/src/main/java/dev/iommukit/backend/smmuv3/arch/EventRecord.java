package dev.iommukit.backend.smmuv3.arch;

import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.fault.VendorFaultRecord;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An SMMUv3 event record: 4 dwords, 32 bytes (spec §6.1), as raw words with their decoding. Also
 * the {@link VendorFaultRecord} of a fault; a silent abort (STE Config=abort, GBPA abort) has no
 * words and only a name.
 */
public record EventRecord(String name, int code, List<Long> words) implements VendorFaultRecord {
    public static final String FORMAT = "smmuv3-event";
    public static final int DWORDS = 4;

    public static final Field TYPE = Field.of("Type", 0, 7, 0);
    public static final Field SSV = Field.of("SSV", 0, 11, 11);
    public static final Field SSID = Field.of("SSID", 0, 31, 12);
    public static final Field SID = Field.of("SID", 0, 63, 32);
    public static final Field STAG = Field.of("STAG", 1, 15, 0);
    public static final Field STALL = Field.of("Stall", 1, 31, 31);
    public static final Field PNU = Field.of("PnU", 1, 33, 33);
    public static final Field IND = Field.of("InD", 1, 34, 34);
    public static final Field RNW = Field.of("RnW", 1, 35, 35);
    public static final Field NSIPA = Field.of("NSIPA", 1, 38, 38);
    public static final Field S2 = Field.of("S2", 1, 39, 39);
    public static final Field CLASS = Field.of("CLASS", 1, 41, 40);
    public static final Field TTRNW = Field.of("TTRnW", 1, 44, 44);
    public static final Field INPUT_ADDR = Field.of("InputAddr", 2, 63, 0);
    /** IPA[51:12], in place. */
    public static final Field IPA = Field.of("IPA", 3, 51, 12);
    /** FetchAddr[51:3], in place. */
    public static final Field FETCH_ADDR = Field.of("FetchAddr", 3, 51, 3);

    public static final int CLASS_CD = 0;
    public static final int CLASS_TT = 1;
    public static final int CLASS_IN = 2;

    public EventRecord {
        words = List.copyOf(words);
    }

    /** The record of a transaction aborted without an event. */
    public static EventRecord silent(String name) {
        return new EventRecord(name, 0, List.of());
    }

    /** Wraps the four dwords of an event as read from the queue. */
    public static EventRecord of(long[] dwords) {
        int code = (int) TYPE.get(dwords[0]);
        EventType t = EventType.of(code);
        String n = t == null ? "EVENT_0x" + Integer.toHexString(code) : t.name();
        return new EventRecord(n, code, List.of(dwords[0], dwords[1], dwords[2], dwords[3]));
    }

    /** Dword 0: Type, SSV, SSID, SID. */
    public static long dword0(EventType type, int sid, boolean ssv, int ssid) {
        return TYPE.of(type.code()) | SSV.of(ssv ? 1 : 0) | SSID.of(ssv ? ssid & 0xFFFFF : 0) | SID.of(sid & 0xFFFF_FFFFL);
    }

    /** Dword 1 for a transaction fault: PnU, InD, RnW (1 = read), S2, CLASS. */
    public static long dword1(boolean privileged, boolean instruction, boolean read, boolean stage2, int cls) {
        return PNU.of(privileged ? 1 : 0) | IND.of(instruction ? 1 : 0) | RNW.of(read ? 1 : 0)
                | S2.of(stage2 ? 1 : 0) | CLASS.of(cls);
    }

    /** Dword 3 holding an IPA (bits [11:0] cleared). */
    public static long ipaDword(long ipa) {
        return ipa & IPA.mask();
    }

    /** Dword 3 holding a FetchAddr (bits [2:0] cleared). */
    public static long fetchDword(long pa) {
        return pa & FETCH_ADDR.mask();
    }

    /**
     * The translation stage an event belongs to: {@link FaultStage#STAGE_2} whenever S2=1 (stage 2
     * faults, including those met translating a CD/L1CD or stage 1 descriptor address in a nested
     * walk, and stage 2 walk aborts); {@link FaultStage#STAGE_1} for the four translation faults
     * with S2=0; {@link FaultStage#NONE} for configuration, fetch and stream events.
     */
    public static FaultStage stage(long dword0, long dword1) {
        if (S2.isSet(dword1)) {
            return FaultStage.STAGE_2;
        }
        EventType t = EventType.of((int) TYPE.get(dword0));
        return t == EventType.F_TRANSLATION || t == EventType.F_ADDR_SIZE || t == EventType.F_ACCESS || t == EventType.F_PERMISSION
                ? FaultStage.STAGE_1 : FaultStage.NONE;
    }

    /** The stage of this record; {@link FaultStage#NONE} for a silent abort. */
    public FaultStage stage() {
        return words.isEmpty() ? FaultStage.NONE : stage(words.get(0), words.get(1));
    }

    @Override
    public String format() {
        return FORMAT;
    }

    /** The event type, or null for an unnamed code or a silent abort. */
    public EventType type() {
        return words.isEmpty() ? null : EventType.of(code);
    }

    @Override
    public Map<String, Long> fields() {
        Map<String, Long> f = new LinkedHashMap<>();
        if (words.isEmpty()) {
            return f;
        }
        long d0 = words.get(0);
        long d1 = words.get(1);
        long d3 = words.get(3);
        f.put("Type", TYPE.get(d0));
        f.put("SSV", SSV.get(d0));
        f.put("SSID", SSID.get(d0));
        f.put("SID", SID.get(d0));
        f.put("STAG", STAG.get(d1));
        f.put("Stall", STALL.get(d1));
        f.put("PnU", PNU.get(d1));
        f.put("InD", IND.get(d1));
        f.put("RnW", RNW.get(d1));
        f.put("S2", S2.get(d1));
        f.put("CLASS", CLASS.get(d1));
        f.put("TTRnW", TTRNW.get(d1));
        f.put("InputAddr", words.get(2));
        EventType t = type();
        if (t == EventType.F_STE_FETCH || t == EventType.F_CD_FETCH || t == EventType.F_WALK_EABT || t == EventType.F_VMS_FETCH) {
            f.put("FetchAddr", d3 & FETCH_ADDR.mask());
        } else {
            f.put("IPA", d3 & IPA.mask());
        }
        return f;
    }
}
