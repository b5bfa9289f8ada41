package dev.iommukit.backend.vtd.hw;

import dev.iommukit.spi.iopf.PageResponsePort;
import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;

import dev.iommukit.backend.vtd.arch.FaultRecord;
import dev.iommukit.backend.vtd.arch.PageRequestDescriptor;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.InterruptLine;
import dev.iommukit.spi.mmio.Mmio;
import dev.iommukit.spi.tlb.TranslationCache;

/**
 * The hardware half of a VT-d 3.x remapping unit in scalable mode: its register file (this
 * {@link Mmio}), its caches, its invalidation queue and its DMA input ({@link #dmaPort()}).
 *
 * <p>GCMD is a write-only command register acting on edges (digest §1.4); FRCD F, FSTS PFO/IQE/
 * ICE/ITE, ICS IWC and PRS PPR/PRO are write-1-to-clear; register-based invalidation (CCMD, IOTLB_REG) completes
 * at once as a no-op, as scalable mode requires (digest §1.6). Interrupts are raised after every
 * lock is released, on the thread that caused them.
 */
public final class VtdHardware implements Mmio {
    private final HardwareModel model;
    private final PhysicalMemory memory;
    private final long[] words = new long[WINDOW / 8];
    private final Object lock = new Object();
    private final int frcdBase;
    private final int frcdCount;
    private final int ivaOffset;
    private final int iotlbOffset;
    private final ConfigCaches configCaches = new ConfigCaches();
    private final TranslationCache iotlb = new TranslationCache(4096, 12, 21, 30);
    private final InvalidationEngine invalidation;
    private final RemappingEngine remapping;
    private final PageResponsePort pageResponses = new PageResponsePort();
    private final PageRequestEngine pageRequests;
    private final VtdDmaPort dmaPort;
    private volatile InterruptLine pageRequestEvent = InterruptLine.NONE;
    private volatile InterruptLine faultEvent = InterruptLine.NONE;
    private volatile InterruptLine invalidationEvent = InterruptLine.NONE;
    private volatile long latchedRootTable;
    private volatile boolean translationEnabled;
    private int nextFaultIndex;

    public VtdHardware(PhysicalMemory memory, HardwareModel model) {
        this.memory = memory;
        this.model = model;
        this.frcdBase = frcd(model.cap().fro(), 0);
        this.frcdCount = model.cap().faultRecordCount();
        this.ivaOffset = iva(model.ecap().iro());
        this.iotlbOffset = iotlb(model.ecap().iro());
        this.invalidation = new InvalidationEngine(this, memory, configCaches, iotlb);
        this.remapping = new RemappingEngine(this, memory, configCaches, iotlb, invalidation.walkLock());
        this.pageRequests = new PageRequestEngine(this, memory, remapping, iotlb, pageResponses);
        this.dmaPort = new VtdDmaPort(remapping, pageRequests, pageResponses, model.ecap().dt(), model.ecap().prs());
        reset();
    }

    private void reset() {
        synchronized (lock) {
            java.util.Arrays.fill(words, 0);
            set32(VER_REG, model.version());
            words[CAP_REG / 8] = model.cap().encode();
            words[ECAP_REG / 8] = model.ecap().encode();
            set32(FECTL_REG, ECTL_IM);
            set32(IECTL_REG, ECTL_IM);
            set32(PECTL_REG, ECTL_IM);
        }
    }

    public HardwareModel model() {
        return model;
    }

    /** Where devices send DMA. */
    public DmaPort dmaPort() {
        return dmaPort;
    }

    /** Wires the fault event (FECTL/FEDATA/FEADDR MSI) to {@code line}. */
    public void connectFaultEvent(InterruptLine line) {
        this.faultEvent = line;
    }

    /** Wires the page request event (PECTL/PEDATA/PEADDR MSI) to {@code line}. */
    public void connectPageRequestEvent(InterruptLine line) {
        this.pageRequestEvent = line;
    }

    /** Wires the invalidation completion event (IECTL) to {@code line}. */
    public void connectInvalidationEvent(InterruptLine line) {
        this.invalidationEvent = line;
    }

