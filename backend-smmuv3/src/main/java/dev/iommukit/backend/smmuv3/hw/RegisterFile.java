package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.arch.ControlRegisters.*;
import static dev.iommukit.backend.smmuv3.arch.SmmuRegisters.*;

import dev.iommukit.backend.smmuv3.arch.Idr0;
import dev.iommukit.backend.smmuv3.arch.Idr1;
import dev.iommukit.backend.smmuv3.arch.Idr3;
import dev.iommukit.backend.smmuv3.arch.Idr5;
import dev.iommukit.backend.smmuv3.arch.QueueRegisters;
import dev.iommukit.spi.mmio.Mmio;

/**
 * The SMMUv3 register file: ID registers fixed at build, control registers with their
 * architectural side effects (CR0ACK and IRQ_CTRLACK follow at once, GBPA takes writes only with
 * UPDATE=1, base registers are writable only while their unit is disabled, CMDQ_PROD starts
 * command consumption, GERRORN acknowledgement restarts a stopped command queue). Unknown and
 * reserved offsets read as zero and ignore writes.
 */
final class RegisterFile implements Mmio {
    /** GBPA reset value: ABORT=1, so that nothing passes before a driver takes over (IMPDEF choice). */
    static final int GBPA_RESET = (int) GBPA_ABORT.of(1);
    static final int QUEUE_MAX_LOG2 = 19;

    final int idr0;
    final int idr1;
    final int idr3;
    final int idr5;
    final int iidr = 0;
    /** AIDR: ArchMajorRev 0 / ArchMinorRev 2 (SMMUv3.2 behaviour of GBPA.UPDATE). */
    final int aidr = 0x02;

    volatile int cr0;
    volatile int cr0ack;
    volatile int cr1;
    volatile int cr2;
    volatile int gbpa = GBPA_RESET;
    volatile int irqCtrl;
    volatile int irqCtrlAck;
    volatile int gerror;
    volatile int gerrorn;
    volatile long gerrorIrqCfg0;
    volatile int gerrorIrqCfg1;
    volatile int gerrorIrqCfg2;
    volatile long strtabBase;
    volatile int strtabBaseCfg;
    volatile long cmdqBase;
    volatile int cmdqProd;
    volatile int cmdqCons;
    volatile long eventqBase;
    volatile int eventqProd;
    volatile int eventqCons;
    volatile long eventqIrqCfg0;
    volatile int eventqIrqCfg1;
    volatile int eventqIrqCfg2;
    volatile long priqBase;
    volatile int priqProd;
    volatile int priqCons;
    volatile long priqIrqCfg0;
    volatile int priqIrqCfg1;
    volatile int priqIrqCfg2;

    private final SmmuV3Hardware hardware;

    /** IDR0.PRI: the PRI queue registers exist and CR0.PRIQEN / IRQ_CTRL.PRIQ_IRQEN are writable. */
    final boolean pri;

    /**
     * IDR0 also advertises ATS (full ATS only: NS1ATS=1, no split-stage) with ATSRECERR
     * (CR2.REC_CFG_ATS), and PRI when {@code pri}; IDR3.PPS=0 (STE.PPAR decides the PASID of an
     * overflow auto-response).
     */
    RegisterFile(SmmuV3Hardware hardware, int sidBits, int ssidBits, boolean pri) {
        this.hardware = hardware;
        this.pri = pri;
        this.idr0 = (int) (Idr0.S2P.of(1) | Idr0.S1P.of(1) | Idr0.TTF.of(Idr0.TTF_AARCH64) | Idr0.COHACC.of(1)
                | Idr0.ATS.of(1) | Idr0.NS1ATS.of(1) | Idr0.PRI.of(pri ? 1 : 0) | Idr0.ATSRECERR.of(1)
                | Idr0.ASID16.of(1) | Idr0.MSI.of(1) | Idr0.VMID16.of(1) | Idr0.CD2L.of(1) | Idr0.TTENDIAN.of(Idr0.TTENDIAN_LE)
                | Idr0.STALL_MODEL.of(Idr0.STALL_MODEL_NO_STALL) | Idr0.TERM_MODEL.of(1) | Idr0.ST_LEVEL.of(Idr0.ST_LEVEL_2LVL));
        this.idr1 = (int) (Idr1.SIDSIZE.of(sidBits) | Idr1.SSIDSIZE.of(ssidBits) | Idr1.EVENTQS.of(QUEUE_MAX_LOG2)
                | Idr1.CMDQS.of(QUEUE_MAX_LOG2) | Idr1.PRIQS.of(pri ? QUEUE_MAX_LOG2 : 0));
        this.idr3 = (int) (Idr3.RIL.of(1) | Idr3.BBML.of(2)); // BBML=2: a block may be split into a table of the same output without break-before-make (the spi PageTable does so)
        this.idr5 = (int) (Idr5.OAS.of(Idr5.OAS_48) | Idr5.GRAN4K.of(1) | Idr5.GRAN16K.of(1) | Idr5.GRAN64K.of(1));
    }

