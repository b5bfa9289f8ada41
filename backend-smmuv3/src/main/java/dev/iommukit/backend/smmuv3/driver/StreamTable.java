package dev.iommukit.backend.smmuv3.driver;

import static dev.iommukit.backend.smmuv3.arch.StreamTableEntry.*;

import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.backend.smmuv3.arch.L1StreamTableDescriptor;
import dev.iommukit.backend.smmuv3.arch.StreamTableRegisters;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.HashMap;
import java.util.Map;

/**
 * The stream table as the driver keeps it: linear (every STE an abort STE from the start) or
 * 2-level with SPLIT=8 and L2 tables of 256 STEs allocated when the first device in their range
 * is probed and freed when the last one is released. STE changes follow the "used bits" order so
 * the SMMU never sees a torn entry: bits the current config ignores first, then the one critical
 * dword; when more than one dword matters, the entry goes through an abort STE.
 */
final class StreamTable {
    static final int SPLIT = 8;
    private static final String OWNER = "smmuv3 stream table";

    private final PhysicalMemory memory;
    private final PageAllocator allocator;
    private final CommandQueue cmdq;
    private final boolean twoLevel;
    private final int sidBits;
    private final long base;
    private final Map<Integer, Long> l2Tables = new HashMap<>();
    private final Map<Integer, Integer> l2Users = new HashMap<>();

    StreamTable(PhysicalMemory memory, PageAllocator allocator, CommandQueue cmdq, boolean twoLevel, int sidBits) {
        this.memory = memory;
        this.allocator = allocator;
        this.cmdq = cmdq;
        this.twoLevel = twoLevel && sidBits > SPLIT;
        this.sidBits = sidBits;
        if (this.twoLevel) {
            base = allocator.allocate(8L << (sidBits - SPLIT), OWNER + " L1");
        } else {
            base = allocator.allocate((long) BYTES << sidBits, OWNER);
            for (long sid = 0; sid < 1L << sidBits; sid++) {
                memory.write64(base + sid * BYTES, abortSte()[0]);
            }
        }
    }

    long base() {
        return base;
    }

    /** STRTAB_BASE_CFG for this table. */
    int baseCfg() {
        long cfg = StreamTableRegisters.CFG_LOG2SIZE.of(sidBits);
        if (twoLevel) {
            cfg |= StreamTableRegisters.CFG_FMT.of(StreamTableRegisters.FMT_2LEVEL) | StreamTableRegisters.CFG_SPLIT.of(SPLIT);
        }
        return (int) cfg;
    }

    /** Makes an STE slot exist for {@code sid} (allocating and publishing its L2 table if needed). */
    void acquire(int sid) {
        if (!twoLevel) {
            return;
        }
        int l1 = sid >>> SPLIT;
        l2Users.merge(l1, 1, Integer::sum);
        if (l2Tables.containsKey(l1)) {
            return;
        }
        long l2 = allocator.allocate((long) BYTES << SPLIT, OWNER + " L2");
        for (int i = 0; i < 1 << SPLIT; i++) {
            memory.write64(l2 + (long) i * BYTES, abortSte()[0]);
        }
        l2Tables.put(l1, l2);
        memory.write64(base + 8L * l1, L1StreamTableDescriptor.encode(l2, SPLIT + 1));
        cmdq.submitAndSync(Command.cfgiSte(sid, false));
    }

    /** Gives back the slot of {@code sid}; an L2 table nobody uses any more is unpublished and freed. */
    void release(int sid) {
        write(sid, abortSte());
        if (!twoLevel) {
            return;
        }
        int l1 = sid >>> SPLIT;
        int left = l2Users.merge(l1, -1, Integer::sum);
        if (left == 0) {
            l2Users.remove(l1);
            long l2 = l2Tables.remove(l1);
            memory.write64(base + 8L * l1, 0);
            cmdq.submitAndSync(Command.cfgiSteRange(sid & -(1 << SPLIT), SPLIT - 1));
            allocator.free(l2);
        }
    }

    long steAddress(int sid) {
        if (!twoLevel) {
            return base + (long) BYTES * sid;
        }
        return l2Tables.get(sid >>> SPLIT) + (long) BYTES * (sid & ((1 << SPLIT) - 1));
    }

    long[] read(int sid) {
        long a = steAddress(sid);
        long[] ste = new long[DWORDS];
        for (int i = 0; i < DWORDS; i++) {
            ste[i] = memory.read64(a + 8L * i);
        }
        return ste;
    }

