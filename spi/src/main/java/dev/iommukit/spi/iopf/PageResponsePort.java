package dev.iommukit.spi.iopf;

/**
 * A building block for hardware halves: the outgoing side of a unit's page response path. The
 * responses software asks for (SMMUv3 CMD_PRI_RESP, VT-d page group response descriptor) and
 * those the hardware sends itself for a page request it did not queue leave through here to the
 * receiver the core connected ({@link dev.iommukit.spi.dma.DmaPort#connectPageResponses}). Until
 * one is connected responses are lost, as on a bus with nothing behind it.
 */
public final class PageResponsePort {
    private volatile PageResponseReceiver receiver;

    public void connect(PageResponseReceiver receiver) {
        this.receiver = receiver;
    }

    /** Sends {@code response} on the calling thread. */
    public void send(PageResponseMessage response) {
        PageResponseReceiver r = receiver;
        if (r != null) {
            r.receive(response);
        }
    }
}
