package dev.iommukit.backend.smmuv3.hw;

import dev.iommukit.spi.iopf.PageResponsePort;
import static dev.iommukit.backend.smmuv3.arch.QueueRegisters.*;

import dev.iommukit.backend.smmuv3.arch.ControlRegisters;
import dev.iommukit.backend.smmuv3.arch.Idr3;
import dev.iommukit.backend.smmuv3.arch.PriQueueRecord;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.InterruptLine;

/**
 * The producer side of the PRI queue (spec §1.8, §6.4; SMMU chapter 8). A page request message is
 * written as a 16-byte record at PRIQ_PROD while the queue is enabled (CR0.PRIQEN with SMMUEN)
 * and no PRIQ_ABT_ERR is active; otherwise it is discarded and every page request (not a Stop
 * PASID marker) gets an automatic ResponseFailure without PASID. A message that finds the queue
 * full toggles PRIQ_PROD.OVFLG; while OVFLG differs from PRIQ_CONS.OVACKFLG nothing is written,
 * a discarded request with Last=1 gets an automatic response (Success; with the request's PASID
 * when STE.PPAR=1, IDR3.PPS being 0; ResponseFailure without PASID when the STE cannot be
 * checked), Last=0 requests and Stop markers are dropped silently. A write that aborts activates
 * GERROR.PRIQ_ABT_ERR and answers the request with ResponseFailure. The interrupt (PRIQ_IRQEN:
 * MSI to PRIQ_IRQ_CFG0, or the wired line when that is 0) fires when the queue goes from empty to
 * non-empty, or with PRIQ_IRQ_CFG2.LO=1 for every Last=1 message written or discarded by overflow.
 * Page requests are queued whatever the STE of their stream says (EATS and ATSCHK do not apply).
 */
final class PriQueueWriter {
    /** What the STE of a stream says about PRG response PASIDs, for overflow auto-responses. */
    @FunctionalInterface
    interface PparLookup {
        /** 1 when STE.PPAR=1, 0 when 0, -1 when the STE cannot be checked (recording events as the spec says). */
        int ppar(PageRequestMessage message);
    }

    private enum Outcome { WRITTEN, WRITTEN_FIRST, DISABLED, ABORTED, OVERFLOW }

    private final RegisterFile regs;
    private final PhysicalMemory memory;
    private final InterruptLine irq;
    private final PageResponsePort responses;
    private final PparLookup stes;

    PriQueueWriter(RegisterFile regs, PhysicalMemory memory, InterruptLine irq, PageResponsePort responses, PparLookup stes) {
        this.regs = regs;
        this.memory = memory;
        this.irq = irq;
        this.responses = responses;
        this.stes = stes;
    }

    /** Takes one PCIe page request message (or Stop PASID marker) from a device. */
    void pageRequest(PageRequestMessage m) {
        boolean stop = m.hasPasid() && m.last() && !m.read() && !m.write();
        Outcome outcome;
        synchronized (this) {
            outcome = enqueue(m);
        }
        boolean lastOnly = ControlRegisters.PRIQ_IRQ_CFG2_LO.isSet(regs.priqIrqCfg2 & 0xFFFF_FFFFL);
        switch (outcome) {
            case WRITTEN, WRITTEN_FIRST -> {
                if (lastOnly ? m.last() : outcome == Outcome.WRITTEN_FIRST) {
                    interrupt();
                }
            }
            case DISABLED, ABORTED -> {
                if (!stop) {
                    respond(m, Pasid.NONE, PageResponseCode.RESPONSE_FAILURE);
                }
            }
            case OVERFLOW -> {
                if (!stop && m.last()) {
                    overflowResponse(m);
                }
                if (lastOnly && m.last()) {
                    interrupt();
                }
            }
        }
    }

    private Outcome enqueue(PageRequestMessage m) {
        int abt = (int) ControlRegisters.GERROR_PRIQ_ABT_ERR.mask();
        if (!regs.priqEnabled() || regs.gerrorActive(abt)) {
            return Outcome.DISABLED;
        }
        long base = regs.priqBase;
        int qs = RegisterFile.queueLog2(base);
        int prod = regs.priqProd;
        int cons = regs.priqCons;
        int ovf = (int) OVERFLOW.mask();
        if ((prod & ovf) != (cons & ovf)) {
            return Outcome.OVERFLOW;
        }
        if (full(prod, cons, qs)) {
            regs.priqProd = prod ^ ovf;
            return Outcome.OVERFLOW;
        }
        boolean ssv = m.hasPasid();
        long d0 = PriQueueRecord.dword0(m.rid(), ssv, m.pasid(), m.privileged(), m.execute(), m.read(), m.write(), m.last());
        long d1 = PriQueueRecord.dword1(m.groupIndex(), m.pageAddress());
        long slot = CommandProcessor.queueAddress(base, qs, PRI_BYTES) + (long) index(prod, qs) * PRI_BYTES;
        try {
            memory.write64(slot, d0);
            memory.write64(slot + 8, d1);
        } catch (ExternalAbortException e) {
            regs.raiseGerror(abt);
            return Outcome.ABORTED;
        }
        boolean wasEmpty = empty(prod, cons, qs);
        regs.priqProd = increment(prod, qs) | (prod & ovf);
        return wasEmpty ? Outcome.WRITTEN_FIRST : Outcome.WRITTEN;
    }

    /** The automatic response to a Last=1 request discarded because of overflow (spec 8.1). */
    private void overflowResponse(PageRequestMessage m) {
        if (!m.hasPasid()) {
            respond(m, Pasid.NONE, PageResponseCode.SUCCESS);
            return;
        }
        if (Idr3.PPS.isSet(regs.idr3 & 0xFFFF_FFFFL)) {
            respond(m, m.pasid(), PageResponseCode.SUCCESS);
            return;
        }
        int ppar = stes.ppar(m);
        if (ppar < 0) {
            respond(m, Pasid.NONE, PageResponseCode.RESPONSE_FAILURE);
        } else {
            respond(m, ppar == 1 ? m.pasid() : Pasid.NONE, PageResponseCode.SUCCESS);
        }
    }

    private void respond(PageRequestMessage m, int pasid, PageResponseCode code) {
        responses.send(new PageResponseMessage(m.rid(), pasid, m.groupIndex(), code));
    }

    private void interrupt() {
        if (!ControlRegisters.IRQ_PRIQ_IRQEN.isSet(regs.irqCtrl)) {
            return;
        }
        long msi = regs.priqIrqCfg0 & 0x000F_FFFF_FFFF_FFFCL;
        if (msi == 0) {
            irq.raise();
            return;
        }
        try {
            memory.write32(msi, regs.priqIrqCfg1);
        } catch (ExternalAbortException e) {
            regs.raiseGerror((int) ControlRegisters.GERROR_MSI_PRIQ_ABT_ERR.mask());
        }
    }

    /** Software wrote PRIQ_CONS (index, wrap and OVACKFLG). */
    synchronized void consumerWritten(int value) {
        regs.priqCons = value;
    }
}
