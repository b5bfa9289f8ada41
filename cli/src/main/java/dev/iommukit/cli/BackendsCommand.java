package dev.iommukit.cli;

import dev.iommukit.api.BackendLoadFailure;
import dev.iommukit.api.BackendRegistry;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.cap.Capability;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code iommukit backends}: the backends on the class path with their capabilities and
 * parameters, and the providers that failed to load (then the exit code is 1).
 */
@Command(name = "backends", mixinStandardHelpOptions = true,
        description = {"Lists the backends on the class path and their capabilities.",
            "One row per capability with its parameters as key=value; providers that failed to load are listed"
                + " by name and cause, and then the exit code is 1."})
public final class BackendsCommand implements Callable<Integer> {
    private final Supplier<BackendRegistry> backends;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public BackendsCommand() {
        this(BackendRegistry::discover);
    }

    public BackendsCommand(Supplier<BackendRegistry> backends) {
        this.backends = backends;
    }

    @Override
    public Integer call() {
        BackendRegistry registry = backends.get();
        PrintWriter out = spec.commandLine().getOut();
        if (registry.backends().isEmpty()) {
            out.println("no backends found on the class path");
        } else {
            List<String[]> rows = new ArrayList<>();
            rows.add(new String[] {"BACKEND", "DESCRIPTION"});
            for (IommuBackend b : registry.backends()) {
                rows.add(new String[] {b.id(), b.description()});
            }
            printTable(out, rows);
            out.println();
            rows.clear();
            rows.add(new String[] {"BACKEND", "CAPABILITY", "PARAMETERS"});
            for (IommuBackend b : registry.backends()) {
                Map<Capability, Map<String, String>> caps = b.capabilities().asMap();
                if (caps.isEmpty()) {
                    rows.add(new String[] {b.id(), "(none)", ""});
                }
                for (Map.Entry<Capability, Map<String, String>> c : caps.entrySet()) {
                    rows.add(new String[] {b.id(), c.getKey().name(), c.getValue().entrySet().stream()
                            .map(p -> p.getKey() + "=" + p.getValue()).collect(Collectors.joining(" "))});
                }
            }
            printTable(out, rows);
        }
        List<BackendLoadFailure> failures = registry.failures();
        if (failures.isEmpty()) {
            out.flush();
            return 0;
        }
        out.println();
        List<String[]> rows = new ArrayList<>();
        rows.add(new String[] {"FAILED PROVIDER", "CAUSE"});
        for (BackendLoadFailure f : failures) {
            rows.add(new String[] {f.provider(), describe(f.cause())});
        }
        printTable(out, rows);
        out.flush();
        spec.commandLine().getErr().println("iommukit: " + failures.size() + " backend provider(s) failed to load");
        return 1;
    }

    /** The cause and its own causes, one after the other. */
    private static String describe(Throwable cause) {
        StringBuilder sb = new StringBuilder(String.valueOf(cause));
        for (Throwable c = cause.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            sb.append("; caused by ").append(c);
            if (c.getCause() == c) {
                break;
            }
        }
        return sb.toString().replace('\n', ' ');
    }

    /** Left-aligned columns, two spaces apart; the last column is not padded. */
    static void printTable(PrintWriter out, List<String[]> rows) {
        int columns = rows.get(0).length;
        int[] width = new int[columns];
        for (String[] row : rows) {
            for (int i = 0; i < columns; i++) {
                width[i] = Math.max(width[i], row[i].length());
            }
        }
        for (String[] row : rows) {
            StringBuilder sb = new StringBuilder();
            for (int i = 0; i < columns; i++) {
                sb.append(i == columns - 1 ? row[i] : String.format("%-" + width[i] + "s  ", row[i]));
            }
            out.println(sb.toString().stripTrailing());
        }
    }
}
