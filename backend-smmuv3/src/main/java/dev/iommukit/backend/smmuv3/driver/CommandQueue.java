package dev.iommukit.backend.smmuv3.driver;

import static dev.iommukit.backend.smmuv3.arch.QueueRegisters.*;

import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.backend.smmuv3.arch.ControlRegisters;
import dev.iommukit.backend.smmuv3.arch.SmmuRegisters;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.Mmio;

/**
 * The producer side of the command queue: writes commands into queue memory, publishes them with
 * CMDQ_PROD, and waits for CMD_SYNC by polling CMDQ_CONS (CS=SIG_NONE). On a command error it
 * does what Linux does (replace the bad command with a CMD_SYNC, acknowledge GERROR) and reports it.
 */
final class CommandQueue {
    static final int LOG2_ENTRIES = 8;
    private static final int SPIN_LIMIT = 1_000_000;

    private final Mmio mmio;
    private final PhysicalMemory memory;
    private final long base;
    private int prod;

    CommandQueue(Mmio mmio, PhysicalMemory memory, long base) {
        this.mmio = mmio;
        this.memory = memory;
        this.base = base;
    }

    long bytes() {
        return (long) COMMAND_BYTES << LOG2_ENTRIES;
    }

    /** Issues {@code commands} followed by a CMD_SYNC and returns once the SYNC was consumed. */
    synchronized void submitAndSync(long[]... commands) {
        for (long[] c : commands) {
            put(c);
        }
        put(Command.sync());
        mmio.write32(SmmuRegisters.CMDQ_PROD, prod);
        waitUntilConsumed();
    }

    private void put(long[] command) {
        int spins = 0;
        while (full(prod, mmio.read32(SmmuRegisters.CMDQ_CONS), LOG2_ENTRIES)) {
            mmio.write32(SmmuRegisters.CMDQ_PROD, prod);
            checkError();
            spin(++spins);
        }
        long slot = base + (long) index(prod, LOG2_ENTRIES) * COMMAND_BYTES;
        memory.write64(slot, command[0]);
        memory.write64(slot + 8, command[1]);
        prod = increment(prod, LOG2_ENTRIES);
    }

    private void waitUntilConsumed() {
        int spins = 0;
        while (!empty(prod, mmio.read32(SmmuRegisters.CMDQ_CONS), LOG2_ENTRIES)) {
            checkError();
            spin(++spins);
        }
    }

    private static void spin(int spins) {
        if (spins > SPIN_LIMIT) {
            throw new IommuException(ErrorCode.INTERNAL, "SMMU did not consume the command queue");
        }
        Thread.onSpinWait();
    }

    private void checkError() {
        int gerror = mmio.read32(SmmuRegisters.GERROR);
        int gerrorn = mmio.read32(SmmuRegisters.GERRORN);
        int bit = (int) ControlRegisters.GERROR_CMDQ_ERR.mask();
        if (((gerror ^ gerrorn) & bit) == 0) {
            return;
        }
        int cons = mmio.read32(SmmuRegisters.CMDQ_CONS);
        long slot = base + (long) index(cons, LOG2_ENTRIES) * COMMAND_BYTES;
        long bad = memory.read64(slot);
        long[] sync = Command.sync();
        memory.write64(slot, sync[0]);
        memory.write64(slot + 8, sync[1]);
        mmio.write32(SmmuRegisters.GERRORN, gerrorn ^ bit);
        throw new IommuException(ErrorCode.INTERNAL, "SMMU rejected " + Command.name((int) Command.OPCODE.get(bad))
                + " with CERROR " + CONS_ERR.get(cons));
    }
}
