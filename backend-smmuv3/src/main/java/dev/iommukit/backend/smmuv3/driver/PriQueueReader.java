package dev.iommukit.backend.smmuv3.driver;

import static dev.iommukit.backend.smmuv3.arch.QueueRegisters.*;

import dev.iommukit.backend.smmuv3.arch.PriQueueRecord;
import dev.iommukit.backend.smmuv3.arch.SmmuRegisters;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageRequestReporter;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.Mmio;

/**
 * The consumer side of the PRI queue: on the PRIQ interrupt, and when the core drains page
 * requests, reads every record between PRIQ_CONS and PRIQ_PROD, decodes it into a
 * {@link PageRequest} (with the {@link PriQueueRecord} as its record) and reports it, moving
 * PRIQ_CONS on after each record; then acknowledges an overflow by copying PRIQ_PROD.OVFLG into
 * PRIQ_CONS.OVACKFLG, as Linux does once it has caught up. Stop PASID markers are consumed but not
 * reported (they need no response and the core has no notion of them). One lock serialises the
 * interrupt thread and drains; the reporter only enqueues.
 */
final class PriQueueReader {
    static final int LOG2_ENTRIES = 8;

    private final OutputQueue queue;
    private final PageRequestReporter reporter;

    PriQueueReader(Mmio mmio, PhysicalMemory memory, long base, PageRequestReporter reporter) {
        this.queue = new OutputQueue(mmio, memory, base, SmmuRegisters.PRIQ_PROD, SmmuRegisters.PRIQ_CONS, LOG2_ENTRIES, PRI_BYTES);
        this.reporter = reporter;
    }

    long bytes() {
        return queue.bytes();
    }

    /** Number of overflows acknowledged (OVFLG toggles seen). */
    long overflows() {
        return queue.overflows();
    }

    /** Reads and reports everything up to PRIQ_PROD, then acknowledges an overflow. */
    void drain() {
        queue.drain(words -> {
            if (!PriQueueRecord.isStopMarker(words[0])) {
                reporter.report(decode(words[0], words[1]));
            }
        });
    }

    /** The page request a PRI queue record describes. */
    static PageRequest decode(long d0, long d1) {
        PriQueueRecord record = PriQueueRecord.of(d0, d1);
        boolean ssv = PriQueueRecord.SSV.isSet(d0);
        int sid = (int) PriQueueRecord.SID.get(d0);
        return new PageRequest(RequesterId.of(sid & 0xFFFF), ssv ? (int) PriQueueRecord.SSID.get(d0) : Pasid.NONE,
                d1 & PriQueueRecord.ADDR.mask(), PriQueueRecord.READ.isSet(d0), PriQueueRecord.WRITE.isSet(d0),
                PriQueueRecord.EXEC.isSet(d0), PriQueueRecord.PRIV.isSet(d0), (int) PriQueueRecord.PRG_INDEX.get(d1),
                PriQueueRecord.LAST.isSet(d0), record);
    }
}
