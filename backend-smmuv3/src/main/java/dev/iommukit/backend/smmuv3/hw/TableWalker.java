package dev.iommukit.backend.smmuv3.hw;

import dev.iommukit.backend.smmuv3.arch.EventType;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.pgtable.vmsa.VmsaDescriptors;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;

/**
 * VMSAv8-64 table walks over physical memory for stage 1 and stage 2 (spec §7, §8), with blocks,
 * partial and concatenated root tables, stage 1 hierarchical attributes (APTable, PXNTable,
 * UXNTable), access-flag and output-size checks. Faults come back as the event type to report.
 */
final class TableWalker {
    /** Leaf attribute bits kept in a TLB entry's {@code attributes}. */
    static final long ATTR_S1_RDONLY = 1;
    static final long ATTR_S1_USER = 2;
    static final long ATTR_S1_PXN = 4;
    static final long ATTR_S1_UXN = 8;
    static final long ATTR_S2_READ = 1;
    static final long ATTR_S2_WRITE = 2;
    static final long ATTR_S2_XN = 4;

    private final PhysicalMemory memory;

    TableWalker(PhysicalMemory memory) {
        this.memory = memory;
    }

    /** The outcome of one walk: a leaf, or the fault found (and the descriptor address on an abort). */
    static final class Result {
        EventType fault;
        long fetchAddress;
        long outputBase;
        int pageShift;
        long attributes;
        boolean global;
        /** Stage 2 leaf MemAttr. */
        int memAttr;
        /** Nested stage 1 walk: the stage 2 translation of a descriptor address failed (the caller holds why). */
        boolean stage2Failed;
    }

    /** Turns the IPA of a stage 1 descriptor into a PA in a nested walk; negative when stage 2 faulted. */
    @FunctionalInterface
    interface DescriptorTranslator {
        long toPhysical(long descriptorIpa);
    }

    private static final DescriptorTranslator PHYSICAL = ipa -> ipa;

    /**
     * Walks {@code input} through the tables at {@code ttb}. The caller has checked that the input
     * lies inside {@code inputBits}.
     */
    Result walk(boolean stage1, long ttb, VmsaGranule g, int inputBits, int startLevel, int oaBits, boolean affd,
                long input) {
        return walk(stage1, ttb, g, inputBits, startLevel, oaBits, affd, input, PHYSICAL);
    }

