package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.Ranges.hex;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.IntPredicate;

/**
 * Checks a dump: walks every requester of every known unit and compares what the structures translate with the
 * dump's {@code expect}, after coalescing contiguous ranges with equal permissions. Reachable but not expected is
 * an {@link Mismatch.Kind#ISOLATION} error; expected but not reachable, or reachable at another PA or with fewer
 * permissions, a {@link Mismatch.Kind#FUNCTIONAL} error (a different PA is both).
 *
 * <p>Requesters walked per rid (from {@code units[].devices} and from {@code expect}): without PASID; every PASID
 * {@code expect} names; every PASID the structures hold a valid entry for; and the samples 0, 1, 2 and the unit's
 * largest PASID.
 */
public final class DumpChecker {

    /** One requester: what the walk found, what {@code expect} lists, and the differences. */
    public record RequesterReport(Requester requester, String deviceName, WalkResult walked, boolean expectedIdentity,
            List<Mapping> expected, List<Mismatch> mismatches) {
        public RequesterReport {
            expected = List.copyOf(expected);
            mismatches = List.copyOf(mismatches);
        }

        /** Whether {@code expect} names this requester at all. */
        public boolean expectedAnything() {
            return expectedIdentity || !expected.isEmpty();
        }
    }

    /** One unit: its decoded registers and requesters; for a skipped unit, {@code problems} says why. */
    public record UnitReport(Dump.Unit unit, boolean walked, List<String> registers, List<RequesterReport> requesters,
            List<String> problems) {
        public UnitReport {
            registers = List.copyOf(registers);
            requesters = List.copyOf(requesters);
            problems = List.copyOf(problems);
        }
    }

    /** The whole check. */
    public record Report(List<UnitReport> units, List<String> problems) {
        public Report {
            units = List.copyOf(units);
            problems = List.copyOf(problems);
        }

        /** Every mismatch, in unit and requester order. */
        public List<Mismatch> mismatches() {
            List<Mismatch> all = new ArrayList<>();
            units.forEach(u -> u.requesters().forEach(r -> all.addAll(r.mismatches())));
            return all;
        }

        public long count(Mismatch.Kind kind) {
            return mismatches().stream().filter(m -> m.kind() == kind).count();
        }

        /** No mismatch and no problem with the dump's own content (units of unknown backends are only skipped). */
        public boolean ok() {
            return mismatches().isEmpty() && problemCount() == 0;
        }

        /** Problems with the dump itself: the report's own and those of the walked units. */
        public long problemCount() {
            return problems.size() + units.stream().filter(UnitReport::walked).mapToLong(u -> u.problems().size()).sum();
        }
    }

    /** Checks every requester of {@code dump}. */
    public Report check(Dump dump) {
        return check(dump, rid -> true);
    }

    /** Checks the requesters whose rid {@code ridFilter} accepts. */
    public Report check(Dump dump, IntPredicate ridFilter) {
        List<String> problems = new ArrayList<>();
        for (Dump.Expectation e : dump.expect()) {
            if (dump.unit(e.unit()).isEmpty()) {
                problems.add("expect names unit '" + e.unit() + "', which the dump does not have");
            }
        }
        List<UnitReport> units = new ArrayList<>();
        for (Dump.Unit unit : dump.units()) {
            Optional<UnitWalker> walker = UnitWalker.forUnit(unit, dump.memory());
            if (walker.isEmpty()) {
                units.add(new UnitReport(unit, false, List.of(), List.of(),
                        List.of("backend '" + unit.backend() + "' is not known to inspect: unit skipped")));
                continue;
            }
            units.add(checkUnit(walker.get(), dump, ridFilter));
        }
        return new Report(units, problems);
    }

