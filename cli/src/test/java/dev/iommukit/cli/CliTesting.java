package dev.iommukit.cli;

import dev.iommukit.api.BackendRegistry;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.function.Supplier;
import picocli.CommandLine;

/** Runs the iommukit command line in-process with given backends and captures what it prints. */
final class CliTesting {
    record Outcome(int exitCode, String out, String err) {}

    private CliTesting() {}

    static Outcome execute(Supplier<BackendRegistry> backends, String... args) {
        CommandLine cli = IommuKitCli.commandLine(backends);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int code = cli.execute(args);
        return new Outcome(code, out.toString(), err.toString());
    }
}
