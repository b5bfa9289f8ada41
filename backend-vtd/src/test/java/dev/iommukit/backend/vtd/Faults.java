package dev.iommukit.backend.vtd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.vtd.arch.FaultRecord;
import dev.iommukit.backend.vtd.hw.HardwareModel;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;

/** Assertions on faults: the outcome, the record the driver reported, and the FRCD register it came from. */
final class Faults {
    private Faults() {}

    /** Expected FRCD high qword (F=1) for an untranslated request. */
    static long high(int sid, int fr, boolean write, boolean pasidPresent, int pasid, boolean priv, boolean exe) {
        return sid | (priv ? 1L << 29 : 0) | (exe ? 1L << 30 : 0) | (pasidPresent ? 1L << 31 : 0) | (long) fr << 32
                | (pasidPresent ? (long) pasid << 40 : 0) | (write ? 0 : 1L << 62) | 1L << 63;
    }

    /**
     * Checks that {@code out} faulted with {@code name}/{@code reason}, that the driver reported
     * exactly one new fault whose FRCD words are {@code low}/{@code high}, and that FRCD register
     * {@code index} holds them with F cleared by the driver.
     */
    static Fault assertRecorded(VtdMachine m, TranslationOutcome out, int reportedBefore, String name, FaultReason reason, long low, long high) {
        assertThat(out.isTranslated()).as("request must fault").isFalse();
        Fault f = out.fault();
        assertThat(f.record().name()).isEqualTo(name);
        assertThat(f.reason()).isEqualTo(reason);
        assertThat(f.record().words()).containsExactly(low, high);
        assertThat(m.reported).hasSize(reportedBefore + 1);
        Fault reported = m.reported.get(reportedBefore);
        assertThat(reported.record().words()).containsExactly(low, high);
        assertThat(reported.record().name()).isEqualTo(name);
        assertThat(reported.reason()).isEqualTo(reason);
        int index = reportedBefore % HardwareModel.defaults().cap().faultRecordCount();
        assertThat(m.frcdLow(index)).isEqualTo(low);
        assertThat(m.frcdHigh(index)).as("F cleared by the driver").isEqualTo(high & ~FaultRecord.F);
        assertThat(m.hw.read32(dev.iommukit.backend.vtd.arch.RegisterOffsets.FSTS_REG) & 3).as("PPF and PFO clear").isZero();
        return f;
    }
}