    boolean translationEnabled() {
        return translationEnabled;
    }

    /** RTADDR as latched by the last SRTP. */
    long latchedRootTable() {
        return latchedRootTable;
    }

    int frcdCount() {
        return frcdCount;
    }

    // ---- register storage (callers hold lock) ----

    private int get32(int off) {
        return (int) (words[off >>> 3] >>> ((off & 4) * 8));
    }

    private void set32(int off, int value) {
        int shift = (off & 4) * 8;
        words[off >>> 3] = (words[off >>> 3] & ~(0xFFFF_FFFFL << shift)) | ((value & 0xFFFF_FFFFL) << shift);
    }

    long get64(int off) {
        synchronized (lock) {
            return words[off >>> 3];
        }
    }

    private boolean is64BitRegister(int off8) {
        return off8 == CAP_REG || off8 == ECAP_REG || off8 == RTADDR_REG || off8 == CCMD_REG || off8 == IQH_REG || off8 == IQT_REG
                || off8 == IQA_REG || off8 == IQERCD_REG || off8 == PQH_REG || off8 == PQT_REG || off8 == PQA_REG
                || off8 == ivaOffset || off8 == iotlbOffset
                || (off8 >= frcdBase && off8 < frcdBase + 16 * frcdCount);
    }

    // ---- MMIO ----

    @Override
    public int read32(long offset) {
        int off = checkOffset(offset, 4);
        if (off == GCMD_REG) {
            return 0;
        }
        synchronized (lock) {
            return get32(off);
        }
    }

    @Override
    public long read64(long offset) {
        int off = checkOffset(offset, 8);
        synchronized (lock) {
            long v = words[off >>> 3];
            return off == GCMD_REG ? v & 0xFFFF_FFFF_0000_0000L : v;
        }
    }

    @Override
    public void write32(long offset, int value) {
        int off = checkOffset(offset, 4);
        int shift = (off & 4) * 8;
        write(off & ~7, (value & 0xFFFF_FFFFL) << shift, 0xFFFF_FFFFL << shift);
    }

    @Override
    public void write64(long offset, long value) {
        int off = checkOffset(offset, 8);
        write(off, value, -1L);
    }

    private static int checkOffset(long offset, int size) {
        if (offset < 0 || offset + size > WINDOW || (offset & (size - 1)) != 0) {
            throw new IllegalArgumentException("VT-d register access outside the window or misaligned: 0x" + Long.toHexString(offset));
        }
        return (int) offset;
    }

    /** Side effects to run once the register lock is released. */
    private static final class Actions {
        boolean processQueue;
        boolean faultEvent;
        boolean invalidationEvent;
        boolean pageRequestEvent;
    }

    private void write(int off8, long value, long mask) {
        Actions a = new Actions();
        synchronized (lock) {
            if (is64BitRegister(off8)) {
                write64Register(off8, value, mask, a);
            } else {
                if ((mask & 0xFFFF_FFFFL) != 0) {
                    write32Register(off8, (int) value, a);
                }
                if ((mask >>> 32) != 0) {
                    write32Register(off8 + 4, (int) (value >>> 32), a);
                }
            }
        }
        runActions(a);
    }

    private void runActions(Actions a) {
        if (a.processQueue) {
            invalidation.process();
        }
        if (a.faultEvent) {
            faultEvent.raise();
        }
        if (a.invalidationEvent) {
            invalidationEvent.raise();
        }
        if (a.pageRequestEvent) {
            pageRequestEvent.raise();
        }
    }

