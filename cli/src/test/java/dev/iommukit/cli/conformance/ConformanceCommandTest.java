package dev.iommukit.cli.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.BackendRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class ConformanceCommandTest {
    private static final PassThroughBackend GOOD = new PassThroughBackend("passthru", 0);
    private static final PassThroughBackend BAD = new PassThroughBackend("passthru-off", 0x1000);

    private record Run(int exit, String out, String err) {
        List<String> lines() {
            return out.lines().toList();
        }
    }

    private static Run execute(BackendRegistry registry, String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new ConformanceCommand(() -> registry));
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int exit = cl.execute(args);
        return new Run(exit, out.toString(), err.toString());
    }

    /** The progress marks of {@code backend}: its line and the indented lines that continue it. */
    private static String progress(Run r, String backend) {
        StringBuilder marks = new StringBuilder();
        boolean in = false;
        for (String l : r.lines()) {
            if (l.startsWith(backend + " ")) {
                in = true;
                marks.append(l.substring(backend.length()).trim());
            } else if (in && l.startsWith(" ".repeat(backend.length() + 1)) && l.trim().matches("[.sF]+")) {
                marks.append(l.trim());
            } else {
                in = false;
            }
        }
        return marks.toString();
    }

    @Test
    void runsEveryBackendPrintsProgressFailuresMatrixAndTotals() {
        Run r = execute(BackendRegistry.of(GOOD, BAD));
        assertThat(r.exit()).as(r.out()).isEqualTo(ConformanceCommand.FAILED);
        assertThat(r.out()).contains("conformance kit: 2 backends: passthru, passthru-off");
        assertThat(r.lines()).anyMatch(l -> l.matches("passthru [.s]+"));
        assertThat(progress(r, "passthru-off")).as("progress of passthru-off, wrapped over lines").contains("F");
        assertThat(r.out()).contains("  FAILED DOMAIN-1 [identity-blocked, REQUIRED]");
        assertThat(r.lines()).contains("matrix (cells: passed/failed/skipped)");
        String header = r.lines().stream().filter(l -> l.startsWith("group ")).findFirst().orElseThrow();
        assertThat(header.split("\\s+")).containsExactly("group", "passthru", "passthru-off");
        String row = r.lines().stream().filter(l -> l.startsWith("identity-blocked ")).findFirst().orElseThrow();
        assertThat(row.split("\\s+")[1]).matches("\\d+/0/\\d+");
        assertThat(row.split("\\s+")[2]).matches("\\d+/[1-9]\\d*/\\d+");
        assertThat(r.lines()).anyMatch(l -> l.startsWith("paging ") && l.split("\\s+")[1].matches("0/0/\\d+"));
        String last = r.lines().get(r.lines().size() - 1);
        Matcher m = Pattern.compile("(\\d+) passed, (\\d+) failed, (\\d+) skipped").matcher(last);
        assertThat(m.matches()).as("last line '%s'", last).isTrue();
        assertThat(Long.parseLong(m.group(2))).isPositive();
        long total = r.lines().stream().filter(l -> l.startsWith("total ")).flatMap(l -> java.util.Arrays.stream(l.split("\\s+")).skip(1))
                .mapToLong(c -> Long.parseLong(c.split("/")[0]) + Long.parseLong(c.split("/")[1]) + Long.parseLong(c.split("/")[2])).sum();
        assertThat(total).isEqualTo(Long.parseLong(m.group(1)) + Long.parseLong(m.group(2)) + Long.parseLong(m.group(3)));
    }

    @Test
    void oneBackendThatPassesExitsZeroAndWritesJUnitXml(@TempDir Path dir) {
        Run r = execute(BackendRegistry.of(GOOD, BAD), "--backend", "passthru", "--report", dir.toString());
        assertThat(r.exit()).as(r.out()).isZero();
        assertThat(r.out()).doesNotContain("passthru-off").doesNotContain("FAILED");
        assertThat(r.lines().get(r.lines().size() - 1)).matches("\\d+ passed, 0 failed, \\d+ skipped");
        assertThat(dir.resolve("passthru").resolve("TEST-junit-jupiter.xml")).exists();
    }

    @Test
    void providersThatFailToLoadAreReported(@TempDir Path dir) throws Exception {
        Path services = dir.resolve("META-INF/services");
        java.nio.file.Files.createDirectories(services);
        java.nio.file.Files.writeString(services.resolve("dev.iommukit.spi.IommuBackend"), "com.example.MissingBackend\n");
        try (java.net.URLClassLoader loader = new java.net.URLClassLoader(new java.net.URL[] {dir.toUri().toURL()}, null)) {
            BackendRegistry registry = BackendRegistry.discover(loader).with(GOOD);
            assertThat(registry.failures()).hasSize(1);
            Run one = execute(registry, "--backend", "passthru");
            assertThat(one.err()).contains("failed to load backend provider").contains("com.example.MissingBackend");
            assertThat(one.exit()).as("a load failure of another backend does not fail a run of one").isZero();
        }
    }

    @Test
    void anUnknownBackendIsRefusedNamingTheKnownOnes() {
        Run r = execute(BackendRegistry.of(GOOD), "--backend", "nope");
        assertThat(r.exit()).isEqualTo(ConformanceCommand.USAGE);
        assertThat(r.err()).contains("unknown backend 'nope'").contains("passthru");
        assertThat(r.out()).doesNotContain("passed,");
    }

    @Test
    void noBackendsIsAnError() {
        Run r = execute(BackendRegistry.of());
        assertThat(r.exit()).isEqualTo(ConformanceCommand.USAGE);
        assertThat(r.err()).contains("no backends found");
    }
}
