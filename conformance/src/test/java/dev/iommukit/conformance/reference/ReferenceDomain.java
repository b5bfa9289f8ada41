package dev.iommukit.conformance.reference;

import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;

/** A reference domain: leaves (pages of 4K, 2M or 1G) keyed by IOVA, plus one table page it owns. */
final class ReferenceDomain implements BackendDomain {
    /** One page of the translation. */
    record Leaf(long iova, long pa, long size, int permissions) {}

    private final ReferenceUnit unit;
    private final DomainInfo info;
    private final long tablePage;
    private final ConcurrentSkipListMap<Long, Leaf> leaves = new ConcurrentSkipListMap<>();
    /** The table pages a radix walk would need for the mappings made so far, kept until the domain is freed. */
    private final Map<Long, Long> regionTables = new ConcurrentHashMap<>();

    ReferenceDomain(ReferenceUnit unit, DomainType type) {
        this.unit = unit;
        if (type == DomainType.PAGING) {
            this.info = new DomainInfo(type, ReferenceBackend.PAGE_SIZES, 0, (1L << ReferenceBackend.INPUT_BITS) - 1,
                    ReferenceBackend.OUTPUT_BITS, true, "reference leaves, 48-bit input");
            this.tablePage = unit.context().tableAllocator().allocatePage(unit.name() + " domain");
        } else {
            this.info = DomainInfo.unmapped(type, true, type == DomainType.IDENTITY ? "pass-through" : "abort");
            this.tablePage = -1;
        }
    }

    DomainType type() {
        return info.type();
    }

    @Override
    public DomainInfo info() {
        return info;
    }

    @Override
    public void map(long iova, long pa, long pageSize, long count, int permissions) {
        int p = unit.flaws.contains(Flaw.IGNORES_READ_ONLY) ? permissions | Permissions.WRITE : permissions;
        if (unit.flaws.contains(Flaw.PARTIAL_MAP_ON_EXHAUSTION)) {
            for (long i = 0; i < count; i++) {
                long at = iova + i * pageSize;
                for (long table : tablesFor(at, pageSize, 1)) {
                    regionTables.computeIfAbsent(table, t -> unit.context().tableAllocator().allocatePage(unit.name() + " table"));
                }
                leaves.put(at, new Leaf(at, pa + i * pageSize, pageSize, p));
            }
            return;
        }
        List<Long> allocated = new ArrayList<>();
        try {
            for (long table : tablesFor(iova, pageSize, count)) {
                if (!regionTables.containsKey(table)) {
                    regionTables.put(table, unit.context().tableAllocator().allocatePage(unit.name() + " table"));
                    allocated.add(table);
                }
            }
        } catch (RuntimeException e) {
            for (long table : allocated) {
                unit.context().tableAllocator().free(regionTables.remove(table));
            }
            throw e;
        }
        for (long i = 0; i < count; i++) {
            leaves.put(iova + i * pageSize, new Leaf(iova + i * pageSize, pa + i * pageSize, pageSize, p));
        }
    }

    /**
     * The tables a radix walk needs for {@code count} pages of {@code pageSize} at {@code iova}, as
     * keys {@code level << 56 | index}: a level-2 table per 1 GiB region below 1 GiB pages, a
     * level-3 table per 2 MiB region below 2 MiB pages.
     */
    private static List<Long> tablesFor(long iova, long pageSize, long count) {
        List<Long> keys = new ArrayList<>();
        long last = iova + pageSize * count - 1;
        if (pageSize < (1L << 30)) {
            for (long r = iova >>> 30; r <= last >>> 30; r++) {
                keys.add(2L << 56 | r);
            }
        }
        if (pageSize < (1L << 21)) {
            for (long r = iova >>> 21; r <= last >>> 21; r++) {
                keys.add(3L << 56 | r);
            }
        }
        return keys;
    }

    Leaf lookup(long iova) {
        Map.Entry<Long, Leaf> e = leaves.floorEntry(iova);
        if (e == null) {
            return null;
        }
        Leaf l = e.getValue();
        return iova - l.iova() < l.size() ? l : null;
    }

    @Override
    public void unmap(long iova, long size) {
        long end = iova + size;
        List<Leaf> cut = new ArrayList<>();
        Leaf first = lookup(iova);
        if (first != null) {
            cut.add(first);
        }
        for (Leaf l : leaves.subMap(iova, true, end, false).values()) {
            if (first == null || l.iova() != first.iova()) {
                cut.add(l);
            }
        }
        for (Leaf l : cut) {
            List<Leaf> keep = new ArrayList<>();
            split(l, l.iova(), Math.max(l.iova(), iova), keep);
            split(l, Math.min(l.iova() + l.size(), end), l.iova() + l.size(), keep);
            boolean replacedAtKey = false;
            for (Leaf k : keep) {
                leaves.put(k.iova(), k);
                replacedAtKey |= k.iova() == l.iova();
            }
            if (!replacedAtKey) {
                leaves.remove(l.iova(), l);
            }
        }
        if (!unit.flaws.contains(Flaw.STALE_TLB_ON_UNMAP)) {
            unit.invalidateAll();
        }
    }

    /** Adds the largest aligned pages covering {@code [from, to)} of leaf {@code l} to {@code out}. */
    private static void split(Leaf l, long from, long to, List<Leaf> out) {
        long a = from;
        while (a < to) {
            long page = 1L << 30;
            while (page > 4096 && ((a & (page - 1)) != 0 || a + page > to)) {
                page >>>= 9;
            }
            out.add(new Leaf(a, l.pa() + (a - l.iova()), page, l.permissions()));
            a += page;
        }
    }

    @Override
    public long iovaToPhys(long iova) {
        Leaf l = lookup(iova);
        return l == null ? -1 : l.pa() + (iova - l.iova());
    }

    @Override
    public void free() {
        leaves.clear();
        if (!unit.flaws.contains(Flaw.LEAKS_TABLE_PAGES)) {
            regionTables.values().forEach(unit.context().tableAllocator()::free);
        }
        regionTables.clear();
        if (tablePage >= 0 && !unit.flaws.contains(Flaw.LEAKS_TABLE_PAGES)) {
            unit.context().tableAllocator().free(tablePage);
        }
    }
}
