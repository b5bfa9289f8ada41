package dev.iommukit.spi.memory;

/**
 * An access outside RAM: the external abort of real hardware. Hardware halves catch it and turn
 * it into the architecture's fault (a fetch abort or walk external abort); it never escapes a
 * DMA. It carries no stack trace so that a hostile structure costs no more than a normal fault.
 */
public final class ExternalAbortException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final long address;

    public ExternalAbortException(long address) {
        super("external abort at physical address 0x" + Long.toHexString(address), null, false, false);
        this.address = address;
    }

    /** The physical address that is not backed by RAM. */
    public long address() {
        return address;
    }
}