    private UnitReport checkUnit(UnitWalker walker, Dump dump, IntPredicate ridFilter) {
        Dump.Unit unit = walker.unit();
        List<String> problems = new ArrayList<>();
        Map<Integer, String> rids = new TreeMap<>();
        unit.devices().forEach(d -> rids.put(d.rid(), d.name()));
        Map<Requester, List<Dump.Expectation>> expected = new TreeMap<>();
        for (Dump.Expectation e : dump.expect()) {
            if (e.unit().equals(unit.name())) {
                expected.computeIfAbsent(new Requester(e.rid(), e.pasid()), k -> new ArrayList<>()).add(e);
                if (!rids.containsKey(e.rid())) {
                    problems.add("expect names rid " + hex(e.rid()) + ", which units[].devices does not list");
                    rids.put(e.rid(), "");
                }
            }
        }
        List<RequesterReport> reports = new ArrayList<>();
        for (Map.Entry<Integer, String> device : rids.entrySet()) {
            int rid = device.getKey();
            if (!ridFilter.test(rid)) {
                continue;
            }
            for (Requester requester : requestersOf(walker, rid, expected)) {
                List<Dump.Expectation> exp = expected.getOrDefault(requester, List.of());
                reports.add(compare(unit.name(), requester, device.getValue(), walker.walk(requester), exp, problems));
            }
        }
        return new UnitReport(unit, true, walker.registerLines(), reports, problems);
    }

    private static SortedSet<Requester> requestersOf(UnitWalker walker, int rid,
            Map<Requester, List<Dump.Expectation>> expected) {
        SortedSet<Integer> pasids = new TreeSet<>();
        expected.keySet().stream().filter(r -> r.rid() == rid && r.hasPasid()).forEach(r -> pasids.add(r.pasid()));
        pasids.addAll(walker.pasidsInTables(rid));
        int max = walker.maxPasid();
        if (max >= 0) {
            for (int p : new int[] {0, 1, 2, max}) {
                if (p <= max) {
                    pasids.add(p);
                }
            }
        }
        SortedSet<Requester> out = new TreeSet<>();
        out.add(new Requester(rid, Requester.NO_PASID));
        pasids.forEach(p -> out.add(new Requester(rid, p)));
        return out;
    }

    /** Compares one requester's walk with its expectations. */
    static RequesterReport compare(String unit, Requester requester, String deviceName, WalkResult walked,
            List<Dump.Expectation> expectations, List<String> problems) {
        boolean identity = expectations.stream().anyMatch(Dump.Expectation::identity);
        List<Mapping> expected = new ArrayList<>();
        for (Dump.Expectation e : expectations) {
            if (!e.identity() && (e.read() || e.write())) {
                expected.add(Mapping.of(e.iova(), e.size(), e.pa(), e.read(), e.write(), null));
            }
        }
        expected = Ranges.coalesce(expected);
        for (int i = 1; i < expected.size(); i++) {
            if (Long.compareUnsigned(expected.get(i).iova(), expected.get(i - 1).lastIova()) <= 0) {
                problems.add("expect entries for " + requester + " overlap at " + hex(expected.get(i).iova()));
            }
        }
        List<Mismatch> mismatches = new ArrayList<>();
        boolean walkedIdentity = walked.kind() == WalkResult.Kind.IDENTITY;
        if (identity || walkedIdentity) {
            if (identity && !walkedIdentity) {
                mismatches.add(new Mismatch(Mismatch.Kind.FUNCTIONAL, unit, requester, 0, 0,
                        "expected identity (untranslated), but the structures give "
                                + (walked.ranges().isEmpty() ? "nothing (" + walked.reason() + ")"
                                        : walked.ranges().size() + " translated range(s)")));
            } else if (!identity) {
                mismatches.add(new Mismatch(Mismatch.Kind.ISOLATION, unit, requester, 0, 0,
                        "requests pass untranslated (" + walked.reason() + "), but expect lists "
                                + (expected.isEmpty() ? "nothing" : expected.size() + " translated range(s)")));
            }
        } else {
            mismatches.addAll(compareRanges(unit, requester, walked.ranges(), expected));
        }
        return new RequesterReport(requester, deviceName, walked, identity, expected, mismatches);
    }

