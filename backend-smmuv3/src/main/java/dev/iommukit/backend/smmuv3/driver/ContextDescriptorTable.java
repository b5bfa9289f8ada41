package dev.iommukit.backend.smmuv3.driver;

import static dev.iommukit.backend.smmuv3.arch.ContextDescriptor.*;

import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.backend.smmuv3.arch.L1ContextDescriptor;
import dev.iommukit.backend.smmuv3.arch.StreamTableEntry;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.HashMap;
import java.util.Map;

/**
 * One stream's CD table: a single CD (S1CDMax = 0), a linear table of up to 1024 CDs, or a
 * 2-level table (S1Fmt = 2) whose 64 KiB leaves of 1024 CDs are allocated on first use and freed
 * when empty. CD changes are ordered so the SMMU never sees a torn CD: a new CD is written whole
 * before V=1; a live CD is first parked (EPD0=1, R=0: walks off, faults silent), then rewritten.
 */
final class ContextDescriptorTable {
    private static final String OWNER = "smmuv3 CD table";
    private static final int LINEAR_MAX_BITS = 10;

    private final PhysicalMemory memory;
    private final PageAllocator allocator;
    private final CommandQueue cmdq;
    private final int sid;
    private final int cdMax;
    private final boolean twoLevel;
    private final long base;
    private final Map<Integer, Long> leaves = new HashMap<>();
    private final Map<Integer, Integer> leafUsers = new HashMap<>();

    ContextDescriptorTable(PhysicalMemory memory, PageAllocator allocator, CommandQueue cmdq, int sid, int cdMax) {
        this.memory = memory;
        this.allocator = allocator;
        this.cmdq = cmdq;
        this.sid = sid;
        this.cdMax = cdMax;
        this.twoLevel = cdMax > LINEAR_MAX_BITS;
        long bytes = twoLevel ? 8L << (cdMax - L1ContextDescriptor.SPLIT_64K) : (long) BYTES << cdMax;
        this.base = allocator.allocate(bytes, OWNER);
    }

    long base() {
        return base;
    }

    int cdMax() {
        return cdMax;
    }

    int s1Fmt() {
        return twoLevel ? StreamTableEntry.S1FMT_64K_L2 : StreamTableEntry.S1FMT_LINEAR;
    }

    private long cdAddress(int ssid, boolean allocate) {
        if (!twoLevel) {
            return base + (long) BYTES * ssid;
        }
        int l1 = ssid >>> L1ContextDescriptor.SPLIT_64K;
        Long leaf = leaves.get(l1);
        if (leaf == null) {
            if (!allocate) {
                return -1;
            }
            leaf = allocator.allocate((long) BYTES << L1ContextDescriptor.SPLIT_64K, OWNER + " leaf");
            leaves.put(l1, leaf);
            memory.write64(base + 8L * l1, L1ContextDescriptor.encode(leaf));
            cmdq.submitAndSync(Command.cfgiCd(sid, ssid, false));
        }
        return leaf + (long) BYTES * (ssid & ((1 << L1ContextDescriptor.SPLIT_64K) - 1));
    }

    /** Installs {@code cd} (V=1) at {@code ssid}, replacing what was there. */
    void install(int ssid, long[] cd) {
        long existing = cdAddress(ssid, false);
        if (existing >= 0 && java.util.Arrays.equals(read(existing), cd)) {
            return;
        }
        boolean fresh = cdAddress(ssid, false) < 0 || !V.isSet(memory.read64(cdAddress(ssid, false)));
        long a = cdAddress(ssid, true);
        if (fresh) {
            if (twoLevel) {
                leafUsers.merge(ssid >>> L1ContextDescriptor.SPLIT_64K, 1, Integer::sum);
            }
        } else {
            long parked = memory.read64(a) | EPD0.of(1);
            memory.write64(a, parked & ~R.mask());
            cmdq.submitAndSync(Command.cfgiCd(sid, ssid, true));
        }
        for (int i = 1; i < DWORDS; i++) {
            memory.write64(a + 8L * i, cd[i]);
        }
        memory.write64(a, cd[0]);
        cmdq.submitAndSync(Command.cfgiCd(sid, ssid, true));
    }

    private long[] read(long a) {
        long[] cd = new long[DWORDS];
        for (int i = 0; i < DWORDS; i++) {
            cd[i] = memory.read64(a + 8L * i);
        }
        return cd;
    }

    /** Makes {@code ssid} invalid (V=0) and frees its leaf if that was the last CD in it. */
    void remove(int ssid) {
        long a = cdAddress(ssid, false);
        if (a < 0 || !V.isSet(memory.read64(a))) {
            return;
        }
        memory.write64(a, 0);
        cmdq.submitAndSync(Command.cfgiCd(sid, ssid, true));
        for (int i = 1; i < DWORDS; i++) {
            memory.write64(a + 8L * i, 0);
        }
        if (twoLevel) {
            int l1 = ssid >>> L1ContextDescriptor.SPLIT_64K;
            if (leafUsers.merge(l1, -1, Integer::sum) == 0) {
                leafUsers.remove(l1);
                long leaf = leaves.remove(l1);
                memory.write64(base + 8L * l1, 0);
                cmdq.submitAndSync(Command.cfgiCd(sid, ssid, false));
                allocator.free(leaf);
            }
        }
    }

    /** Frees every table page; the STE no longer points here and that change was synced. */
    void free() {
        for (long leaf : leaves.values()) {
            allocator.free(leaf);
        }
        leaves.clear();
        leafUsers.clear();
        allocator.free(base);
    }

    /** A CD for a stage 1 domain: TTB0 walks only, 48-bit IPS, faults recorded and aborted. */
    static long[] stage1Cd(int asid, long ttb0, int t0sz, int tg0, long mair) {
        long[] cd = new long[DWORDS];
        cd[0] = T0SZ.of(t0sz) | TG0.of(tg0) | IR0.of(CACHE_WBWA) | OR0.of(CACHE_WBWA) | SH0.of(3) | EPD1.of(1) | V.of(1)
                | IPS.of(5) | AA64.of(1) | R.of(1) | A.of(1) | ASET.of(1) | ASID.of(asid);
        cd[1] = ttb0 & TTB0.mask();
        cd[3] = mair;
        return cd;
    }
}
