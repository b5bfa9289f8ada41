package dev.iommukit.backend.smmuv3.hw;

import dev.iommukit.spi.iopf.PageResponseMessage;
import dev.iommukit.spi.iopf.PageResponseReceiver;

/**
 * The outgoing side of the SMMU's ATS interface for PRG responses: CMD_PRI_RESP and the automatic
 * responses of the PRI queue leave through here to whatever the fabric connected. Unconnected,
 * responses go nowhere (as when the rest of the system does not support PRI).
 */
final class PageResponsePort {
    private volatile PageResponseReceiver receiver;

    void connect(PageResponseReceiver receiver) {
        this.receiver = receiver;
    }

    /** Sends {@code response} on the calling thread. */
    void send(PageResponseMessage response) {
        PageResponseReceiver r = receiver;
        if (r != null) {
            r.receive(response);
        }
    }
}
