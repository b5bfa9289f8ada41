package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.arch.SmmuRegisters.*;

import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseMessage;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.Mmio;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The hardware half with PRI, programmed by hand: RAM at 1 GiB, a linear stream table of 256
 * STEs, a 16-entry command queue, an 8-entry event queue and a 4-entry PRI queue; page responses
 * collected, both interrupts counted.
 */
final class PriRig {
    static final long RAM = 0x4000_0000L;
    static final long STRTAB = RAM;
    static final long CMDQ = RAM + 0x10000;
    static final long EVENTQ = RAM + 0x11000;
    static final long PRIQ = RAM + 0x12000;
    static final long FREE = RAM + 0x100000;
    static final int PRIQ_LOG2 = 2;

    final PhysicalMemory memory = PhysicalMemory.of(RAM, 64L << 20);
    final AtomicInteger eventInterrupts = new AtomicInteger();
    final AtomicInteger priInterrupts = new AtomicInteger();
    final List<PageResponseMessage> responses = new CopyOnWriteArrayList<>();
    final SmmuV3Hardware hw;
    final Mmio regs;
    private int prod;

    PriRig() {
        this(true);
    }

    PriRig(boolean pri) {
        hw = new SmmuV3Hardware(memory, 8, eventInterrupts::incrementAndGet, priInterrupts::incrementAndGet, pri);
        regs = hw.registers();
        hw.dmaPort().connectPageResponses(responses::add);
    }

    /** Programs tables and queues (PRI queue of 4 entries) and enables everything with the interrupts. */
    PriRig enable() {
        regs.write64(STRTAB_BASE, STRTAB);
        regs.write32(STRTAB_BASE_CFG, 8);
        regs.write64(CMDQ_BASE, CMDQ | 4);
        regs.write64(EVENTQ_BASE, EVENTQ | 3);
        regs.write64(PRIQ_BASE, PRIQ | PRIQ_LOG2);
        regs.write32(IRQ_CTRL, 7);
        regs.write32(CR0, 0b11111);
        return this;
    }

    void command(long[] c) {
        long slot = CMDQ + 16L * (prod & 15);
        memory.write64(slot, c[0]);
        memory.write64(slot + 8, c[1]);
        prod = (prod + 1) & 31;
        regs.write32(CMDQ_PROD, prod);
    }

    void sync() {
        command(Command.sync());
    }

    void ste(int sid, long... words) {
        for (int i = 0; i < 8; i++) {
            memory.write64(STRTAB + 64L * sid + 8L * i, i < words.length ? words[i] : 0);
        }
    }

    void words(long at, long... words) {
        for (int i = 0; i < words.length; i++) {
            memory.write64(at + 8L * i, words[i]);
        }
    }

    void pageRequest(int sid, int pasid, long page, boolean read, boolean write, int group, boolean last) {
        hw.dmaPort().pageRequest(new PageRequestMessage(sid, pasid, page, read, write, false, false, group, last));
    }

    long[] priEntry(int index) {
        long at = PRIQ + 16L * index;
        return new long[] {memory.read64(at), memory.read64(at + 8)};
    }

    long[] event(int index) {
        long at = EVENTQ + 32L * index;
        return new long[] {memory.read64(at), memory.read64(at + 8), memory.read64(at + 16), memory.read64(at + 24)};
    }

    TranslationOutcome ats(int sid, int pasid, long address, AccessType access) {
        TranslationOutcome out = new TranslationOutcome();
        hw.dmaPort().translateAts(DmaRequest.of(sid, pasid, address, 4, access), out);
        return out;
    }

    TranslationOutcome dma(int sid, int pasid, long address, AccessType access) {
        TranslationOutcome out = new TranslationOutcome();
        hw.dmaPort().translate(DmaRequest.of(sid, pasid, address, 4, access), out);
        return out;
    }
}
