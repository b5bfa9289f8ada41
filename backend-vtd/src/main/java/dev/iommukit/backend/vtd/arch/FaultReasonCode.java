package dev.iommukit.backend.vtd.arch;

import dev.iommukit.spi.fault.FaultReason;

/**
 * Scalable-mode fault reason codes (FRCD.FR, digest §10) with their architectural names, whether
 * they are qualified (suppressed by FPD), and the vendor-neutral {@link FaultReason} they map to.
 */
public enum FaultReasonCode {
    RTA_1(0x30, "RTA.1", false, FaultReason.BAD_CONFIGURATION),
    RTA_2(0x31, "RTA.2", false, FaultReason.BAD_CONFIGURATION),
    RTA_3(0x32, "RTA.3", false, FaultReason.BAD_CONFIGURATION),
    RTA_4(0x33, "RTA.4", false, FaultReason.BLOCKED),
    SRT_1(0x38, "SRT.1", false, FaultReason.EXTERNAL_ABORT),
    SRT_2(0x39, "SRT.2", false, FaultReason.UNKNOWN_REQUESTER),
    SRT_3(0x3A, "SRT.3", false, FaultReason.BAD_CONFIGURATION),
    SCT_1(0x40, "SCT.1", false, FaultReason.EXTERNAL_ABORT),
    SCT_2(0x41, "SCT.2", true, FaultReason.UNKNOWN_REQUESTER),
    SCT_3(0x42, "SCT.3", true, FaultReason.BAD_CONFIGURATION),
    SCT_4(0x43, "SCT.4", true, FaultReason.BAD_CONFIGURATION),
    SCT_5(0x44, "SCT.5", true, FaultReason.UNSUPPORTED_REQUEST),
    SCT_6(0x45, "SCT.6", true, FaultReason.BLOCKED),
    SCT_7(0x46, "SCT.7", true, FaultReason.BLOCKED),
    SCT_8(0x47, "SCT.8", true, FaultReason.UNSUPPORTED_REQUEST),
    SCT_9(0x48, "SCT.9", true, FaultReason.UNSUPPORTED_REQUEST),
    SPD_1(0x50, "SPD.1", false, FaultReason.EXTERNAL_ABORT),
    SPD_2(0x51, "SPD.2", true, FaultReason.BLOCKED),
    SPD_3(0x52, "SPD.3", true, FaultReason.BAD_CONFIGURATION),
    SPT_1(0x58, "SPT.1", false, FaultReason.EXTERNAL_ABORT),
    SPT_2(0x59, "SPT.2", true, FaultReason.BLOCKED),
    SPT_3(0x5A, "SPT.3", true, FaultReason.BAD_CONFIGURATION),
    SPT_4(0x5B, "SPT.4", true, FaultReason.BAD_CONFIGURATION),
    SPT_5(0x5C, "SPT.5", true, FaultReason.UNSUPPORTED_REQUEST),
    SPT_6(0x5D, "SPT.6", true, FaultReason.UNSUPPORTED_REQUEST),
    SFS_1(0x70, "SFS.1", true, FaultReason.EXTERNAL_ABORT),
    SFS_2(0x71, "SFS.2", true, FaultReason.NOT_MAPPED),
    SFS_3(0x72, "SFS.3", true, FaultReason.BAD_CONFIGURATION),
    SFS_4(0x73, "SFS.4", true, FaultReason.EXTERNAL_ABORT),
    SFS_5(0x74, "SFS.5", true, FaultReason.ADDRESS_SIZE),
    SFS_6(0x75, "SFS.6", true, FaultReason.PERMISSION),
    SFS_7(0x76, "SFS.7", true, FaultReason.PERMISSION),
    SFS_8(0x77, "SFS.8", true, FaultReason.PERMISSION),
    SSS_1(0x78, "SSS.1", true, FaultReason.EXTERNAL_ABORT),
    SSS_2(0x79, "SSS.2", true, FaultReason.NOT_MAPPED),
    SSS_3(0x7A, "SSS.3", true, FaultReason.BAD_CONFIGURATION),
    SSS_4(0x7B, "SSS.4", true, FaultReason.EXTERNAL_ABORT),
    SSS_5(0x7C, "SSS.5", true, FaultReason.ACCESS_FLAG),
    SSS_6(0x7D, "SSS.6", true, FaultReason.EXTERNAL_ABORT),
    SGN_1(0x80, "SGN.1", true, FaultReason.NOT_MAPPED),
    SGN_2(0x81, "SGN.2", true, FaultReason.PERMISSION),
    SGN_3(0x82, "SGN.3", true, FaultReason.PERMISSION),
    SGN_4(0x83, "SGN.4", true, FaultReason.ADDRESS_SIZE),
    SGN_5(0x84, "SGN.5", true, FaultReason.NOT_MAPPED),
    SGN_6(0x85, "SGN.6", true, FaultReason.PERMISSION),
    SGN_7(0x86, "SGN.7", true, FaultReason.PERMISSION),
    SGN_8(0x87, "SGN.8", true, FaultReason.PERMISSION),
    SGN_10(0x89, "SGN.10", true, FaultReason.UNSUPPORTED_REQUEST),
    SFS_9(0x90, "SFS.9", true, FaultReason.ACCESS_FLAG),
    SFS_10(0x91, "SFS.10", true, FaultReason.EXTERNAL_ABORT);

    private static final FaultReasonCode[] BY_CODE = new FaultReasonCode[256];

    static {
        for (FaultReasonCode c : values()) {
            BY_CODE[c.code] = c;
        }
    }

    private final int code;
    private final String architecturalName;
    private final boolean qualified;
    private final FaultReason reason;

    FaultReasonCode(int code, String architecturalName, boolean qualified, FaultReason reason) {
        this.code = code;
        this.architecturalName = architecturalName;
        this.qualified = qualified;
        this.reason = reason;
    }

    /** The FR value. */
    public int code() {
        return code;
    }

    /** The name as the specification writes it, such as {@code SPT.2}. */
    public String architecturalName() {
        return architecturalName;
    }

    /** Whether FPD=1 on the path suppresses recording. */
    public boolean qualified() {
        return qualified;
    }

    /** The vendor-neutral reason. */
    public FaultReason reason() {
        return reason;
    }

    /** The code for FR value {@code fr}, or null when the model does not know it. */
    public static FaultReasonCode of(int fr) {
        return fr >= 0 && fr < 256 ? BY_CODE[fr] : null;
    }
}