    /** A walk whose descriptor addresses go through {@code translator} (nested stage 1). */
    Result walk(boolean stage1, long ttb, VmsaGranule g, int inputBits, int startLevel, int oaBits, boolean affd,
                long input, DescriptorTranslator translator) {
        Result r = new Result();
        long table = ttb & ~7L;
        boolean apNoUser = false;
        boolean apNoWrite = false;
        boolean pxnTable = false;
        boolean uxnTable = false;
        for (int level = startLevel; level <= 3; level++) {
            int shift = g.levelShift(level);
            int bits = level == startLevel ? inputBits - shift : g.stride();
            long index = (input >>> shift) & ((1L << bits) - 1);
            long slot = translator.toPhysical(table + index * 8);
            if (slot < 0) {
                r.stage2Failed = true;
                return r;
            }
            long d;
            try {
                d = memory.read64(slot);
            } catch (ExternalAbortException e) {
                r.fault = EventType.F_WALK_EABT;
                r.fetchAddress = slot;
                return r;
            }
            switch (VmsaDescriptors.type(d, level, g)) {
                case TABLE -> {
                    long next = VmsaDescriptors.tableAddress(d, g);
                    if (next >= 1L << oaBits) {
                        r.fault = EventType.F_ADDR_SIZE;
                        return r;
                    }
                    if (stage1) {
                        int apTable = VmsaDescriptors.apTable(d);
                        apNoUser |= (apTable & 1) != 0;
                        apNoWrite |= (apTable & 2) != 0;
                        pxnTable |= (d & VmsaDescriptors.S1_PXN_TABLE) != 0;
                        uxnTable |= (d & VmsaDescriptors.S1_UXN_TABLE) != 0;
                    }
                    table = next;
                }
                case BLOCK, PAGE -> {
                    long out = VmsaDescriptors.outputAddress(d, level, g);
                    if (out >= 1L << oaBits) {
                        r.fault = EventType.F_ADDR_SIZE;
                        return r;
                    }
                    if (!VmsaDescriptors.accessFlag(d) && !affd) {
                        r.fault = EventType.F_ACCESS;
                        return r;
                    }
                    r.outputBase = out;
                    r.pageShift = shift;
                    if (stage1) {
                        long a = 0;
                        if ((d & VmsaDescriptors.S1_AP2_RDONLY) != 0 || apNoWrite) {
                            a |= ATTR_S1_RDONLY;
                        }
                        if ((d & VmsaDescriptors.S1_AP1_USER) != 0 && !apNoUser) {
                            a |= ATTR_S1_USER;
                        }
                        if ((d & VmsaDescriptors.S1_PXN) != 0 || pxnTable) {
                            a |= ATTR_S1_PXN;
                        }
                        if ((d & VmsaDescriptors.S1_UXN) != 0 || uxnTable) {
                            a |= ATTR_S1_UXN;
                        }
                        r.attributes = a;
                        r.global = (d & VmsaDescriptors.S1_NG) == 0;
                    } else {
                        long a = 0;
                        if ((d & VmsaDescriptors.S2_AP_READ) != 0) {
                            a |= ATTR_S2_READ;
                        }
                        if ((d & VmsaDescriptors.S2_AP_WRITE) != 0) {
                            a |= ATTR_S2_WRITE;
                        }
                        if ((d & VmsaDescriptors.S2_XN1) != 0) {
                            a |= ATTR_S2_XN;
                        }
                        r.attributes = a;
                        r.memAttr = VmsaDescriptors.s2MemAttr(d);
                    }
                    return r;
                }
                default -> {
                    r.fault = EventType.F_TRANSLATION;
                    return r;
                }
            }
        }
        r.fault = EventType.F_TRANSLATION;
        return r;
    }

    /** Stage 1 permission check (spec §7.3) of a leaf's attributes; true when allowed. */
    static boolean stage1Allows(long attrs, boolean write, boolean instruction, boolean privileged, boolean pan, boolean wxn) {
        boolean user = (attrs & ATTR_S1_USER) != 0;
        boolean readOnly = (attrs & ATTR_S1_RDONLY) != 0;
        if (!privileged && !user) {
            return false;
        }
        if (privileged && pan && user && !instruction) {
            return false;
        }
        if (write && readOnly) {
            return false;
        }
        if (instruction) {
            boolean xn = privileged ? (attrs & ATTR_S1_PXN) != 0 || (user && !readOnly) : (attrs & ATTR_S1_UXN) != 0;
            if (xn || (wxn && !readOnly)) {
                return false;
            }
        }
        return true;
    }

    /** Bit of a combined (nested) TLB entry's attributes: stage 2 attributes sit in bits [15:8]. */
    static final long ATTR_NESTED = 1L << 16;
    /** Bits [29:24] of a combined entry's attributes: the page shift of the stage 1 leaf it came from. */
    static final int ATTR_S1_SHIFT_LSB = 24;

    /** Permission check of a stage 1 or combined stage 1 + stage 2 TLB entry. */
    static boolean allows(long attrs, boolean write, boolean instruction, boolean privileged, boolean pan, boolean wxn) {
        return stage1Allows(attrs, write, instruction, privileged, pan, wxn)
                && ((attrs & ATTR_NESTED) == 0 || stage2Allows(attrs >>> 8, write, instruction));
    }

    /** Stage 2 permission check (spec §7.4); true when allowed. */
    static boolean stage2Allows(long attrs, boolean write, boolean instruction) {
        if (write) {
            return (attrs & ATTR_S2_WRITE) != 0;
        }
        if ((attrs & ATTR_S2_READ) == 0) {
            return false;
        }
        return !instruction || (attrs & ATTR_S2_XN) == 0;
    }
}
