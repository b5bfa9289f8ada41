package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.Ranges.hex;

/**
 * Walks VMSAv8-64 translation tables (spec/smmuv3.md §7, §8) for one stage, visiting present entries only, and
 * reports every leaf with the permission it gives an unprivileged (or, when configured, privileged) non-execute
 * request. 4K, 16K and 64K granules; blocks where the granule allows them; 52-bit output with 64K (FEAT_LPA).
 * LPA2 (DS=1) is not walked.
 */
final class VmsaWalker {

    /** Receives one reachable leaf: {@code size} bytes from region offset {@code ia} to {@code oa}. */
    interface LeafSink {
        void leaf(long ia, long size, long oa, boolean read, boolean write, long descriptor, String leafName);
    }

    /**
     * One stage's walk parameters. {@code inputBits} = 64 − TxSZ; {@code outputBits} = effective IPS / S2PS;
     * {@code regionBase} is added to region offsets to give input addresses (non-zero for a TTB1 region).
     */
    record Config(String name, boolean stage2, int granuleBits, int startLevel, int inputBits, long tableBase,
            int outputBits, boolean accessFlagFaultDisabled, boolean hardwareAccessFlag, boolean hardwareDirty,
            boolean privileged, boolean ignoreAp1, boolean pan, boolean tableAttributesDisabled, long regionBase) {

        int stride() {
            return granuleBits - 3;
        }

        /** Lowest input bit a level's index resolves. */
        int shift(int level) {
            return granuleBits + (3 - level) * stride();
        }

        /** Entries in a table at {@code level} (the initial table may be smaller, or concatenated at stage 2). */
        long entries(int level) {
            return level == startLevel ? 1L << (inputBits - shift(level)) : 1L << stride();
        }

        boolean largeOutput() {
            return granuleBits == 16 && outputBits >= 52;
        }

        boolean blockAllowed(int level) {
            return switch (granuleBits) {
                case 12 -> level == 1 || level == 2;
                case 14 -> level == 2;
                default -> level == 2 || (level == 1 && largeOutput());
            };
        }
    }

    /** Stage-1 start level from the input size (§8.1): levels = ceil((IA − G) / S). */
    static int stage1StartLevel(int granuleBits, int inputBits) {
        int stride = granuleBits - 3;
        int levels = (inputBits - granuleBits + stride - 1) / stride;
        return 4 - levels;
    }

    private final Config config;
    private final TableMemory memory;
    private final Trace trace;

    private final String[] leafNames = new String[4];

    VmsaWalker(Config config, TableMemory memory, Trace trace) {
        this.config = config;
        this.memory = memory;
        this.trace = trace;
        for (int level = 0; level < 4; level++) {
            leafNames[level] = Ranges.size(1L << config.shift(level)) + (level == 3 ? " pages" : " blocks");
        }
    }

    Config config() {
        return config;
    }

    /** Visits every leaf overlapping region offsets {@code [lo, hi]} (inclusive). */
    void enumerate(long lo, long hi, LeafSink sink) {
        long top = config.inputBits >= 64 ? -1L : (1L << config.inputBits) - 1;
        if (Long.compareUnsigned(lo, top) > 0) {
            return;
        }
        if (Long.compareUnsigned(hi, top) > 0) {
            hi = top;
        }
        if (config.tableBase >>> config.outputBits != 0 && config.outputBits < 64) {
            trace.note(config.name + ": table base " + hex(config.tableBase) + " beyond the " + config.outputBits
                    + "-bit output size -> F_ADDR_SIZE");
            return;
        }
        walk(config.startLevel, config.tableBase, 0, false, false, lo, hi, sink);
    }

    /** The leaf translating region offset {@code ia}, or null when the walk faults there. */
    Leaf translate(long ia) {
        Leaf[] found = new Leaf[1];
        enumerate(ia, ia, (at, size, oa, read, write, desc, name) ->
                found[0] = new Leaf(oa + (ia - at), read, write, desc));
        return found[0];
    }

    /** One translated address with the leaf's permissions and raw descriptor. */
    record Leaf(long output, boolean read, boolean write, long descriptor) {}

