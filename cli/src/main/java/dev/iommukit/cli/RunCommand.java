package dev.iommukit.cli;

import dev.iommukit.api.BackendRegistry;
import dev.iommukit.api.Machine;
import dev.iommukit.cli.dump.GuestStage1;
import dev.iommukit.cli.dump.StateDumpWriter;
import dev.iommukit.cli.scenario.InvalidScenarioException;
import dev.iommukit.cli.scenario.RunResult;
import dev.iommukit.cli.scenario.Scenario;
import dev.iommukit.cli.scenario.ScenarioParser;
import dev.iommukit.cli.scenario.ScenarioRunner;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code iommukit run SCENARIO.json [--dump FILE]}: runs a scenario step by step and, with
 * {@code --dump}, writes the machine's final state as an {@code iommukit-dump/1} document.
 * Exit codes: 0 every step passed, 1 a step failed, 2 the scenario is invalid.
 */
@Command(name = "run", mixinStandardHelpOptions = true,
        description = {"Runs a scenario and checks its expectations.",
            "Builds the scenario's machine (format: docs/scenarios.md), runs its operations in order, prints one line"
                + " per step and 'N passed, N failed' at the end.",
            "Exit code 0: every step passed; 1: a step failed; 2: the scenario is invalid."})
public final class RunCommand implements Callable<Integer> {
    /** Exit code of a run whose scenario broke a rule of the format. */
    public static final int INVALID = 2;
    private final Supplier<BackendRegistry> backends;

    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SCENARIO.json", description = "The scenario to run.")
    private Path scenarioFile;

    @Option(names = "--dump", paramLabel = "FILE", description = "Write the final state as an iommukit-dump/1 JSON document.")
    private Path dumpFile;

    public RunCommand() {
        this(BackendRegistry::discover);
    }

    public RunCommand(Supplier<BackendRegistry> backends) {
        this.backends = backends;
    }

    @Override
    public Integer call() {
        var err = spec.commandLine().getErr();
        Scenario scenario;
        try {
            scenario = ScenarioParser.parse(scenarioFile);
        } catch (NoSuchFileException e) {
            err.println("iommukit run: " + scenarioFile + ": no such file");
            return INVALID;
        } catch (IOException e) {
            err.println("iommukit run: " + scenarioFile + ": cannot be read: " + e.getMessage());
            return INVALID;
        } catch (InvalidScenarioException e) {
            err.println("iommukit run: " + scenarioFile + ": invalid scenario: " + e.getMessage());
            return INVALID;
        }
        PrintWriter out = spec.commandLine().getOut();
        RunResult result;
        try {
            result = new ScenarioRunner(backends.get(), out).run(scenario, this::dump);
        } catch (InvalidScenarioException e) {
            out.flush();
            err.println("iommukit run: " + scenarioFile + ": invalid scenario: " + e.getMessage());
            return INVALID;
        } catch (UncheckedIOException e) {
            out.flush();
            err.println("iommukit run: cannot write the dump to " + dumpFile + ": " + e.getCause().getMessage());
            return 1;
        }
        out.flush();
        if (dumpFile != null) {
            err.println("iommukit run: state written to " + dumpFile);
        }
        return result.ok() ? 0 : 1;
    }

    private void dump(Machine machine, GuestStage1 guests) {
        if (dumpFile == null) {
            return;
        }
        try {
            Path parent = dumpFile.toAbsolutePath().getParent();
            if (parent != null) {
                Files.createDirectories(parent);
            }
            StateDumpWriter.write(machine, guests, dumpFile);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