    /** Sweeps both sorted, non-overlapping lists and reports each differing stretch once. */
    static List<Mismatch> compareRanges(String unit, Requester requester, List<Mapping> actual, List<Mapping> expected) {
        TreeSet<Long> cuts = new TreeSet<>(Long::compareUnsigned);
        for (List<Mapping> list : List.of(actual, expected)) {
            for (Mapping m : list) {
                cuts.add(m.iova());
                if (m.iova() + m.size() != 0) {
                    cuts.add(m.iova() + m.size());
                }
            }
        }
        List<Stretch> out = new ArrayList<>();
        Long[] points = cuts.toArray(new Long[0]);
        int ai = 0;
        int ei = 0;
        for (int i = 0; i < points.length; i++) {
            long start = points[i];
            long next = i + 1 < points.length ? points[i + 1] : 0;
            long size = next - start;
            while (ai < actual.size() && Long.compareUnsigned(actual.get(ai).lastIova(), start) < 0) {
                ai++;
            }
            while (ei < expected.size() && Long.compareUnsigned(expected.get(ei).lastIova(), start) < 0) {
                ei++;
            }
            Mapping a = ai < actual.size() && covers(actual.get(ai), start) ? actual.get(ai) : null;
            Mapping e = ei < expected.size() && covers(expected.get(ei), start) ? expected.get(ei) : null;
            if (a == null && e == null) {
                continue;
            }
            if (size == 0) {
                size = -start; // up to the top of the address space
            }
            long aPa = a == null ? 0 : a.pa() + (start - a.iova());
            long ePa = e == null ? 0 : e.pa() + (start - e.iova());
            if (a != null && e == null) {
                add(out, Mismatch.Kind.ISOLATION, start, size, aPa, "reachable -> %s " + a.permissions()
                        + ", not expected");
            } else if (a == null) {
                add(out, Mismatch.Kind.FUNCTIONAL, start, size, ePa, "expected -> %s " + e.permissions()
                        + ", not reachable");
            } else if (aPa != ePa) {
                add(out, Mismatch.Kind.ISOLATION, start, size, aPa,
                        "reaches %s " + a.permissions() + ", expected " + hex(ePa) + " " + e.permissions());
                add(out, Mismatch.Kind.FUNCTIONAL, start, size, ePa,
                        "expected %s " + e.permissions() + ", reaches " + hex(aPa) + " instead");
            } else {
                if ((a.read() && !e.read()) || (a.write() && !e.write())) {
                    add(out, Mismatch.Kind.ISOLATION, start, size, aPa,
                            "-> %s grants " + a.permissions() + ", expected " + e.permissions());
                }
                if ((e.read() && !a.read()) || (e.write() && !a.write())) {
                    add(out, Mismatch.Kind.FUNCTIONAL, start, size, aPa,
                            "-> %s expected " + e.permissions() + ", grants " + a.permissions());
                }
            }
        }
        return out.stream().map(s -> s.toMismatch(unit, requester)).toList();
    }

    private static boolean covers(Mapping m, long address) {
        return Long.compareUnsigned(m.iova(), address) <= 0 && Long.compareUnsigned(address, m.lastIova()) <= 0;
    }

    /** A differing stretch being built; contiguous stretches with the same text merge. */
    private static final class Stretch {
        final Mismatch.Kind kind;
        final String template;
        final long iova;
        final long pa;
        long size;

        Stretch(Mismatch.Kind kind, String template, long iova, long size, long pa) {
            this.kind = kind;
            this.template = template;
            this.iova = iova;
            this.size = size;
            this.pa = pa;
        }

        boolean continuedBy(Mismatch.Kind k, String t, long at, long atPa) {
            return kind == k && template.equals(t) && iova + size == at && pa + size == atPa;
        }

        Mismatch toMismatch(String unit, Requester requester) {
            return new Mismatch(kind, unit, requester, iova, size, String.format(template, hex(pa)));
        }
    }

    private static void add(List<Stretch> out, Mismatch.Kind kind, long iova, long size, long pa, String template) {
        for (int i = out.size() - 1; i >= 0 && i >= out.size() - 2; i--) {
            if (out.get(i).continuedBy(kind, template, iova, pa)) {
                out.get(i).size += size;
                return;
            }
        }
        out.add(new Stretch(kind, template, iova, size, pa));
    }
}
