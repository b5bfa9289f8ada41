package dev.iommukit.backend.smmuv3.hw;

import dev.iommukit.spi.iopf.PageResponsePort;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseReceiver;

/**
 * What devices behind the SMMU reach: untranslated DMA and ATS translation requests go to the
 * translation engine, page request messages to the PRI queue, and PRG responses (CMD_PRI_RESP,
 * automatic responses) come back through the connected receiver.
 */
final class DevicePort implements DmaPort {
    private final TranslationEngine engine;
    private final PriQueueWriter priQueue;
    private final PageResponsePort responses;

    DevicePort(TranslationEngine engine, PriQueueWriter priQueue, PageResponsePort responses) {
        this.engine = engine;
        this.priQueue = priQueue;
        this.responses = responses;
    }

    @Override
    public void translate(DmaRequest request, TranslationOutcome out) {
        engine.translate(request, out);
    }

    @Override
    public void translateAts(DmaRequest request, TranslationOutcome out) {
        engine.translateAts(request, out);
    }

    @Override
    public void pageRequest(PageRequestMessage message) {
        priQueue.pageRequest(message);
    }

    @Override
    public void connectPageResponses(PageResponseReceiver receiver) {
        responses.connect(receiver);
    }
}
