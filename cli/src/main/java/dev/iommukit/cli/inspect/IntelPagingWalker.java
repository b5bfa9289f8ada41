package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.Bits.bit;
import static dev.iommukit.cli.inspect.Bits.field;
import static dev.iommukit.cli.inspect.Ranges.hex;

/**
 * Walks VT-d paging structures, visiting present entries only (spec/vtd.md §7, §8): second-level tables (3, 4 or
 * 5 levels; R/W cumulative; 2M/1G pages with PS) and first-level IA-32e tables (4 or 5 levels; P, R/W, U/S, PS;
 * canonical addresses). Reports each leaf with the permission it gives the configured request privilege.
 */
final class IntelPagingWalker {

    /** Receives one reachable leaf: {@code size} bytes from input {@code ia} to {@code oa}. */
    interface LeafSink {
        void leaf(long ia, long size, long oa, boolean read, boolean write, String leafName);
    }

    /**
     * Walk parameters. {@code inputBits}: SL X = min(MGAW+1, AGAW); FL 48 or 57 (canonical). {@code adUpdates}:
     * hardware can set A/D (PWSNP=1 and ECAP.SMPWCS=1). {@code outputLimitBits}: nested FL addresses must stay below
     * 2^X (0 = no limit).
     */
    record Config(String name, boolean firstLevel, int levels, long root, int inputBits, boolean pages2M,
            boolean pages1G, boolean snoopControl, boolean deviceTlb, boolean slade, boolean adUpdates, boolean eafe,
            boolean supervisor, boolean wpe, int outputLimitBits) {}

    private final Config config;
    private final TableMemory memory;
    private final Trace trace;

    IntelPagingWalker(Config config, TableMemory memory, Trace trace) {
        this.config = config;
        this.memory = memory;
        this.trace = trace;
    }

    private static int shift(int level) {
        return 12 + 9 * (level - 1);
    }

    /** Visits every leaf overlapping input offsets {@code [lo, hi]} (before sign extension, for FL). */
    void enumerate(long lo, long hi, LeafSink sink) {
        long top = (1L << config.inputBits) - 1;
        if (Long.compareUnsigned(lo, top) > 0) {
            return;
        }
        if (Long.compareUnsigned(hi, top) > 0) {
            hi = top;
        }
        walk(config.levels, config.root, 0, true, true, false, lo, hi, sink);
    }

    /** One translated address: output and the leaf's cumulative permissions. */
    record Leaf(long output, boolean read, boolean write) {}

    /** The translation of {@code ia} (already canonical-reduced for FL), or null when it faults. */
    Leaf translate(long ia) {
        Leaf[] found = new Leaf[1];
        enumerate(ia, ia, (at, size, oa, read, write, name) -> found[0] = new Leaf(oa + (ia - at), read, write));
        return found[0];
    }

    /** Sign-extends an FL input offset to its canonical address. */
    long canonical(long offset) {
        int unused = 64 - config.inputBits;
        return config.firstLevel ? offset << unused >> unused : offset;
    }

    private void walk(int level, long table, long base, boolean r, boolean w, boolean needsUpdate, long lo, long hi,
            LeafSink sink) {
        int shift = shift(level);
        long first = Long.compareUnsigned(lo, base) <= 0 ? 0 : (lo - base) >>> shift;
        long last = Math.min(511, (hi - base) >>> shift);
        for (long index = first; index <= last; index++) {
            long address = table + 8 * index;
            long ia = base + (index << shift);
            if (!trace.spend()) {
                return;
            }
            long e;
            try {
                e = memory.read64(address);
            } catch (WalkFault f) {
                trace.note(config.name + " L" + level + " entry @" + hex(address) + ": " + f.getMessage());
                continue;
            }
            if (config.firstLevel) {
                firstLevel(level, address, ia, e, r, w, needsUpdate, lo, hi, sink);
            } else {
                secondLevel(level, address, ia, e, r, w, needsUpdate, lo, hi, sink);
            }
        }
    }

