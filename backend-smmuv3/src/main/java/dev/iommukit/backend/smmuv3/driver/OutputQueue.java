package dev.iommukit.backend.smmuv3.driver;

import static dev.iommukit.backend.smmuv3.arch.QueueRegisters.*;

import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.Mmio;
import java.util.function.Consumer;

/**
 * The driver's side of an SMMU output queue (event queue, PRI queue): reads every record between
 * CONS and PROD, moving CONS past each before handing it on, then acknowledges an overflow by
 * copying PROD.OVFLG into CONS.OVACKFLG, as Linux does once it has caught up. One lock
 * serialises the interrupt thread and drains.
 */
final class OutputQueue {
    private final Mmio mmio;
    private final PhysicalMemory memory;
    private final long base;
    private final int prodRegister;
    private final int consRegister;
    private final int log2Entries;
    private final int recordBytes;
    private long overflows;

    OutputQueue(Mmio mmio, PhysicalMemory memory, long base, int prodRegister, int consRegister, int log2Entries, int recordBytes) {
        this.mmio = mmio;
        this.memory = memory;
        this.base = base;
        this.prodRegister = prodRegister;
        this.consRegister = consRegister;
        this.log2Entries = log2Entries;
        this.recordBytes = recordBytes;
    }

    long bytes() {
        return (long) recordBytes << log2Entries;
    }

    /** Number of overflows acknowledged (OVFLG toggles seen). */
    synchronized long overflows() {
        return overflows;
    }

    /** Hands every record up to PROD to {@code onRecord} (its 64-bit words, in order), then acknowledges an overflow. */
    synchronized void drain(Consumer<long[]> onRecord) {
        int prod = mmio.read32(prodRegister);
        int cons = mmio.read32(consRegister);
        int ovf = (int) OVERFLOW.mask();
        while (!empty(prod, cons, log2Entries)) {
            long slot = base + (long) index(cons, log2Entries) * recordBytes;
            long[] words = new long[recordBytes / 8];
            for (int i = 0; i < words.length; i++) {
                words[i] = memory.read64(slot + 8L * i);
            }
            cons = increment(cons, log2Entries) | (cons & ovf);
            mmio.write32(consRegister, cons);
            onRecord.accept(words);
            prod = mmio.read32(prodRegister);
        }
        if ((prod & ovf) != (cons & ovf)) {
            overflows++;
            mmio.write32(consRegister, (cons & ~ovf) | (prod & ovf));
        }
    }
}
