package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.arch.QueueRegisters.*;

import dev.iommukit.backend.smmuv3.arch.ControlRegisters;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.InterruptLine;

/**
 * The producer side of the event queue (spec §1.8, §6.4): writes records at EVENTQ_PROD while the
 * queue is enabled, discards them and toggles OVFLG when it is full, raises GERROR.EVENTQ_ABT_ERR
 * when the queue memory aborts, and raises the event interrupt when EVENTQ_IRQEN is set.
 */
final class EventQueueWriter {
    private final RegisterFile regs;
    private final PhysicalMemory memory;
    private final InterruptLine irq;

    EventQueueWriter(RegisterFile regs, PhysicalMemory memory, InterruptLine irq) {
        this.regs = regs;
        this.memory = memory;
        this.irq = irq;
    }

    /** Records one event; raises the interrupt (outside any lock) when one was written. */
    void record(long[] event) {
        if (write(event) && ControlRegisters.IRQ_EVENTQ_IRQEN.isSet(regs.irqCtrl)) {
            irq.raise();
        }
    }

    private synchronized boolean write(long[] event) {
        if (!regs.eventqEnabled()) {
            return false;
        }
        long base = regs.eventqBase;
        int qs = RegisterFile.queueLog2(base);
        int prod = regs.eventqProd;
        int cons = regs.eventqCons;
        int ovf = (int) OVERFLOW.mask();
        if (full(prod, cons, qs)) {
            if ((prod & ovf) == (cons & ovf)) {
                regs.eventqProd = prod ^ ovf;
            }
            return false;
        }
        long slot = address(base) + (long) index(prod, qs) * EVENT_BYTES;
        try {
            for (int i = 0; i < 4; i++) {
                memory.write64(slot + 8L * i, event[i]);
            }
        } catch (ExternalAbortException e) {
            regs.raiseGerror((int) ControlRegisters.GERROR_EVENTQ_ABT_ERR.mask());
            return false;
        }
        regs.eventqProd = increment(prod, qs) | (prod & ovf);
        return true;
    }

    /** Software wrote EVENTQ_CONS. */
    synchronized void consumerWritten(int value) {
        regs.eventqCons = value;
    }
}