    private void write64Register(int off, long value, long mask, Actions a) {
        long old = words[off >>> 3];
        long merged = (old & ~mask) | (value & mask);
        if (off == RTADDR_REG || off == IQA_REG || off == ivaOffset) {
            words[off >>> 3] = merged;
        } else if (off == PQH_REG || off == PQT_REG) {
            words[off >>> 3] = merged & PQ_OFFSET_MASK;
        } else if (off == PQA_REG) {
            words[off >>> 3] = merged & (PQA_BASE_MASK | PQA_PQS_MASK);
        } else if (off == IQT_REG) {
            words[off >>> 3] = merged & IQ_OFFSET_MASK;
            a.processQueue = true;
        } else if (off == CCMD_REG) {
            // Scalable mode: register-based context invalidation is a no-op; ICC clears, CAIG = 0.
            words[off >>> 3] = merged & ~(CCMD_ICC | (3L << 59));
        } else if (off == iotlbOffset) {
            words[off >>> 3] = merged & ~(IOTLB_IVT | (3L << 57));
        } else if (off >= frcdBase && ((off - frcdBase) & 8) != 0) {
            // FRCD high qword: only F (bit 127) is writable, write 1 to clear.
            if ((value & mask & FaultRecord.F) != 0 && (old & FaultRecord.F) != 0) {
                words[off >>> 3] = old & ~FaultRecord.F;
                updatePendingFault();
            }
        }
        // CAP, ECAP, IQH, IQERCD and FRCD low qwords are read-only.
    }

    private void write32Register(int off, int value, Actions a) {
        switch (off) {
            case GCMD_REG -> command(value, a);
            case FSTS_REG -> {
                int clear = value & (FSTS_PFO | FSTS_IQE | FSTS_ICE | FSTS_ITE);
                int old = get32(FSTS_REG);
                set32(FSTS_REG, old & ~clear);
                if ((old & clear & FSTS_IQE) != 0) {
                    a.processQueue = true;
                }
                clearPendingIfQuiet();
            }
            case FECTL_REG -> {
                int old = get32(FECTL_REG);
                int now = (old & ECTL_IP) | (value & ECTL_IM);
                if ((now & ECTL_IM) == 0 && (now & ECTL_IP) != 0) {
                    now &= ~ECTL_IP;
                    a.faultEvent = true;
                }
                set32(FECTL_REG, now);
            }
            case IECTL_REG -> {
                int old = get32(IECTL_REG);
                int now = (old & ECTL_IP) | (value & ECTL_IM);
                if ((now & ECTL_IM) == 0 && (now & ECTL_IP) != 0) {
                    now &= ~ECTL_IP;
                    a.invalidationEvent = true;
                }
                set32(IECTL_REG, now);
            }
            case PRS_REG -> {
                int now = get32(PRS_REG) & ~(value & (PRS_PPR | PRS_PRO));
                set32(PRS_REG, now);
                if ((now & (PRS_PPR | PRS_PRO)) == 0) {
                    // Software serviced the status: a held page request event is dropped.
                    set32(PECTL_REG, get32(PECTL_REG) & ~ECTL_IP);
                }
            }
            case PECTL_REG -> {
                int old = get32(PECTL_REG);
                int now = (old & ECTL_IP) | (value & ECTL_IM);
                if ((now & ECTL_IM) == 0 && (now & ECTL_IP) != 0) {
                    now &= ~ECTL_IP;
                    a.pageRequestEvent = true;
                }
                set32(PECTL_REG, now);
            }
            case ICS_REG -> {
                if ((value & ICS_IWC) != 0) {
                    set32(ICS_REG, 0);
                    set32(IECTL_REG, get32(IECTL_REG) & ~ECTL_IP);
                }
            }
            case FEDATA_REG, FEADDR_REG, FEUADDR_REG, IEDATA_REG, IEADDR_REG, IEUADDR_REG, PEDATA_REG, PEADDR_REG, PEUADDR_REG ->
                    set32(off, value);
            default -> { } // read-only or reserved
        }
    }

    private void command(int gcmd, Actions a) {
        int gsts = get32(GSTS_REG);
        if ((gcmd & GCMD_SRTP) != 0) {
            latchedRootTable = words[RTADDR_REG >>> 3];
            gsts |= GSTS_RTPS;
        }
        if ((gcmd & GCMD_QIE) != 0 && (gsts & GSTS_QIES) == 0) {
            gsts |= GSTS_QIES;
        } else if ((gcmd & GCMD_QIE) == 0 && (gsts & GSTS_QIES) != 0) {
            gsts &= ~GSTS_QIES;
            words[IQH_REG >>> 3] = 0;
        }
        if ((gcmd & GCMD_TE) != 0 && (gsts & GSTS_TES) == 0) {
            gsts |= GSTS_TES;
            translationEnabled = true;
        } else if ((gcmd & GCMD_TE) == 0 && (gsts & GSTS_TES) != 0) {
            gsts &= ~GSTS_TES;
            translationEnabled = false;
            if ((gsts & GSTS_IRES) == 0) {
                nextFaultIndex = 0;
            }
        }
        set32(GSTS_REG, gsts);
    }

