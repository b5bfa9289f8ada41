package dev.iommukit.spi.iopf;

/**
 * Where an IOMMU's hardware half sends page request group responses: the fabric side that routes
 * them to the device by requester id. Called on whatever thread processed the response command.
 */
@FunctionalInterface
public interface PageResponseReceiver {
    void receive(PageResponseMessage response);
}