    boolean smmuEnabled() {
        return (cr0 & 1) != 0;
    }

    boolean cmdqEnabled() {
        return CR0_CMDQEN.isSet(cr0);
    }

    boolean eventqEnabled() {
        return CR0_EVENTQEN.isSet(cr0);
    }

    /** The effective PRIQEN: SMMUEN=0 implies PRIQEN=0 (spec 8.2). */
    boolean priqEnabled() {
        return CR0_PRIQEN.isSet(cr0) && smmuEnabled();
    }

    /** Effective queue log2 size of a *_BASE value. */
    static int queueLog2(long base) {
        return (int) Math.min(QueueRegisters.BASE_LOG2SIZE.get(base), QUEUE_MAX_LOG2);
    }

    /** Whether a GERROR condition is active (GERROR and GERRORN bits differ). */
    boolean gerrorActive(int bit) {
        return ((gerror ^ gerrorn) & bit) != 0;
    }

    /** Raises a GERROR condition by toggling its bit, unless it is already active. */
    synchronized void raiseGerror(int bit) {
        if (!gerrorActive(bit)) {
            gerror ^= bit;
        }
    }

    @Override
    public int read32(long offset) {
        return switch ((int) offset) {
            case IDR0 -> idr0;
            case IDR1 -> idr1;
            case IDR3 -> idr3;
            case IDR5 -> idr5;
            case IIDR -> iidr;
            case AIDR -> aidr;
            case CR0 -> cr0;
            case CR0ACK -> cr0ack;
            case CR1 -> cr1;
            case CR2 -> cr2;
            case GBPA -> gbpa;
            case IRQ_CTRL -> irqCtrl;
            case IRQ_CTRLACK -> irqCtrlAck;
            case GERROR -> gerror;
            case GERRORN -> gerrorn;
            case GERROR_IRQ_CFG0 -> (int) gerrorIrqCfg0;
            case GERROR_IRQ_CFG0 + 4 -> (int) (gerrorIrqCfg0 >>> 32);
            case GERROR_IRQ_CFG1 -> gerrorIrqCfg1;
            case GERROR_IRQ_CFG2 -> gerrorIrqCfg2;
            case STRTAB_BASE -> (int) strtabBase;
            case STRTAB_BASE + 4 -> (int) (strtabBase >>> 32);
            case STRTAB_BASE_CFG -> strtabBaseCfg;
            case CMDQ_BASE -> (int) cmdqBase;
            case CMDQ_BASE + 4 -> (int) (cmdqBase >>> 32);
            case CMDQ_PROD -> cmdqProd;
            case CMDQ_CONS -> cmdqCons;
            case EVENTQ_BASE -> (int) eventqBase;
            case EVENTQ_BASE + 4 -> (int) (eventqBase >>> 32);
            case EVENTQ_IRQ_CFG0 -> (int) eventqIrqCfg0;
            case EVENTQ_IRQ_CFG0 + 4 -> (int) (eventqIrqCfg0 >>> 32);
            case EVENTQ_IRQ_CFG1 -> eventqIrqCfg1;
            case EVENTQ_IRQ_CFG2 -> eventqIrqCfg2;
            case EVENTQ_PROD -> eventqProd;
            case EVENTQ_CONS -> eventqCons;
            case PRIQ_BASE -> (int) priqBase;
            case PRIQ_BASE + 4 -> (int) (priqBase >>> 32);
            case PRIQ_IRQ_CFG0 -> (int) priqIrqCfg0;
            case PRIQ_IRQ_CFG0 + 4 -> (int) (priqIrqCfg0 >>> 32);
            case PRIQ_IRQ_CFG1 -> priqIrqCfg1;
            case PRIQ_IRQ_CFG2 -> priqIrqCfg2;
            case PRIQ_PROD -> priqProd;
            case PRIQ_CONS -> priqCons;
            default -> 0;
        };
    }

