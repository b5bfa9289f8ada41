package dev.iommukit.backend.vtd.hw;

import static dev.iommukit.backend.vtd.arch.FaultReasonCode.*;

import dev.iommukit.backend.vtd.arch.CapabilityRegister;
import dev.iommukit.backend.vtd.arch.ExtendedCapabilityRegister;
import dev.iommukit.backend.vtd.arch.FaultReasonCode;
import dev.iommukit.backend.vtd.hw.RemappingEngine.Abort;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.pgtable.vtd.SecondLevelEntry;

/**
 * The second-level walk of digest §8, shared by PGTT=010 requests and by every GPA of a nested
 * (PGTT=011) walk: input above the limit is SGN.5, a table outside RAM SSS.4 (root) / SSS.1, a
 * not-present or no-access leaf SSS.2, reserved bits SSS.3; all stage 2. It leaves the request's
 * own permission check to the caller, which knows whether it is the final access.
 */
final class SecondLevelWalk {
    /** One SL translation: the page's host base, its size, and the read/write rights along the walk. */
    static final class Result {
        long base;
        int shift;
        boolean read;
        boolean write;
    }

    private final PhysicalMemory memory;
    private final CapabilityRegister cap;
    private final ExtendedCapabilityRegister ecap;
    private final int haw;

    SecondLevelWalk(PhysicalMemory memory, CapabilityRegister cap, ExtendedCapabilityRegister ecap, int haw) {
        this.memory = memory;
        this.cap = cap;
        this.ecap = ecap;
        this.haw = haw;
    }

    /** Translates {@code address} through the tables at {@code root}; fills {@code out} and returns the host address. */
    long walk(long root, int levels, int inputBits, long address, boolean fpd, Result out) {
        if ((address >>> inputBits) != 0) {
            throw new Abort(SGN_5, fpd);
        }
        long table = root;
        boolean readOk = true;
        boolean writeOk = true;
        for (int level = 0; level < levels; level++) {
            int shift = 12 + 9 * (levels - 1 - level);
            long e = read(memory, table + ((address >>> shift) & 0x1FF) * 8, level == 0 ? SSS_4 : SSS_1, fpd);
            if (!SecondLevelEntry.present(e)) {
                throw new Abort(SSS_2, fpd);
            }
            boolean largeOk = (shift == 21 && (cap.sllps() & 1) != 0) || (shift == 30 && (cap.sllps() & 2) != 0);
            boolean leaf = shift == 12 || (SecondLevelEntry.pageSize(e) && largeOk);
            long reserved = SecondLevelEntry.reservedMask(haw, shift > 12 && !largeOk, leaf ? shift : 0, ecap.sc(), ecap.dt());
            if ((e & reserved) != 0) {
                throw new Abort(SSS_3, fpd);
            }
            readOk &= SecondLevelEntry.readable(e);
            writeOk &= SecondLevelEntry.writable(e);
            if (leaf) {
                if (!readOk && !writeOk) {
                    throw new Abort(SSS_2, fpd);
                }
                out.base = SecondLevelEntry.address(e, shift);
                out.shift = shift;
                out.read = readOk;
                out.write = writeOk;
                return out.base | (address & ((1L << shift) - 1));
            }
            table = SecondLevelEntry.address(e, 12);
        }
        throw new Abort(SSS_2, fpd);
    }

    /** A structure read by the walkers: memory outside RAM aborts with {@code onAbort}. */
    static long read(PhysicalMemory memory, long pa, FaultReasonCode onAbort, boolean fpd) {
        try {
            return memory.read64(pa);
        } catch (ExternalAbortException | IllegalArgumentException e) {
            throw new Abort(onAbort, fpd);
        }
    }
}
