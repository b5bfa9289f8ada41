package dev.iommukit.backend.smmuv3.driver;

import static dev.iommukit.backend.smmuv3.arch.QueueRegisters.*;

import dev.iommukit.backend.smmuv3.arch.EventRecord;
import dev.iommukit.backend.smmuv3.arch.EventType;
import dev.iommukit.backend.smmuv3.arch.SmmuRegisters;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultReporter;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.Mmio;
import java.util.function.BiPredicate;

/**
 * The consumer side of the event queue: on the event interrupt, reads every record between
 * EVENTQ_CONS and EVENTQ_PROD, decodes it into a {@link Fault} and reports it once, then moves
 * EVENTQ_CONS on (acknowledging an overflow by copying OVFLG).
 */
final class EventQueueReader {
    static final int LOG2_ENTRIES = 7;

    private final OutputQueue queue;
    private final FaultReporter reporter;
    private final BiPredicate<Integer, Integer> attachedAt;

    /**
     * @param attachedAt whether the driver has a domain at (sid, ssid): a C_BAD_CD for an empty
     *     substream slot is reported as BLOCKED
     */
    EventQueueReader(Mmio mmio, PhysicalMemory memory, long base, FaultReporter reporter, BiPredicate<Integer, Integer> attachedAt) {
        this.queue = new OutputQueue(mmio, memory, base, SmmuRegisters.EVENTQ_PROD, SmmuRegisters.EVENTQ_CONS, LOG2_ENTRIES, EVENT_BYTES);
        this.reporter = reporter;
        this.attachedAt = attachedAt;
    }

    long bytes() {
        return queue.bytes();
    }

    /** Number of overflows seen (OVFLG toggles acknowledged). */
    long overflows() {
        return queue.overflows();
    }

    void drain() {
        queue.drain(words -> reporter.report(decode(words)));
    }

    Fault decode(long[] words) {
        EventRecord record = EventRecord.of(words);
        int sid = (int) EventRecord.SID.get(words[0]);
        boolean ssv = EventRecord.SSV.isSet(words[0]);
        EventType type = record.type();
        // C_BAD_SUBSTREAMID always carries its SubstreamID, without SSV (spec 7.3.9)
        int pasid = ssv || type == EventType.C_BAD_SUBSTREAMID ? (int) EventRecord.SSID.get(words[0]) : Pasid.NONE;
        FaultReason reason;
        if (type == null) {
            reason = FaultReason.BAD_CONFIGURATION;
        } else {
            reason = type.reason(type != EventType.C_BAD_CD || attachedAt.test(sid, ssv ? pasid : 0));
            if (type == EventType.C_BAD_SUBSTREAMID && pasid == 0 && !ssv) {
                pasid = Pasid.NONE;
            }
        }
        AccessType access = EventRecord.RNW.isSet(words[1]) ? AccessType.READ : AccessType.WRITE;
        return new Fault(RequesterId.of(sid & 0xFFFF), pasid, words[2], access, reason, record, record.stage());
    }
}
