package dev.iommukit.api;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** The core's own record of a paging domain's mappings: disjoint ranges keyed by IOVA. Not thread-safe. */
final class IovaMappings {
    private final TreeMap<Long, Mapping> byIova = new TreeMap<>(Long::compareUnsigned);

    /** The first mapping that overlaps {@code [iova, end)}, or null. */
    Mapping firstOverlap(long iova, long end) {
        Map.Entry<Long, Mapping> floor = byIova.floorEntry(iova);
        if (floor != null && Long.compareUnsigned(floor.getValue().end(), iova) > 0) {
            return floor.getValue();
        }
        Map.Entry<Long, Mapping> ceiling = byIova.ceilingEntry(iova);
        if (ceiling != null && Long.compareUnsigned(ceiling.getKey(), end) < 0) {
            return ceiling.getValue();
        }
        return null;
    }

    void add(Mapping m) {
        byIova.put(m.iova(), m);
    }

    /** The parts of mappings inside {@code [iova, end)}, clipped to it, lowest first. */
    List<Mapping> clipped(long iova, long end) {
        List<Mapping> out = new ArrayList<>();
        Map.Entry<Long, Mapping> floor = byIova.floorEntry(iova);
        Long from = floor != null && Long.compareUnsigned(floor.getValue().end(), iova) > 0 ? floor.getKey() : Long.valueOf(iova);
        for (Mapping m : byIova.tailMap(from, true).values()) {
            if (Long.compareUnsigned(m.iova(), end) >= 0) {
                break;
            }
            long s = Long.compareUnsigned(m.iova(), iova) > 0 ? m.iova() : iova;
            long e = Long.compareUnsigned(m.end(), end) < 0 ? m.end() : end;
            out.add(new Mapping(s, e - s, m.pa() + (s - m.iova()), m.permissions()));
        }
        return out;
    }

    /** Removes {@code [iova, end)}, keeping the parts of cut mappings outside it. */
    void remove(long iova, long end) {
        for (Mapping cut : clipped(iova, end)) {
            Map.Entry<Long, Mapping> owner = byIova.floorEntry(cut.iova());
            Mapping m = owner.getValue();
            byIova.remove(m.iova());
            if (Long.compareUnsigned(m.iova(), cut.iova()) < 0) {
                add(new Mapping(m.iova(), cut.iova() - m.iova(), m.pa(), m.permissions()));
            }
            if (Long.compareUnsigned(cut.end(), m.end()) < 0) {
                add(new Mapping(cut.end(), m.end() - cut.end(), m.pa() + (cut.end() - m.iova()), m.permissions()));
            }
        }
    }

    List<Mapping> all() {
        return List.copyOf(byIova.values());
    }

    boolean isEmpty() {
        return byIova.isEmpty();
    }
}
