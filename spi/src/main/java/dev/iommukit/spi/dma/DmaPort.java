package dev.iommukit.spi.dma;

import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseReceiver;

/**
 * Where devices send DMA requests: the input of an IOMMU's hardware half. Safe to call from many
 * threads at once while the driver half changes structures, as on silicon.
 */
@FunctionalInterface
public interface DmaPort {
    /**
     * Translates one request and fills {@code out}. Never throws for anything a structure in
     * memory holds: hostile or broken structures give architectural faults.
     */
    void translate(DmaRequest request, TranslationOutcome out);

    /**
     * A PCIe ATS translation request for the page holding {@code request.address()}: the same
     * lookups as {@link #translate}, but a translation that is missing or lacks the access asked
     * for is answered with no access and is not recorded as a fault (the device may then send a
     * page request); configuration faults are recorded as for {@code translate}. Only for devices
     * whose ATS the driver enabled; others get the architecture's fault for a refused ATS request.
     */
    default void translateAts(DmaRequest request, TranslationOutcome out) {
        throw new NotSupportedException("ATS translation requests are not modelled by this IOMMU");
    }

    /**
     * A PCIe page request message. The hardware queues it in its architectural format and
     * interrupts, or drops it (and, where the architecture says so, answers it itself).
     */
    default void pageRequest(PageRequestMessage message) {
        throw new NotSupportedException("page requests are not modelled by this IOMMU");
    }

    /** Connects where page request group responses go; the core connects one receiver per unit. */
    default void connectPageResponses(PageResponseReceiver receiver) {
        throw new NotSupportedException("page requests are not modelled by this IOMMU");
    }
}
