package dev.iommukit.cli;

import dev.iommukit.api.BackendRegistry;
import java.lang.reflect.Constructor;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code iommukit} command: lists backends and their capabilities, runs scenarios and dumps
 * machine state. Subcommands that need backends take them from a {@link BackendRegistry}
 * supplier, discovered on the class path by default and injectable for tests.
 */
@Command(name = "iommukit", mixinStandardHelpOptions = true, version = "iommukit 0.1.0",
        description = "IOMMUs as software: backends, scenarios, state dumps.",
        subcommands = {
            BackendsCommand.class,
            RunCommand.class,
            dev.iommukit.cli.inspect.InspectCommand.class,
        })
public final class IommuKitCli implements Runnable {
    @CommandLine.Spec
    private CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(commandLine(BackendRegistry::discover).execute(args));
    }

    /**
     * The command line with every subcommand; subcommands that have a constructor taking a
     * {@code Supplier<BackendRegistry>} get {@code backends}, the others are made as picocli makes them.
     */
    public static CommandLine commandLine(Supplier<BackendRegistry> backends) {
        return new CommandLine(new IommuKitCli(), new RegistryFactory(backends));
    }

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required");
    }

    /** Makes commands with the registry supplier where they take one. */
    private static final class RegistryFactory implements CommandLine.IFactory {
        private final Supplier<BackendRegistry> backends;
        private final CommandLine.IFactory fallback = CommandLine.defaultFactory();

        RegistryFactory(Supplier<BackendRegistry> backends) {
            this.backends = backends;
        }

        @Override
        public <K> K create(Class<K> cls) throws Exception {
            try {
                Constructor<K> c = cls.getDeclaredConstructor(Supplier.class);
                return c.newInstance(backends);
            } catch (NoSuchMethodException e) {
                return fallback.create(cls);
            }
        }
    }
}