    private void walk(int level, long table, long base, boolean noEl0, boolean noWrite, long lo, long hi,
            LeafSink sink) {
        int shift = config.shift(level);
        long count = config.entries(level);
        long first = Math.max(0, (lo - base) >>> shift);
        long last = Math.min(count - 1, (hi - base) >>> shift);
        if (Long.compareUnsigned(lo, base) < 0) {
            first = 0;
        }
        for (long index = first; index <= last; index++) {
            long address = table + 8 * index;
            long ia = base + (index << shift);
            if (!trace.spend()) {
                return;
            }
            long d;
            try {
                d = memory.read64(address);
            } catch (WalkFault f) {
                trace.note(config.name + " L" + level + " descriptor @" + hex(address) + " for " + input(ia) + ": "
                        + f.getMessage());
                continue;
            }
            if ((d & 1) == 0) {
                continue;
            }
            boolean tableOrPage = (d & 2) != 0;
            if (level == 3) {
                if (!tableOrPage) {
                    trace.note(config.name + " L3 descriptor @" + hex(address) + " = " + hex(d)
                            + ": bits[1:0]=01 reserved at level 3 -> F_TRANSLATION");
                    continue;
                }
                leaf(level, address, ia, d, noEl0, noWrite, sink);
            } else if (tableOrPage) {
                long next = outputAddress(d, config.granuleBits);
                if (next < 0 || !fitsOutput(next)) {
                    trace.note(config.name + " L" + level + " table descriptor @" + hex(address) + " = " + hex(d)
                            + ": next-level table beyond the " + config.outputBits + "-bit output size -> F_ADDR_SIZE");
                    continue;
                }
                boolean attrs = !config.stage2 && !config.tableAttributesDisabled;
                boolean el0 = noEl0 || (attrs && (d >>> 61 & 1) != 0);
                boolean wr = noWrite || (attrs && (d >>> 62 & 1) != 0);
                walk(level + 1, next, ia, el0, wr, lo, hi, sink);
            } else {
                if (!config.blockAllowed(level)) {
                    trace.note(config.name + " L" + level + " descriptor @" + hex(address) + " = " + hex(d)
                            + ": block not allowed at level " + level + " with a " + Ranges.size(1L << config.granuleBits)
                            + " granule -> F_TRANSLATION");
                    continue;
                }
                leaf(level, address, ia, d, noEl0, noWrite, sink);
            }
        }
    }

    private void leaf(int level, long address, long ia, long d, boolean noEl0, boolean noWrite, LeafSink sink) {
        int shift = config.shift(level);
        long oa = outputAddress(d, shift);
        if (oa < 0 || !fitsOutput(oa)) {
            trace.note(config.name + " L" + level + " leaf @" + hex(address) + " = " + hex(d) + " for " + input(ia)
                    + ": output beyond the " + config.outputBits + "-bit output size -> F_ADDR_SIZE");
            return;
        }
        boolean af = (d >>> 10 & 1) != 0;
        if (!af && !config.accessFlagFaultDisabled && !config.hardwareAccessFlag) {
            trace.note(config.name + " L" + level + " leaf @" + hex(address) + " for " + input(ia)
                    + ": AF=0 -> F_ACCESS");
            return;
        }
        // A hardware update of the descriptor is a write to the table's own address space: in a nested walk that is a
        // stage-2 write, which stage 2 must permit (else a stage-2 permission fault on the walk, CLASS=TT).
        if (!af && !config.accessFlagFaultDisabled && !memory.writable(address)) {
            trace.note(config.name + " L" + level + " leaf @" + hex(address) + " for " + input(ia)
                    + ": AF=0, and stage 2 denies the write that sets it -> stage-2 F_PERMISSION");
            return;
        }
        boolean dbm = (d >>> 51 & 1) != 0 && config.hardwareDirty && memory.writable(address);
        boolean read;
        boolean write;
        if (config.stage2) {
            read = (d >>> 6 & 1) != 0;
            write = (d >>> 7 & 1) != 0 || dbm;
        } else {
            boolean ap1 = (d >>> 6 & 1) != 0;
            boolean ap2 = (d >>> 7 & 1) != 0;
            if (config.ignoreAp1) {
                read = true;
            } else if (config.privileged) {
                read = !(config.pan && ap1);
            } else {
                read = ap1 && !noEl0;
            }
            write = read && (!ap2 || dbm) && !noWrite;
        }
        if (!read && !write) {
            return;
        }
        sink.leaf(ia, 1L << shift, oa, read, write, d, leafNames[level]);
    }

    /** The address a descriptor holds, aligned to {@code alignBits}; −1 when RES0 address bits [51:48] are set. */
    private long outputAddress(long d, int alignBits) {
        long mask = ((1L << 48) - 1) & ~((1L << alignBits) - 1);
        long a = d & mask;
        if (config.largeOutput()) {
            a |= (d >>> 12 & 0xF) << 48;
        } else if ((d >>> 48 & 0xF) != 0) {
            return -1;
        }
        return a;
    }

    private boolean fitsOutput(long a) {
        return config.outputBits >= 64 || a >>> config.outputBits == 0;
    }

    private String input(long offset) {
        return (config.stage2 ? "IPA " : "VA ") + hex(config.regionBase + offset);
    }
}