    // ---- fault recording (digest §1.7, §1.8) ----

    private static final int EVENT_STATUS = FSTS_PPF | FSTS_PFO | FSTS_IQE | FSTS_ICE | FSTS_ITE;

    private void updatePendingFault() {
        boolean pending = false;
        for (int i = 0; i < frcdCount; i++) {
            pending |= (words[(frcdBase + 16 * i + 8) >>> 3] & FaultRecord.F) != 0;
        }
        int fsts = get32(FSTS_REG);
        set32(FSTS_REG, pending ? fsts | FSTS_PPF : fsts & ~FSTS_PPF);
        clearPendingIfQuiet();
    }

    private void clearPendingIfQuiet() {
        if ((get32(FSTS_REG) & EVENT_STATUS) == 0) {
            set32(FECTL_REG, get32(FECTL_REG) & ~ECTL_IP);
        }
    }

    /** Sets IP and reports whether the MSI is to be sent now (IM=0). Caller holds the lock. */
    private boolean faultEventLocked() {
        int fectl = get32(FECTL_REG);
        if ((fectl & ECTL_IM) != 0) {
            set32(FECTL_REG, fectl | ECTL_IP);
            return false;
        }
        return true;
    }

    /**
     * Records {@code record} by the primary fault logging rules of digest §1.8 and raises the
     * fault event when they say so. Returns whether it was recorded.
     */
    boolean recordFault(FaultRecord record) {
        boolean raise = false;
        boolean recorded = false;
        synchronized (lock) {
            int fsts = get32(FSTS_REG);
            boolean quiet = (fsts & EVENT_STATUS) == 0;
            if ((fsts & FSTS_PFO) == 0) {
                int hiOff = frcdBase + 16 * nextFaultIndex + 8;
                if ((words[hiOff >>> 3] & FaultRecord.F) != 0) {
                    set32(FSTS_REG, fsts | FSTS_PFO);
                    raise = quiet && faultEventLocked();
                } else {
                    words[(hiOff - 8) >>> 3] = record.low();
                    words[hiOff >>> 3] = record.high() | FaultRecord.F;
                    if ((fsts & FSTS_PPF) == 0) {
                        fsts = (fsts & ~FSTS_FRI_MASK) | (nextFaultIndex << FSTS_FRI_SHIFT) | FSTS_PPF;
                        set32(FSTS_REG, fsts);
                        raise = quiet && faultEventLocked();
                    }
                    nextFaultIndex = (nextFaultIndex + 1) % frcdCount;
                    recorded = true;
                }
            }
        }
        if (raise) {
            faultEvent.raise();
        }
        return recorded;
    }

    // ---- invalidation queue register access for the engine ----

    /** A consistent snapshot of the queue registers, or null when the queue must not run. */
    QueueState queueState() {
        synchronized (lock) {
            int gsts = get32(GSTS_REG);
            if ((gsts & GSTS_QIES) == 0 || (get32(FSTS_REG) & FSTS_IQE) != 0) {
                return null;
            }
            return new QueueState(words[IQH_REG >>> 3], words[IQT_REG >>> 3], words[IQA_REG >>> 3],
                    (int) ((latchedRootTable & RTADDR_TTM_MASK) >>> RTADDR_TTM_SHIFT));
        }
    }

    /** Queue registers as the engine reads them. */
    record QueueState(long head, long tail, long iqa, int ttm) {}

    void advanceHead(long head) {
        synchronized (lock) {
            words[IQH_REG >>> 3] = head & IQ_OFFSET_MASK;
        }
    }

