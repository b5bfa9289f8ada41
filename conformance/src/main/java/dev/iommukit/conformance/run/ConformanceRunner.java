package dev.iommukit.conformance.run;

import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import dev.iommukit.spi.IommuBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.junit.platform.launcher.EngineFilter;
import org.junit.platform.launcher.Launcher;
import org.junit.platform.launcher.LauncherDiscoveryRequest;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.reporting.legacy.xml.LegacyXmlReportGeneratingListener;

/**
 * Runs the conformance kit once per backend on the JUnit Platform Launcher, for the command line
 * and other tools. Outcomes reach the {@link ConformanceListener} as tests finish; JUnit XML is
 * written per backend (to {@code dir/<backend id>/}) when {@link #reportsTo} is set.
 *
 * <pre>{@code
 * ConformanceReport r = ConformanceRunner.forBackends(List.of(new MyBackend())).run();
 * }</pre>
 */
public final class ConformanceRunner {
    /** The JUnit configuration parameter through which a launched kit learns its backend. */
    public static final String BACKEND_PARAMETER = "iommukit.conformance.backend";

    private final List<IommuBackend> backends;
    private Path reportsDir;
    private ConformanceListener listener = outcome -> { };

    private ConformanceRunner(List<IommuBackend> backends) {
        this.backends = List.copyOf(backends);
    }

    public static ConformanceRunner forBackends(List<IommuBackend> backends) {
        return new ConformanceRunner(Objects.requireNonNull(backends, "backends"));
    }

    /** Writes JUnit XML for each backend under {@code dir/<backend id>/}. */
    public ConformanceRunner reportsTo(Path dir) {
        this.reportsDir = Objects.requireNonNull(dir, "dir");
        return this;
    }

    /** Receives each outcome as its test finishes. */
    public ConformanceRunner listener(ConformanceListener listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
        return this;
    }

    /** Runs the whole kit once per backend, in the order given. */
    public ConformanceReport run() {
        List<TestOutcome> outcomes = new ArrayList<>();
        Launcher launcher = LauncherFactory.create();
        for (IommuBackend backend : backends) {
            String id = idOf(backend);
            String token = LaunchedBackends.register(id, backend);
            try {
                LauncherDiscoveryRequest request = LauncherDiscoveryRequestBuilder.request()
                        .selectors(selectClass(LaunchedConformanceTest.class))
                        .filters(EngineFilter.includeEngines("junit-jupiter"))
                        .configurationParameter(BACKEND_PARAMETER, token)
                        .build();
                List<TestExecutionListener> listeners = new ArrayList<>();
                listeners.add(new OutcomeCollector(id, outcome -> {
                    synchronized (outcomes) {
                        outcomes.add(outcome);
                    }
                    listener.testFinished(outcome);
                }));
                if (reportsDir != null) {
                    Path dir = reportsDir.resolve(safeName(id));
                    try {
                        Files.createDirectories(dir);
                    } catch (IOException e) {
                        throw new UncheckedIOException("cannot create the report directory " + dir, e);
                    }
                    listeners.add(new LegacyXmlReportGeneratingListener(dir, new PrintWriter(new StringWriter())));
                }
                launcher.execute(request, listeners.toArray(TestExecutionListener[]::new));
            } finally {
                LaunchedBackends.remove(token);
            }
        }
        return new ConformanceReport(outcomes);
    }

    /** The backend's id, or its class name when {@code id()} itself fails (the kit then reports that failure). */
    private static String idOf(IommuBackend backend) {
        try {
            String id = backend.id();
            return id == null || id.isBlank() ? backend.getClass().getName() : id;
        } catch (RuntimeException e) {
            return backend.getClass().getName();
        }
    }

    private static String safeName(String id) {
        String s = id.replaceAll("[^A-Za-z0-9._-]", "_");
        return s.isEmpty() ? "backend" : s;
    }
}
