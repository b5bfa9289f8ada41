package dev.iommukit.backend.vtd.arch;

import dev.iommukit.spi.fault.VendorFaultRecord;
import java.util.List;
import java.util.Map;

/**
 * The vendor record of a fault that hardware aborted without recording (FPD=1 on a qualified
 * fault, digest §6): name and code, no words.
 */
public record UnrecordedFault(FaultReasonCode reasonCode, Map<String, Long> fields) implements VendorFaultRecord {
    public UnrecordedFault {
        fields = Map.copyOf(fields);
    }

    @Override
    public String format() {
        return FaultRecord.FORMAT;
    }

    @Override
    public String name() {
        return reasonCode.architecturalName();
    }

    @Override
    public int code() {
        return reasonCode.code();
    }

    @Override
    public List<Long> words() {
        return List.of();
    }
}
