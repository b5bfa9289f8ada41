package dev.iommukit.backend.vtd.arch;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.fault.FaultStage;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The stage of every scalable-mode fault reason (digest §9, §10). */
class FaultStagesTest {
    @Test
    void everyCodeHasItsStage() {
        Set<FaultReasonCode> second = EnumSet.of(FaultReasonCode.SSS_1, FaultReasonCode.SSS_2, FaultReasonCode.SSS_3, FaultReasonCode.SSS_4,
                FaultReasonCode.SSS_5, FaultReasonCode.SSS_6, FaultReasonCode.SGN_5, FaultReasonCode.SGN_7, FaultReasonCode.SFS_6,
                FaultReasonCode.SFS_7, FaultReasonCode.SFS_8);
        Set<FaultReasonCode> first = EnumSet.of(FaultReasonCode.SFS_1, FaultReasonCode.SFS_2, FaultReasonCode.SFS_3, FaultReasonCode.SFS_4,
                FaultReasonCode.SFS_5, FaultReasonCode.SFS_9, FaultReasonCode.SFS_10, FaultReasonCode.SGN_1, FaultReasonCode.SGN_2,
                FaultReasonCode.SGN_3);
        for (FaultReasonCode c : FaultReasonCode.values()) {
            FaultStage expected = c == FaultReasonCode.SGN_6 ? null
                    : second.contains(c) ? FaultStage.STAGE_2 : first.contains(c) ? FaultStage.STAGE_1 : FaultStage.NONE;
            assertThat(FaultStages.of(c)).as(c.architecturalName()).isEqualTo(expected);
        }
        assertThat(FaultStages.of(FaultReasonCode.SPT_4)).isEqualTo(FaultStage.NONE);
        assertThat(FaultStages.of(FaultReasonCode.SGN_8)).isEqualTo(FaultStage.NONE);
    }
}
