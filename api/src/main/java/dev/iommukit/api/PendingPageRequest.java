package dev.iommukit.api;

import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageResponseCode;
import java.util.List;
import java.util.Optional;

/**
 * A page request group handed to a device's {@link PageRequestHandler} and not yet answered: its
 * requests (the last one, which expects the response, at the end), the device, and the process
 * bound for SVA at its PASID, if any. It stays pending until answered, or until the core answers
 * it with {@link PageResponseCode#INVALID_REQUEST} while draining its PASID.
 */
public final class PendingPageRequest {
    private final Device device;
    private final List<PageRequest> group;
    private final Process svaProcess;
    boolean answered;

    PendingPageRequest(Device device, List<PageRequest> group, Process svaProcess) {
        this.device = device;
        this.group = List.copyOf(group);
        this.svaProcess = svaProcess;
    }

    public Device device() {
        return device;
    }

    /** The last request of the group: the one the response answers. */
    public PageRequest request() {
        return group.get(group.size() - 1);
    }

    /** Every request of the group, in arrival order. */
    public List<PageRequest> group() {
        return group;
    }

    public int pasid() {
        return request().pasid();
    }

    /** The process bound for SVA at this request's PASID when it arrived. */
    public Optional<Process> svaProcess() {
        return Optional.ofNullable(svaProcess);
    }

    /**
     * Sends the page response. Returns false, sending nothing, when the group was answered already
     * (by an earlier call, or by the core while draining): such a response matches no pending
     * request and is ignored.
     */
    public boolean respond(PageResponseCode code) {
        java.util.Objects.requireNonNull(code, "code");
        return device.respond(this, code);
    }

    public boolean isAnswered() {
        synchronized (device.pageRequests) {
            return answered;
        }
    }

    @Override
    public String toString() {
        return request() + (group.size() > 1 ? " (+" + (group.size() - 1) + " more in the group)" : "");
    }
}