    @Override
    public long read64(long offset) {
        return switch ((int) offset) {
            case GERROR_IRQ_CFG0 -> gerrorIrqCfg0;
            case STRTAB_BASE -> strtabBase;
            case CMDQ_BASE -> cmdqBase;
            case EVENTQ_BASE -> eventqBase;
            case EVENTQ_IRQ_CFG0 -> eventqIrqCfg0;
            case PRIQ_BASE -> priqBase;
            case PRIQ_IRQ_CFG0 -> priqIrqCfg0;
            default -> Mmio.super.read64(offset);
        };
    }

    @Override
    public void write64(long offset, long value) {
        switch ((int) offset) {
            case GERROR_IRQ_CFG0 -> gerrorIrqCfg0 = value & 0x000F_FFFF_FFFF_FFFCL;
            case STRTAB_BASE -> {
                if (!smmuEnabled()) {
                    strtabBase = value & (dev.iommukit.backend.smmuv3.arch.StreamTableRegisters.BASE_ADDR.mask()
                            | dev.iommukit.backend.smmuv3.arch.StreamTableRegisters.BASE_RA.mask());
                }
            }
            case CMDQ_BASE -> {
                if (!cmdqEnabled()) {
                    cmdqBase = value & queueBaseMask();
                }
            }
            case EVENTQ_BASE -> {
                if (!eventqEnabled()) {
                    eventqBase = value & queueBaseMask();
                }
            }
            case EVENTQ_IRQ_CFG0 -> eventqIrqCfg0 = value & 0x000F_FFFF_FFFF_FFFCL;
            case PRIQ_BASE -> {
                if (pri && !CR0_PRIQEN.isSet(cr0)) {
                    priqBase = value & queueBaseMask();
                }
            }
            case PRIQ_IRQ_CFG0 -> {
                if (priqIrqCfgWritable()) {
                    priqIrqCfg0 = value & 0x000F_FFFF_FFFF_FFFCL;
                }
            }
            default -> Mmio.super.write64(offset, value);
        }
    }

    /** PRIQ_IRQ_CFG0..2 are guarded by IRQ_CTRL.PRIQ_IRQEN: read-only while it (or its ack) is 1. */
    private boolean priqIrqCfgWritable() {
        return pri && !IRQ_PRIQ_IRQEN.isSet(irqCtrl) && !IRQ_PRIQ_IRQEN.isSet(irqCtrlAck);
    }

    private static long queueBaseMask() {
        return QueueRegisters.BASE_ADDR.mask() | QueueRegisters.BASE_LOG2SIZE.mask() | QueueRegisters.BASE_RWA.mask();
    }

    private static long half(long old, long offset, int value, int base) {
        return offset == base ? (old & 0xFFFF_FFFF_0000_0000L) | (value & 0xFFFF_FFFFL)
                : (old & 0xFFFF_FFFFL) | ((long) value << 32);
    }

