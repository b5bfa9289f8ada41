package dev.iommukit.backend.vtd.arch;

import dev.iommukit.spi.fault.FaultStage;

/**
 * The translation stage of a recorded fault, from its reason code (digest §10): second-level
 * faults (SSS.x, SGN.5, SGN.7, and in nesting SFS.6-8, the SL permission on a guest table) are
 * stage 2; first-level faults (SFS.1-5, SFS.9-10, SGN.1-3) stage 1; configuration and request
 * faults none. SGN.6 (write denied) may be either: {@code null}, for the caller to decide (the
 * hardware knows which level denied the write; the driver, reading a fault record, looks at what
 * is attached).
 */
public final class FaultStages {
    private FaultStages() {}

    /** The stage of {@code code}, or null for SGN.6. */
    public static FaultStage of(FaultReasonCode code) {
        return switch (code) {
            case SSS_1, SSS_2, SSS_3, SSS_4, SSS_5, SSS_6, SGN_5, SGN_7, SFS_6, SFS_7, SFS_8 -> FaultStage.STAGE_2;
            case SFS_1, SFS_2, SFS_3, SFS_4, SFS_5, SFS_9, SFS_10, SGN_1, SGN_2, SGN_3 -> FaultStage.STAGE_1;
            case SGN_6 -> null;
            default -> FaultStage.NONE;
        };
    }
}