    private void secondLevel(int level, long address, long ia, long e, boolean r, boolean w, boolean needsUpdate,
            long lo, long hi, LeafSink sink) {
        boolean er = bit(e, 0);
        boolean ew = bit(e, 1);
        if (!er && !ew) {
            return;
        }
        boolean ps = bit(e, 7);
        boolean leaf = level == 1 || ps;
        String reserved = null;
        if (ps && level >= 4) {
            reserved = "PS set in a level-" + level + " entry";
        } else if (ps && level == 3 && !config.pages1G) {
            reserved = "PS set in a PDPE without SLLPS 1G";
        } else if (ps && level == 2 && !config.pages2M) {
            reserved = "PS set in a PDE without SLLPS 2M";
        } else if (!leaf && bit(e, 11)) {
            reserved = "SNP set in a non-leaf entry";
        } else if (leaf && bit(e, 11) && !config.snoopControl) {
            reserved = "SNP set without ECAP.SC";
        } else if (leaf && bit(e, 62) && !config.deviceTlb) {
            reserved = "TM set without ECAP.DT";
        } else if (leaf && level > 1 && field(e, shift(level) - 1, 12) != 0) {
            reserved = "address bits [" + (shift(level) - 1) + ":12] set in a large-page leaf";
        }
        if (reserved != null) {
            trace.note(config.name + " L" + level + " entry @" + hex(address) + " = " + hex(e) + ": " + reserved
                    + " -> SSS.3 reserved-bit fault");
            return;
        }
        boolean update = needsUpdate || (config.slade && !bit(e, 8));
        boolean cr = r && er;
        boolean cw = w && ew;
        if (leaf) {
            if (config.slade && !config.adUpdates && update) {
                trace.note(config.name + " L" + level + " entry @" + hex(address) + " for " + hex(ia)
                        + ": A=0 on the path and no snooped walk to set it -> SSS.5");
                return;
            }
            if (config.slade && !config.adUpdates && !bit(e, 9)) {
                cw = false;
            }
            if (cr || cw) {
                long size = 1L << shift(level);
                sink.leaf(ia, size, Bits.address(e, 51, shift(level)), cr, cw, pageName(level));
            }
        } else if (cr || cw) {
            walk(level - 1, Bits.address(e, 51, 12), ia, cr, cw, update, lo, hi, sink);
        }
    }

    private void firstLevel(int level, long address, long ia, long e, boolean user, boolean rw, boolean needsUpdate,
            long lo, long hi, LeafSink sink) {
        if (!bit(e, 0)) {
            return;
        }
        boolean ps = bit(e, 7);
        boolean leaf = level == 1 || (ps && level <= 3);
        String reserved = null;
        if (ps && level >= 4) {
            reserved = "PS set in a PML" + level + "E";
        } else if (ps && level == 3 && !config.pages1G) {
            reserved = "PS set in a PDPE without CAP.FL1GP";
        } else if (leaf && level > 1 && field(e, shift(level) - 1, 13) != 0) {
            reserved = "address bits [" + (shift(level) - 1) + ":13] set in a large-page leaf";
        }
        if (reserved != null) {
            trace.note(config.name + " L" + level + " entry @" + hex(address) + " = " + hex(e) + ": " + reserved
                    + " -> SFS.3 reserved-bit fault");
            return;
        }
        long next = leaf ? Bits.address(e, 51, shift(level)) : Bits.address(e, 51, 12);
        if (config.outputLimitBits > 0 && next >>> config.outputLimitBits != 0) {
            trace.note(config.name + " L" + level + " entry @" + hex(address) + " = " + hex(e)
                    + ": ADDR beyond 2^X-1 -> SFS.5");
            return;
        }
        boolean flagsMissing = !bit(e, 5) || (config.eafe && !bit(e, 10));
        if (flagsMissing && !config.adUpdates) {
            trace.note(config.name + " L" + level + " entry @" + hex(address) + " for " + hex(canonical(ia))
                    + ": A" + (config.eafe ? "/EA" : "") + "=0 and no snooped walk to set it -> SFS.9");
            return;
        }
        if (flagsMissing && !memory.writable(address)) {
            trace.note(config.name + " L" + level + " entry @" + hex(address)
                    + ": A=0 but the second level denies the write that sets it -> SFS.8");
            return;
        }
        boolean cu = user && bit(e, 2);
        boolean crw = rw && bit(e, 1);
        if (!leaf) {
            walk(level - 1, next, ia, cu, crw, needsUpdate || flagsMissing, lo, hi, sink);
            return;
        }
        boolean read;
        boolean write;
        if (config.supervisor) {
            read = true;
            write = !config.wpe || crw;
        } else {
            read = cu;
            write = cu && crw;
        }
        if (write && !bit(e, 6) && (!config.adUpdates || !memory.writable(address))) {
            write = false;
        }
        if (read || write) {
            sink.leaf(ia, 1L << shift(level), next, read, write, pageName(level));
        }
    }

    private static final String[] PAGE_NAMES = {"", "4K pages", "2M pages", "1G pages", "512G pages", "256T pages"};

    private static String pageName(int level) {
        return PAGE_NAMES[level];
    }
}
