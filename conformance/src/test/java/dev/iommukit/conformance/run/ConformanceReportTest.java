package dev.iommukit.conformance.run;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class ConformanceReportTest {
    private static TestOutcome o(String backend, String rule, TestOutcome.Status s) {
        return new TestOutcome(backend, dev.iommukit.conformance.Group.labelOf(rule), rule, "REQUIRED", rule + " in words", s,
                s == TestOutcome.Status.PASSED ? null : "why\n  more");
    }

    @Test
    void countsTotalsCellsAndGroupOrder() {
        ConformanceReport r = new ConformanceReport(List.of(
                o("b", "LIFE-1", TestOutcome.Status.PASSED),
                o("a", "PAGING-1", TestOutcome.Status.FAILED),
                o("a", "DISC-1", TestOutcome.Status.SKIPPED),
                o("a", "PAGING-2", TestOutcome.Status.PASSED),
                o("b", "PAGING-1", TestOutcome.Status.FAILED)));
        assertThat(r.totalsLine()).isEqualTo("2 passed, 2 failed, 1 skipped");
        assertThat(r.backends()).containsExactly("b", "a");
        assertThat(r.groups()).containsExactly("discovery", "paging", "lifetimes");
        assertThat(r.cell("a", "paging")).isEqualTo(new ConformanceReport.Counts(1, 1, 0));
        assertThat(r.cell("b", "discovery")).isEqualTo(ConformanceReport.Counts.ZERO);
        assertThat(r.total("a")).isEqualTo(new ConformanceReport.Counts(1, 1, 1));
        assertThat(r.failedRules("b")).containsExactly("PAGING-1");
        assertThat(r.summary().get("a").keySet()).containsExactly("discovery", "paging", "lifetimes");
        assertThat(r.allPassed()).isFalse();
    }

    @Test
    void oneLineMessages() {
        assertThat(TestOutcome.oneLine("[a]\n expected: 1\n but was: 2", 100)).isEqualTo("[a] expected: 1 but was: 2");
        assertThat(TestOutcome.oneLine("x".repeat(50), 10)).isEqualTo("xxxxxxx...");
        assertThat(TestOutcome.oneLine(null, 10)).isEmpty();
        assertThat(o("a", "PAGING-1", TestOutcome.Status.FAILED).toString()).isEqualTo("FAILED PAGING-1 [a/paging] PAGING-1 in words: why more");
    }
}
