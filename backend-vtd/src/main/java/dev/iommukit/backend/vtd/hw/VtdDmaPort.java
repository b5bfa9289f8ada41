package dev.iommukit.backend.vtd.hw;

import dev.iommukit.spi.iopf.PageResponsePort;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseReceiver;

/**
 * The unit's PCIe input: untranslated and ATS translation requests go to the remapping engine,
 * page request messages to the page request engine, and page group responses leave through the
 * connected receiver. ATS needs ECAP.DT and page requests ECAP.PRS.
 */
final class VtdDmaPort implements DmaPort {
    private final RemappingEngine remapping;
    private final PageRequestEngine pageRequests;
    private final PageResponsePort responses;
    private final boolean ats;
    private final boolean pri;

    VtdDmaPort(RemappingEngine remapping, PageRequestEngine pageRequests, PageResponsePort responses, boolean ats, boolean pri) {
        this.remapping = remapping;
        this.pageRequests = pageRequests;
        this.responses = responses;
        this.ats = ats;
        this.pri = pri;
    }

    @Override
    public void translate(DmaRequest request, TranslationOutcome out) {
        remapping.translate(request, out);
    }

    @Override
    public void translateAts(DmaRequest request, TranslationOutcome out) {
        if (!ats) {
            throw new NotSupportedException("translation requests need ECAP.DT, which this unit does not report");
        }
        remapping.translateAts(request, out);
    }

    @Override
    public void pageRequest(PageRequestMessage message) {
        if (!pri) {
            throw new NotSupportedException("page requests need ECAP.PRS, which this unit does not report");
        }
        pageRequests.receive(message);
    }

    @Override
    public void connectPageResponses(PageResponseReceiver receiver) {
        if (!pri) {
            throw new NotSupportedException("page requests need ECAP.PRS, which this unit does not report");
        }
        responses.connect(receiver);
    }
}
