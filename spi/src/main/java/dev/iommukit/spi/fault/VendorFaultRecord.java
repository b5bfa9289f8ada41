package dev.iommukit.spi.fault;

import java.util.List;
import java.util.Map;

/**
 * The architecture's own record of a fault, exactly as hardware wrote it (an SMMUv3 event record,
 * a VT-d fault recording register) together with its decoding.
 */
public interface VendorFaultRecord {
    /** The record format, such as {@code smmuv3-event} or {@code vtd-frcd}. */
    String format();

    /** The architectural name of the fault, such as {@code F_TRANSLATION} or {@code SSS.2}. */
    String name();

    /** The architectural code (event type, fault reason). */
    int code();

    /** The raw 64-bit words of the record, little-endian order. Empty when the architecture writes none. */
    List<Long> words();

    /** The decoded fields by architectural name, in record order. */
    Map<String, Long> fields();
}
