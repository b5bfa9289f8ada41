package dev.iommukit.conformance.run;

import dev.iommukit.conformance.Group;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every outcome of a conformance run, with totals and a summary per backend and group (the
 * matrix the command line prints).
 */
public record ConformanceReport(List<TestOutcome> outcomes) {
    public ConformanceReport {
        outcomes = List.copyOf(outcomes);
    }

    /** Pass, fail and skip counts of one cell of the matrix. */
    public record Counts(long passed, long failed, long skipped) {
        public static final Counts ZERO = new Counts(0, 0, 0);

        public long total() {
            return passed + failed + skipped;
        }

        Counts plus(TestOutcome.Status status) {
            return switch (status) {
                case PASSED -> new Counts(passed + 1, failed, skipped);
                case FAILED -> new Counts(passed, failed + 1, skipped);
                case SKIPPED -> new Counts(passed, failed, skipped + 1);
            };
        }
    }

    public long passed() {
        return count(TestOutcome.Status.PASSED);
    }

    public long failed() {
        return count(TestOutcome.Status.FAILED);
    }

    public long skipped() {
        return count(TestOutcome.Status.SKIPPED);
    }

    private long count(TestOutcome.Status s) {
        return outcomes.stream().filter(o -> o.status() == s).count();
    }

    /** Whether nothing failed. */
    public boolean allPassed() {
        return failed() == 0;
    }

    /** The backends in the order they ran. */
    public List<String> backends() {
        Set<String> ids = new LinkedHashSet<>();
        outcomes.forEach(o -> ids.add(o.backendId()));
        return List.copyOf(ids);
    }

    /** The groups present, in the kit's order ({@link Group}), then any other (such as set-up failures). */
    public List<String> groups() {
        List<String> ordered = new ArrayList<>();
        for (Group g : Group.values()) {
            if (outcomes.stream().anyMatch(o -> o.group().equals(g.label()))) {
                ordered.add(g.label());
            }
        }
        outcomes.stream().map(TestOutcome::group).distinct().filter(g -> !ordered.contains(g)).forEach(ordered::add);
        return ordered;
    }

    /** The counts of {@code backendId} in {@code group}. */
    public Counts cell(String backendId, String group) {
        Counts c = Counts.ZERO;
        for (TestOutcome o : outcomes) {
            if (o.backendId().equals(backendId) && o.group().equals(group)) {
                c = c.plus(o.status());
            }
        }
        return c;
    }

    /** The counts of {@code backendId} over every group. */
    public Counts total(String backendId) {
        Counts c = Counts.ZERO;
        for (TestOutcome o : outcomes) {
            if (o.backendId().equals(backendId)) {
                c = c.plus(o.status());
            }
        }
        return c;
    }

    /** Backend by group by counts, in report order. */
    public Map<String, Map<String, Counts>> summary() {
        Map<String, Map<String, Counts>> out = new LinkedHashMap<>();
        for (String b : backends()) {
            Map<String, Counts> row = new LinkedHashMap<>();
            for (String g : groups()) {
                row.put(g, cell(b, g));
            }
            out.put(b, Collections.unmodifiableMap(row));
        }
        return Collections.unmodifiableMap(out);
    }

    /** The outcomes of {@code backendId}. */
    public List<TestOutcome> outcomes(String backendId) {
        return outcomes.stream().filter(o -> o.backendId().equals(backendId)).toList();
    }

    /** Every failed outcome. */
    public List<TestOutcome> failures() {
        return outcomes.stream().filter(o -> o.status() == TestOutcome.Status.FAILED).toList();
    }

    /** The rule ids that failed for {@code backendId}, in run order, without repeats. */
    public Set<String> failedRules(String backendId) {
        Set<String> ids = new LinkedHashSet<>();
        outcomes(backendId).stream().filter(o -> o.status() == TestOutcome.Status.FAILED).forEach(o -> ids.add(o.ruleId()));
        return Collections.unmodifiableSet(ids);
    }

    /** {@code N passed, N failed, N skipped}. */
    public String totalsLine() {
        return passed() + " passed, " + failed() + " failed, " + skipped() + " skipped";
    }
}
