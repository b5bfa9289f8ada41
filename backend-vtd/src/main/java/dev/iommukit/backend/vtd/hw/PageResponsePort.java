package dev.iommukit.backend.vtd.hw;

import dev.iommukit.spi.iopf.PageResponseMessage;
import dev.iommukit.spi.iopf.PageResponseReceiver;

/**
 * Where the unit sends PCIe page request group responses: those software asks for with a page
 * group response descriptor, and those hardware sends itself for a page request it did not queue.
 * Until a receiver is connected responses are lost, as on a bus with nothing behind it.
 */
final class PageResponsePort {
    private volatile PageResponseReceiver receiver;

    void connect(PageResponseReceiver receiver) {
        this.receiver = receiver;
    }

    void send(PageResponseMessage response) {
        PageResponseReceiver r = receiver;
        if (r != null) {
            r.receive(response);
        }
    }
}
