package dev.iommukit.backend.smmuv3.hw;

import dev.iommukit.spi.iopf.PageResponsePort;
import static dev.iommukit.backend.smmuv3.arch.Command.*;

import dev.iommukit.backend.smmuv3.arch.AtsCommand;
import dev.iommukit.backend.smmuv3.arch.ControlRegisters;
import dev.iommukit.backend.smmuv3.arch.Idr0;
import dev.iommukit.backend.smmuv3.arch.QueueRegisters;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.concurrent.locks.ReadWriteLock;

/**
 * The consumer of the command queue (spec §5): runs on the thread that writes CMDQ_PROD (or
 * re-enables the queue), executes commands in order, and stops at an illegal one with
 * CMDQ_CONS.ERR = CERROR_ILL (or CERROR_ABT when the fetch aborts) and GERROR.CMDQ_ERR. CMD_SYNC
 * waits for every walk in flight (they hold the read side of {@code walkLock}).
 */
final class CommandProcessor {
    private final RegisterFile regs;
    private final PhysicalMemory memory;
    private final ConfigCache configs;
    private final Iotlb tlb;
    private final ReadWriteLock walkLock;
    private final PageResponsePort responses;
    private final int cmdqErr = (int) ControlRegisters.GERROR_CMDQ_ERR.mask();

    CommandProcessor(RegisterFile regs, PhysicalMemory memory, ConfigCache configs, Iotlb tlb, ReadWriteLock walkLock,
                     PageResponsePort responses) {
        this.regs = regs;
        this.responses = responses;
        this.memory = memory;
        this.configs = configs;
        this.tlb = tlb;
        this.walkLock = walkLock;
    }

    /** Consumes commands from CONS up to PROD, unless disabled or stopped on an error. */
    synchronized void run() {
        if (!regs.cmdqEnabled() || regs.gerrorActive(cmdqErr)) {
            return;
        }
        long base = regs.cmdqBase;
        int qs = RegisterFile.queueLog2(base);
        int errBits = regs.cmdqCons & (int) QueueRegisters.CONS_ERR.mask();
        int cons = QueueRegisters.indexAndWrap(regs.cmdqCons, qs);
        while (!QueueRegisters.empty(regs.cmdqProd, cons, qs)) {
            long slot = queueAddress(base, qs, QueueRegisters.COMMAND_BYTES) + (long) QueueRegisters.index(cons, qs) * QueueRegisters.COMMAND_BYTES;
            int error;
            try {
                error = execute(memory.read64(slot), memory.read64(slot + 8));
            } catch (ExternalAbortException e) {
                error = QueueRegisters.CERROR_ABT;
            }
            if (error != QueueRegisters.CERROR_NONE) {
                regs.cmdqCons = cons | (int) QueueRegisters.CONS_ERR.of(error);
                regs.raiseGerror(cmdqErr);
                return;
            }
            cons = QueueRegisters.increment(cons, qs);
            regs.cmdqCons = cons | errBits;
        }
    }

    /** The queue base with ADDR bits below the queue size (at least 32 bytes) taken as zero. */
    static long queueAddress(long base, int qs, int entryBytes) {
        return QueueRegisters.address(base) & -Math.max(32L, (long) entryBytes << qs);
    }

