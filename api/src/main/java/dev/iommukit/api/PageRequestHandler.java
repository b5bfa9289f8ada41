package dev.iommukit.api;

/**
 * Resolves the page requests of one device (its I/O page faults). Called on the machine's page
 * request thread, one request group at a time; it answers with
 * {@link PendingPageRequest#respond}, then or later, from any thread.
 */
@FunctionalInterface
public interface PageRequestHandler {
    void onPageRequest(PendingPageRequest request);

    /**
     * The handler for SVA: faults the page in on the bound process's side (as the CPU's page-fault
     * handler would) and answers success when the process now maps it with the access asked,
     * invalid request otherwise (not an SVA PASID, unmapped, forbidden, or the process exited).
     */
    static PageRequestHandler svaFaultIn() {
        return SvaFaultInHandler.INSTANCE;
    }
}
