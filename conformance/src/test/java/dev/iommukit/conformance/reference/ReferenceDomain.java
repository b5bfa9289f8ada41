package dev.iommukit.conformance.reference;

import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/** A reference domain: leaves (pages of 4K, 2M or 1G) keyed by IOVA, plus one table page it owns. */
final class ReferenceDomain implements BackendDomain {
    /** One page of the translation. */
    record Leaf(long iova, long pa, long size, int permissions) {}

    private final ReferenceUnit unit;
    private final DomainInfo info;
    private final long tablePage;
    private final ConcurrentSkipListMap<Long, Leaf> leaves = new ConcurrentSkipListMap<>();

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
        for (long i = 0; i < count; i++) {
            leaves.put(iova + i * pageSize, new Leaf(iova + i * pageSize, pa + i * pageSize, pageSize, p));
        }
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
        if (tablePage >= 0 && !unit.flaws.contains(Flaw.LEAKS_TABLE_PAGES)) {
            unit.context().tableAllocator().free(tablePage);
        }
    }
}