    /** Sets FSTS.IQE with {@code iqei}; the queue stops at IQH. */
    void queueError(int iqei) {
        boolean raise;
        synchronized (lock) {
            int fsts = get32(FSTS_REG);
            boolean quiet = (fsts & EVENT_STATUS) == 0;
            words[IQERCD_REG >>> 3] = (words[IQERCD_REG >>> 3] & ~0xFL) | iqei;
            set32(FSTS_REG, fsts | FSTS_IQE);
            raise = quiet && faultEventLocked();
        }
        if (raise) {
            faultEvent.raise();
        }
    }

    /** Sets ICS.IWC and raises the invalidation completion event as IECTL says. */
    void waitCompleted() {
        boolean raise = false;
        synchronized (lock) {
            if ((get32(ICS_REG) & ICS_IWC) == 0) {
                set32(ICS_REG, ICS_IWC);
                int iectl = get32(IECTL_REG);
                if ((iectl & ECTL_IM) != 0) {
                    set32(IECTL_REG, iectl | ECTL_IP);
                } else {
                    raise = true;
                }
            }
        }
        if (raise) {
            invalidationEvent.raise();
        }
    }

    // ---- page request queue (digest §1.10, §12) ----

    /**
     * Where a page request descriptor goes ({@code address}, and the PQT after it), or {@code
     * address} -1 when the request is dropped; {@code raise} says whether the page request event
     * is to be sent now.
     */
    record PageRequestSlot(long address, long nextTail, boolean raise) {}

    /**
     * The slot at PQT; or a drop when PRS.PRO is set (nothing reported) or the queue is full (PQT
     * one entry behind PQH), which sets PRO and is a page request event condition.
     */
    PageRequestSlot claimPageRequestSlot() {
        synchronized (lock) {
            int prs = get32(PRS_REG);
            if ((prs & PRS_PRO) != 0) {
                return new PageRequestSlot(-1, 0, false);
            }
            long pqa = words[PQA_REG >>> 3];
            long size = 4096L << (pqa & PQA_PQS_MASK);
            long tail = (words[PQT_REG >>> 3] & PQ_OFFSET_MASK) % size;
            long head = (words[PQH_REG >>> 3] & PQ_OFFSET_MASK) % size;
            long next = (tail + PageRequestDescriptor.SIZE) % size;
            if (next == head) {
                set32(PRS_REG, prs | PRS_PRO);
                return new PageRequestSlot(-1, 0, pageRequestEventLocked(prs));
            }
            return new PageRequestSlot((pqa & PQA_BASE_MASK) + tail, next, false);
        }
    }

    /**
     * Advances PQT past the descriptor written at {@code slot} and sets PRS.PPR, which is a page
     * request event condition when it was clear. Returns whether the event is to be sent now.
     */
    boolean publishPageRequest(PageRequestSlot slot) {
        synchronized (lock) {
            words[PQT_REG >>> 3] = slot.nextTail();
            int prs = get32(PRS_REG);
            if ((prs & PRS_PPR) != 0) {
                return false;
            }
            set32(PRS_REG, prs | PRS_PPR);
            return pageRequestEventLocked(prs);
        }
    }

    /**
     * A page request event condition with PRS as it was before: none when PPR or PRO was already
     * set; otherwise PECTL.IP is set, and the event is sent (IP cleared) unless IM masks it.
     */
    private boolean pageRequestEventLocked(int previousPrs) {
        if ((previousPrs & (PRS_PPR | PRS_PRO)) != 0) {
            return false;
        }
        int pectl = get32(PECTL_REG);
        if ((pectl & ECTL_IM) != 0) {
            set32(PECTL_REG, pectl | ECTL_IP);
            return false;
        }
        return true;
    }

    /** Sends the page request event (called with no lock held). */
    void raisePageRequestEvent() {
        pageRequestEvent.raise();
    }

    /** Waits for page requests in flight (inv_wait PD). */
    void drainPageRequests() {
        pageRequests.drain();
    }

    /** Where page group responses leave the unit. */
    PageResponsePort pageResponses() {
        return pageResponses;
    }
}
