package dev.iommukit.spi.mmio;

/** A wired interrupt from a hardware half to whoever connected it (the driver half's handler). */
@FunctionalInterface
public interface InterruptLine {
    /** Signals the interrupt; the handler runs on the calling thread. */
    void raise();

    /** A line connected to nothing. */
    InterruptLine NONE = () -> { };
}
