package dev.iommukit.backend.smmuv3.arch;

import dev.iommukit.spi.fault.FaultReason;

/**
 * Event record types (spec §6.2) with the vendor-neutral reason each maps to. The C_BAD_CD
 * mapping depends on whether the CD was valid: V=0 means nothing is attached at that substream
 * (BLOCKED), an ILLEGAL valid CD is a bad configuration.
 */
public enum EventType {
    F_UUT(0x01, FaultReason.UNSUPPORTED_REQUEST),
    C_BAD_STREAMID(0x02, FaultReason.UNKNOWN_REQUESTER),
    F_STE_FETCH(0x03, FaultReason.EXTERNAL_ABORT),
    C_BAD_STE(0x04, FaultReason.BAD_CONFIGURATION),
    F_BAD_ATS_TREQ(0x05, FaultReason.UNSUPPORTED_REQUEST),
    F_STREAM_DISABLED(0x06, FaultReason.BLOCKED),
    F_TRANSL_FORBIDDEN(0x07, FaultReason.UNSUPPORTED_REQUEST),
    C_BAD_SUBSTREAMID(0x08, FaultReason.BLOCKED),
    F_CD_FETCH(0x09, FaultReason.EXTERNAL_ABORT),
    C_BAD_CD(0x0A, FaultReason.BAD_CONFIGURATION),
    F_WALK_EABT(0x0B, FaultReason.EXTERNAL_ABORT),
    F_TRANSLATION(0x10, FaultReason.NOT_MAPPED),
    F_ADDR_SIZE(0x11, FaultReason.ADDRESS_SIZE),
    F_ACCESS(0x12, FaultReason.ACCESS_FLAG),
    F_PERMISSION(0x13, FaultReason.PERMISSION),
    F_TLB_CONFLICT(0x20, FaultReason.BAD_CONFIGURATION),
    F_CFG_CONFLICT(0x21, FaultReason.BAD_CONFIGURATION),
    E_PAGE_REQUEST(0x24, FaultReason.NOT_MAPPED),
    F_VMS_FETCH(0x25, FaultReason.EXTERNAL_ABORT);

    private static final EventType[] BY_CODE = new EventType[256];

    static {
        for (EventType t : values()) {
            BY_CODE[t.code] = t;
        }
    }

    private final int code;
    private final FaultReason reason;

    EventType(int code, FaultReason reason) {
        this.code = code;
        this.reason = reason;
    }

    /** The Type field value. */
    public int code() {
        return code;
    }

    /** The vendor-neutral reason for this event when the structure involved was valid. */
    public FaultReason reason() {
        return reason;
    }

    /**
     * The vendor-neutral reason, given whether the structure the event names had V=1: a C_BAD_CD
     * for a V=0 CD (an empty substream slot) is {@link FaultReason#BLOCKED}.
     */
    public FaultReason reason(boolean structureValid) {
        return this == C_BAD_CD && !structureValid ? FaultReason.BLOCKED : reason;
    }

    /** The type with Type field {@code code}, or null for a code this model does not name. */
    public static EventType of(int code) {
        return code < 0 || code > 255 ? null : BY_CODE[code];
    }
}
