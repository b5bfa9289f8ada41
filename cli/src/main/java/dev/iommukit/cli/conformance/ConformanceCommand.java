package dev.iommukit.cli.conformance;

import dev.iommukit.api.BackendLoadFailure;
import dev.iommukit.api.BackendRegistry;
import dev.iommukit.conformance.run.ConformanceReport;
import dev.iommukit.conformance.run.ConformanceRunner;
import dev.iommukit.conformance.run.TestOutcome;
import dev.iommukit.spi.IommuBackend;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code iommukit conformance}: runs the conformance kit against every backend on the class path
 * (or one), shows progress test by test, names each failure with its rule, prints a matrix of
 * backends against rule groups, and ends with {@code N passed, N failed, N skipped}. The exit
 * code is 0 when nothing failed, 1 when a rule failed or a backend could not load, 2 when the
 * backend asked for is unknown or there is nothing to test.
 */
@Command(name = "conformance", mixinStandardHelpOptions = true,
        description = "Run the conformance kit against the backends on the class path and print a matrix of backends against rule groups.")
public final class ConformanceCommand implements Callable<Integer> {
    /** Exit codes. */
    public static final int OK = 0;
    public static final int FAILED = 1;
    public static final int USAGE = 2;

    @Option(names = "--backend", paramLabel = "ID", description = "Run only the backend with this id.")
    String backendId;

    @Option(names = "--report", paramLabel = "DIR", description = "Write JUnit XML for each backend under DIR/<backend id>/.")
    Path reportDir;

    @Spec
    CommandSpec spec;

    private final Supplier<BackendRegistry> registry;

    /** Discovers backends with {@link BackendRegistry#discover()}. */
    public ConformanceCommand() {
        this(BackendRegistry::discover);
    }

    /** Tests the backends {@code registry} supplies (for tools and tests). */
    public ConformanceCommand(Supplier<BackendRegistry> registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    @Override
    public Integer call() {
        return run(registry.get(), backendId, reportDir, spec.commandLine().getOut(), spec.commandLine().getErr());
    }

    /**
     * The command's work: picks the backends, runs the kit with progress on {@code out}, prints the
     * matrix and the totals line, and returns the exit code.
     */
    public static int run(BackendRegistry registry, String backendId, Path reportDir, PrintWriter out, PrintWriter err) {
        for (BackendLoadFailure f : registry.failures()) {
            err.println("failed to load backend provider " + f.provider() + ": " + f.cause());
        }
        List<IommuBackend> chosen;
        if (backendId != null) {
            Optional<IommuBackend> b = registry.find(backendId);
            if (b.isEmpty()) {
                err.println("unknown backend '" + backendId + "'; known: " + (registry.ids().isEmpty() ? "none" : String.join(", ", registry.ids())));
                err.flush();
                return USAGE;
            }
            chosen = List.of(b.get());
        } else {
            chosen = registry.backends();
        }
        if (chosen.isEmpty()) {
            err.println("no backends found on the class path");
            err.flush();
            return USAGE;
        }
        out.println("conformance kit: " + chosen.size() + " backend" + (chosen.size() == 1 ? "" : "s") + ": "
                + String.join(", ", chosen.stream().map(IommuBackend::id).toList()));
        out.flush();
        Progress progress = new Progress(out);
        ConformanceRunner runner = ConformanceRunner.forBackends(chosen).listener(progress::testFinished);
        if (reportDir != null) {
            runner.reportsTo(reportDir);
        }
        ConformanceReport report = runner.run();
        progress.finish();
        out.println();
        printMatrix(report, out);
        out.println();
        out.println(report.totalsLine());
        out.flush();
        err.flush();
        boolean loadFailed = backendId == null && !registry.failures().isEmpty();
        return report.failed() > 0 || loadFailed ? FAILED : OK;
    }

    /** Backends as columns, groups as rows, each cell {@code passed/failed/skipped}. */
    static void printMatrix(ConformanceReport report, PrintWriter out) {
        List<String> backends = report.backends();
        List<String> groups = new ArrayList<>(report.groups());
        int first = "group".length();
        for (String g : groups) {
            first = Math.max(first, g.length());
        }
        first = Math.max(first, "total".length());
        List<Integer> widths = new ArrayList<>();
        for (String b : backends) {
            int w = b.length();
            for (String g : groups) {
                w = Math.max(w, cell(report.cell(b, g)).length());
            }
            widths.add(Math.max(w, cell(report.total(b)).length()));
        }
        out.println("matrix (cells: passed/failed/skipped)");
        StringBuilder header = new StringBuilder(pad("group", first));
        for (int i = 0; i < backends.size(); i++) {
            header.append("  ").append(pad(backends.get(i), widths.get(i)));
        }
        out.println(header.toString().stripTrailing());
        for (String g : groups) {
            StringBuilder row = new StringBuilder(pad(g, first));
            for (int i = 0; i < backends.size(); i++) {
                row.append("  ").append(pad(cell(report.cell(backends.get(i), g)), widths.get(i)));
            }
            out.println(row.toString().stripTrailing());
        }
        StringBuilder total = new StringBuilder(pad("total", first));
        for (int i = 0; i < backends.size(); i++) {
            total.append("  ").append(pad(cell(report.total(backends.get(i))), widths.get(i)));
        }
        out.println(total.toString().stripTrailing());
    }

    private static String cell(ConformanceReport.Counts c) {
        return c.total() == 0 ? "-" : c.passed() + "/" + c.failed() + "/" + c.skipped();
    }

    private static String pad(String s, int width) {
        return s.length() >= width ? s : s + " ".repeat(width - s.length());
    }

    /**
     * Progress: one line per backend filled with a character per test ({@code .} passed,
     * {@code F} failed, {@code s} skipped); the failures of a backend follow its line, each named
     * with its rule id, group and message.
     */
    private static final class Progress {
        private static final int DOTS_PER_LINE = 60;
        private static final int MESSAGE_WIDTH = 400;
        private final PrintWriter out;
        private String backend;
        private int column;
        private final List<TestOutcome> failures = new ArrayList<>();

        Progress(PrintWriter out) {
            this.out = out;
        }

        synchronized void testFinished(TestOutcome o) {
            if (!o.backendId().equals(backend)) {
                finish();
                backend = o.backendId();
                out.print(backend + " ");
                column = 0;
            }
            if (column == DOTS_PER_LINE) {
                out.println();
                out.print(" ".repeat(backend.length() + 1));
                column = 0;
            }
            out.print(switch (o.status()) {
                case PASSED -> '.';
                case FAILED -> 'F';
                case SKIPPED -> 's';
            });
            column++;
            out.flush();
            if (o.status() == TestOutcome.Status.FAILED) {
                failures.add(o);
            }
        }

        synchronized void finish() {
            if (backend == null) {
                return;
            }
            out.println();
            for (TestOutcome f : failures) {
                out.println("  FAILED " + f.ruleId() + " [" + f.group() + ", " + f.level() + "] " + f.displayName());
                out.println("         " + TestOutcome.oneLine(f.message(), MESSAGE_WIDTH));
            }
            failures.clear();
            backend = null;
            out.flush();
        }
    }
}
