package dev.iommukit.spi.fault;

/**
 * Which translation stage a fault arose in. In nested translation {@link #STAGE_1} is the guest's
 * stage (SMMUv3 stage 1, VT-d first level) and {@link #STAGE_2} the host's (SMMUv3 stage 2, VT-d
 * second level), including a stage-2 fault met while fetching a guest structure. A single-stage
 * translation reports the stage its tables belong to. {@link #NONE} is for faults that are not a
 * translation stage's: configuration structures, blocked requests, bus aborts.
 */
public enum FaultStage {
    NONE,
    STAGE_1,
    STAGE_2
}
