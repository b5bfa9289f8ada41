package dev.iommukit.api;

import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageResponseCode;

/** Resolves a page request group by faulting each page in on the bound process's side. */
final class SvaFaultInHandler implements PageRequestHandler {
    static final SvaFaultInHandler INSTANCE = new SvaFaultInHandler();

    private SvaFaultInHandler() {}

    @Override
    public void onPageRequest(PendingPageRequest request) {
        Process process = request.svaProcess().orElse(null);
        boolean ok = process != null;
        for (PageRequest r : request.group()) {
            if (!ok) {
                break;
            }
            if (r.read() || !r.write()) {
                ok = process.faultIn(r.pageAddress(), AccessType.READ, r.execute());
            }
            if (ok && r.write()) {
                ok = process.faultIn(r.pageAddress(), AccessType.WRITE, r.execute());
            }
        }
        request.respond(ok ? PageResponseCode.SUCCESS : PageResponseCode.INVALID_REQUEST);
    }

    @Override
    public String toString() {
        return "SVA fault-in handler";
    }
}