    private int execute(long d0, long d1) {
        int op = (int) OPCODE.get(d0);
        if (SSEC.isSet(d0)) {
            return QueueRegisters.CERROR_ILL;
        }
        switch (op) {
            case PREFETCH_CONFIG, PREFETCH_ADDR, RESUME, STALL_TERM -> { }
            case CFGI_STE -> {
                long sid = SID.get(d0);
                configs.invalidate(sid, 1);
            }
            case CFGI_STE_RANGE -> {
                int range = (int) RANGE.get(d1);
                if (range == RANGE_ALL) {
                    configs.invalidate(0, configs.size());
                } else {
                    long span = 1L << (range + 1);
                    configs.invalidate(SID.get(d0) & -span, span);
                }
            }
            case CFGI_CD -> configs.invalidateCd((int) Math.min(SID.get(d0), Integer.MAX_VALUE), (int) SSID.get(d0));
            case CFGI_CD_ALL -> configs.invalidateAllCds((int) Math.min(SID.get(d0), Integer.MAX_VALUE));
            case TLBI_NH_ALL -> {
                int vmid = (int) VMID.get(d0);
                tlb.cache.invalidate(e -> Iotlb.isStage1(e.tag()) && Iotlb.vmid(e.tag()) == vmid);
            }
            case TLBI_NH_ASID -> {
                int vmid = (int) VMID.get(d0);
                int asid = (int) ASID.get(d0);
                tlb.cache.invalidate(e -> Iotlb.isStage1(e.tag()) && !Iotlb.isGlobal(e.tag())
                        && Iotlb.vmid(e.tag()) == vmid && Iotlb.asid(e.tag()) == asid);
            }
            case TLBI_NH_VA, TLBI_NH_VAA -> {
                long[] range = range(d0, d1, ADDR.mask());
                if (range == null) {
                    return QueueRegisters.CERROR_ILL;
                }
                int vmid = (int) VMID.get(d0);
                int asid = (int) ASID.get(d0);
                boolean anyAsid = op == TLBI_NH_VAA;
                tlb.cache.invalidate(e -> Iotlb.isStage1(e.tag()) && Iotlb.vmid(e.tag()) == vmid
                        && (anyAsid || Iotlb.isGlobal(e.tag()) || Iotlb.asid(e.tag()) == asid)
                        && Iotlb.overlapsStage1(e, range[0], range[1]));
            }
            case TLBI_S2_IPA -> {
                long[] range = range(d0, d1, IPA.mask());
                if (range == null) {
                    return QueueRegisters.CERROR_ILL;
                }
                int vmid = (int) VMID.get(d0);
                tlb.cache.invalidate(e -> Iotlb.isStage2(e.tag()) && Iotlb.vmid(e.tag()) == vmid
                        && Iotlb.overlaps(e, range[0], range[1]));
            }
            case TLBI_S12_VMALL -> {
                int vmid = (int) VMID.get(d0);
                tlb.cache.invalidate(e -> Iotlb.vmid(e.tag()) == vmid);
            }
            case TLBI_NSNH_ALL -> tlb.cache.invalidateAll();
            case ATC_INV, PRI_RESP -> {
                return atsCommand(op, d0, d1);
            }
            case SYNC -> {
                int cs = (int) SYNC_CS.get(d0);
                if (cs == 3) {
                    return QueueRegisters.CERROR_ILL;
                }
                walkLock.writeLock().lock();
                walkLock.writeLock().unlock();
                long msiAddress = d1 & SYNC_MSIADDR.mask();
                if (cs == CS_SIG_IRQ && msiAddress != 0) {
                    try {
                        memory.write32(msiAddress, (int) SYNC_MSIDATA.get(d0));
                    } catch (ExternalAbortException e) {
                        regs.raiseGerror((int) ControlRegisters.GERROR_MSI_CMDQ_ABT_ERR.mask());
                    }
                }
            }
            default -> {
                return QueueRegisters.CERROR_ILL;
            }
        }
        return QueueRegisters.CERROR_NONE;
    }

    /**
     * CMD_ATC_INV (ILLEGAL without IDR0.ATS; this model keeps no ATC of its own, so there is
     * nothing to wait for at the next CMD_SYNC) and CMD_PRI_RESP (ILLEGAL without IDR0.PRI or
     * with the reserved Resp=3; otherwise a PRG response to SID, with SSID as PASID when SSV=1).
     * Both are IGNORED while SMMUEN=0 (spec 4.5). The SMMU does not track page request groups:
     * a response is sent whether or not a request of that group is outstanding.
     */
    private int atsCommand(int op, long d0, long d1) {
        if (op == ATC_INV) {
            return Idr0.ATS.isSet(regs.idr0 & 0xFFFF_FFFFL) ? QueueRegisters.CERROR_NONE : QueueRegisters.CERROR_ILL;
        }
        int resp = (int) AtsCommand.PRI_RESP.get(d1);
        if (!Idr0.PRI.isSet(regs.idr0 & 0xFFFF_FFFFL) || resp == AtsCommand.RESP_RESERVED) {
            return QueueRegisters.CERROR_ILL;
        }
        if (regs.smmuEnabled()) {
            PageResponseCode code = switch (resp) {
                case AtsCommand.RESP_SUCCESS -> PageResponseCode.SUCCESS;
                case AtsCommand.RESP_INVALID -> PageResponseCode.INVALID_REQUEST;
                default -> PageResponseCode.RESPONSE_FAILURE;
            };
            int pasid = SSV.isSet(d0) ? (int) SSID.get(d0) : Pasid.NONE;
            responses.send(new PageResponseMessage((int) SID.get(d0), pasid, (int) AtsCommand.PRI_PRG_INDEX.get(d1), code));
        }
        return QueueRegisters.CERROR_NONE;
    }

    /**
     * The address range {start, length} a TLBI by address covers (spec §5.3): one point when
     * TG=0, else (NUM+1) * 2^SCALE granules. Null for the illegal TG!=0 with NUM=SCALE=TTL=0.
     */
    private static long[] range(long d0, long d1, long addressMask) {
        long addr = d1 & addressMask;
        int tg = (int) TG.get(d1);
        if (tg == 0) {
            return new long[] {addr, 1};
        }
        int num = (int) NUM.get(d0);
        int scale = (int) SCALE.get(d0);
        if (num == 0 && scale == 0 && TTL.get(d1) == 0) {
            return null;
        }
        int granuleShift = 10 + 2 * tg;
        long length = (num + 1L) << Math.min(scale + granuleShift, 62);
        return new long[] {addr, length};
    }
}
