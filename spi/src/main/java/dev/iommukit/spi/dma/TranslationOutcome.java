package dev.iommukit.spi.dma;

import dev.iommukit.spi.fault.Fault;

/**
 * A mutable holder the hardware half fills for one request: the physical address reached, or the
 * fault. Reused by callers so that a translation on an IOTLB hit allocates nothing.
 */
public final class TranslationOutcome {
    private long physicalAddress;
    private Fault fault;

    /** Records a successful translation to {@code pa}. */
    public void translated(long pa) {
        this.physicalAddress = pa;
        this.fault = null;
    }

    /** Records that the request was aborted with {@code fault}. */
    public void faulted(Fault fault) {
        this.physicalAddress = -1;
        this.fault = fault;
    }

    public boolean isTranslated() {
        return fault == null;
    }

    /** The physical address reached; meaningful only when {@link #isTranslated()}. */
    public long physicalAddress() {
        return physicalAddress;
    }

    /** The fault; {@code null} when translated. */
    public Fault fault() {
        return fault;
    }
}
