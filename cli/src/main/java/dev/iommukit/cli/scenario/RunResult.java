package dev.iommukit.cli.scenario;

import java.util.List;

/** How a scenario run went: steps that did what the scenario expects, steps that did not, and why. */
public record RunResult(int passed, int failed, List<String> failures) {
    public RunResult {
        failures = List.copyOf(failures);
    }

    public boolean ok() {
        return failed == 0;
    }

    /** {@code N passed, N failed}: the closing line of a run. */
    public String summary() {
        return passed + " passed, " + failed + " failed";
    }
}