    /** Replaces the STE of {@code sid} with {@code target} without the SMMU ever seeing a torn mix. */
    void write(int sid, long[] target) {
        long a = steAddress(sid);
        long[] current = read(sid);
        long[] usedNow = usedBits(current);
        long[] usedNext = usedBits(target);
        long[] step = new long[DWORDS];
        int critical = 0;
        int criticalIndex = -1;
        for (int i = 0; i < DWORDS; i++) {
            step[i] = (current[i] & usedNow[i]) | (target[i] & ~usedNow[i]);
            if (((step[i] ^ target[i]) & usedNext[i]) != 0) {
                critical++;
                criticalIndex = i;
            }
        }
        if (critical > 1) {
            long abort = (current[0] & ~CONFIG.mask()) | V.of(1) | CONFIG.of(CONFIG_ABORT);
            publish(sid, a, 0, abort);
            for (int i = 1; i < DWORDS; i++) {
                memory.write64(a + 8L * i, target[i]);
            }
            sync(sid);
            publish(sid, a, 0, target[0]);
            return;
        }
        boolean changed = false;
        for (int i = 0; i < DWORDS; i++) {
            if (step[i] != current[i]) {
                memory.write64(a + 8L * i, step[i]);
                changed = true;
            }
        }
        if (changed) {
            sync(sid);
        }
        if (criticalIndex >= 0) {
            publish(sid, a, criticalIndex, target[criticalIndex]);
        }
        changed = false;
        for (int i = 0; i < DWORDS; i++) {
            if (memory.read64(a + 8L * i) != target[i]) {
                memory.write64(a + 8L * i, target[i]);
                changed = true;
            }
        }
        if (changed) {
            sync(sid);
        }
    }

    private void publish(int sid, long a, int dword, long value) {
        memory.write64(a + 8L * dword, value);
        sync(sid);
    }

    private void sync(int sid) {
        cmdq.submitAndSync(Command.cfgiSte(sid, true));
    }

    /** The bits of each dword the SMMU reads for this STE's configuration. */
    static long[] usedBits(long[] ste) {
        long[] used = new long[DWORDS];
        used[0] = V.mask();
        if (!V.isSet(ste[0])) {
            return used;
        }
        used[0] |= CONFIG.mask();
        int config = (int) CONFIG.get(ste[0]);
        if (config == CONFIG_BYPASS) {
            used[1] = MEMATTR.mask() | MTCFG.mask() | ALLOCCFG.mask() | SHCFG.mask() | PRIVCFG.mask() | INSTCFG.mask();
        } else if (config == CONFIG_S1) {
            used[0] = -1L;
            used[1] = -1L;
            used[2] = S2VMID.mask();
        } else if (config >= CONFIG_S2) {
            // MEV only merges events: safe to change at any step (as Linux treats it); a stage 2 only
            // STE ignores the stage 1 fields, so S2 <-> nested replacements change one critical dword
            used[0] = -1L;
            used[1] = ~MEV.mask() & (config == CONFIG_S2
                    ? ~(S1DSS.mask() | S1CIR.mask() | S1COR.mask() | S1CSH.mask() | S1STALLD.mask()) : -1L);
            used[2] = -1L;
            used[3] = -1L;
        }
        return used;
    }

    /** V=1, Config=abort: the STE of every StreamID with nothing attached. */
    static long[] abortSte() {
        long[] ste = new long[DWORDS];
        ste[0] = V.of(1) | CONFIG.of(CONFIG_ABORT);
        return ste;
    }

    /** V=1, Config=bypass. */
    static long[] bypassSte() {
        long[] ste = new long[DWORDS];
        ste[0] = V.of(1) | CONFIG.of(CONFIG_BYPASS);
        return ste;
    }

    /** Stage 1 STE pointing at a CD table. */
    static long[] stage1Ste(long cdTable, int s1Fmt, int cdMax, int s1dss) {
        long[] ste = new long[DWORDS];
        ste[0] = V.of(1) | CONFIG.of(CONFIG_S1) | S1FMT.of(s1Fmt) | (cdTable & S1_CONTEXT_PTR.mask()) | S1_CD_MAX.of(cdMax);
        ste[1] = S1DSS.of(s1dss) | S1CIR.of(CIR_WBRA) | S1COR.of(CIR_WBRA) | S1CSH.of(3);
        return ste;
    }

    /** Stage 2 STE for tables at {@code ttb}. */
    static long[] stage2Ste(int vmid, long ttb, int t0sz, int sl0, int tg, int ps) {
        long[] ste = new long[DWORDS];
        ste[0] = V.of(1) | CONFIG.of(CONFIG_S2);
        ste[2] = S2VMID.of(vmid) | S2T0SZ.of(t0sz) | S2SL0.of(sl0) | S2IR0.of(1) | S2OR0.of(1) | S2SH0.of(3)
                | S2TG.of(tg) | S2PS.of(ps) | S2AA64.of(1) | S2PTW.of(1) | S2R.of(1);
        ste[3] = ttb & S2TTB.mask();
        return ste;
    }

    /** Frees every table; the SMMU is disabled. */
    void free() {
        for (long l2 : l2Tables.values()) {
            allocator.free(l2);
        }
        l2Tables.clear();
        l2Users.clear();
        allocator.free(base);
    }
}