    @Override
    public void write32(long offset, int value) {
        int off = (int) offset;
        switch (off) {
            case CR0 -> {
                int mask = (int) (CR0_SMMUEN.mask() | CR0_EVENTQEN.mask() | CR0_CMDQEN.mask() | (pri ? CR0_PRIQEN.mask() : 0)
                        | CR0_ATSCHK.mask() | CR0_VMW.mask());
                cr0 = value & mask;
                cr0ack = cr0;
                hardware.commandQueueKick();
            }
            case CR1 -> cr1 = value & 0xFFF;
            case CR2 -> cr2 = value & 0xF; // E2H, RECINVSID, PTM, REC_CFG_ATS (IDR0.ATSRECERR=1)
            case GBPA -> {
                if (GBPA_UPDATE.isSet(value & 0xFFFF_FFFFL)) {
                    gbpa = value & ~(int) GBPA_UPDATE.mask() & 0x001F_3F1F;
                }
            }
            case IRQ_CTRL -> {
                irqCtrl = value & (pri ? 7 : 5);
                irqCtrlAck = irqCtrl;
            }
            case GERRORN -> {
                gerrorn = value & 0x1FD;
                hardware.commandQueueKick();
            }
            case GERROR_IRQ_CFG0, GERROR_IRQ_CFG0 + 4 -> write64(GERROR_IRQ_CFG0, half(gerrorIrqCfg0, offset, value, GERROR_IRQ_CFG0));
            case GERROR_IRQ_CFG1 -> gerrorIrqCfg1 = value;
            case GERROR_IRQ_CFG2 -> gerrorIrqCfg2 = value & 0x3F;
            case STRTAB_BASE, STRTAB_BASE + 4 -> write64(STRTAB_BASE, half(strtabBase, offset, value, STRTAB_BASE));
            case STRTAB_BASE_CFG -> {
                if (!smmuEnabled()) {
                    strtabBaseCfg = value & 0x3_07FF;
                }
            }
            case CMDQ_BASE, CMDQ_BASE + 4 -> write64(CMDQ_BASE, half(cmdqBase, offset, value, CMDQ_BASE));
            case CMDQ_PROD -> {
                cmdqProd = value & ((2 << queueLog2(cmdqBase)) - 1);
                hardware.commandQueueKick();
            }
            case CMDQ_CONS -> {
                if (!cmdqEnabled()) {
                    cmdqCons = value & (((2 << queueLog2(cmdqBase)) - 1) | (int) QueueRegisters.CONS_ERR.mask());
                }
            }
            case EVENTQ_BASE, EVENTQ_BASE + 4 -> write64(EVENTQ_BASE, half(eventqBase, offset, value, EVENTQ_BASE));
            case EVENTQ_IRQ_CFG0, EVENTQ_IRQ_CFG0 + 4 -> write64(EVENTQ_IRQ_CFG0, half(eventqIrqCfg0, offset, value, EVENTQ_IRQ_CFG0));
            case EVENTQ_IRQ_CFG1 -> eventqIrqCfg1 = value;
            case EVENTQ_IRQ_CFG2 -> eventqIrqCfg2 = value & 0x3F;
            case EVENTQ_PROD -> {
                if (!eventqEnabled()) {
                    eventqProd = value & (((2 << queueLog2(eventqBase)) - 1) | (int) QueueRegisters.OVERFLOW.mask());
                }
            }
            case EVENTQ_CONS -> hardware.eventQueue().consumerWritten(
                    value & (((2 << queueLog2(eventqBase)) - 1) | (int) QueueRegisters.OVERFLOW.mask()));
            case PRIQ_BASE, PRIQ_BASE + 4 -> write64(PRIQ_BASE, half(priqBase, offset, value, PRIQ_BASE));
            case PRIQ_IRQ_CFG0, PRIQ_IRQ_CFG0 + 4 -> write64(PRIQ_IRQ_CFG0, half(priqIrqCfg0, offset, value, PRIQ_IRQ_CFG0));
            case PRIQ_IRQ_CFG1 -> {
                if (priqIrqCfgWritable()) {
                    priqIrqCfg1 = value;
                }
            }
            case PRIQ_IRQ_CFG2 -> {
                if (priqIrqCfgWritable()) {
                    priqIrqCfg2 = value & (int) (PRIQ_IRQ_CFG2_LO.mask() | 0x3F);
                }
            }
            case PRIQ_PROD -> {
                if (pri && !CR0_PRIQEN.isSet(cr0)) {
                    priqProd = value & (((2 << queueLog2(priqBase)) - 1) | (int) QueueRegisters.OVERFLOW.mask());
                }
            }
            case PRIQ_CONS -> {
                if (pri) {
                    hardware.priQueue().consumerWritten(
                            value & (((2 << queueLog2(priqBase)) - 1) | (int) QueueRegisters.OVERFLOW.mask()));
                }
            }
            default -> { }
        }
    }
}
