package dev.iommukit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.BackendRegistry;
import dev.iommukit.cli.fake.FakeBackend;
import dev.iommukit.spi.IommuBackend;
import java.io.IOException;
import java.net.URLClassLoader;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackendsCommandTest {
    @Test
    void listsBackendsAndOneRowPerCapabilityWithParameters() {
        CliTesting.Outcome o = CliTesting.execute(() -> BackendRegistry.of(new FakeBackend(), new FakeBackend("other")), "backends");
        assertThat(o.exitCode()).isZero();
        assertThat(o.err()).isEmpty();
        assertThat(o.out().lines().toList()).containsExactly(
                "BACKEND  DESCRIPTION",
                "fake     Fake IOMMU for cli tests",
                "other    Fake IOMMU for cli tests",
                "",
                "BACKEND  CAPABILITY       PARAMETERS",
                "fake     BLOCKED_DOMAIN",
                "fake     IDENTITY_DOMAIN  mechanism=context atPasid=true",
                "fake     PAGING_DOMAIN    pageSizes=4K,2M,1G inputBits=39 outputBits=48 level=single",
                "fake     PASID_ATTACH     pasidBits=8",
                "other    BLOCKED_DOMAIN",
                "other    IDENTITY_DOMAIN  mechanism=context atPasid=true",
                "other    PAGING_DOMAIN    pageSizes=4K,2M,1G inputBits=39 outputBits=48 level=single",
                "other    PASID_ATTACH     pasidBits=8");
    }

    @Test
    void listsLoadFailuresByProviderAndCauseAndExitsNonZero(@TempDir Path dir) throws IOException {
        Path services = dir.resolve("META-INF/services/" + IommuBackend.class.getName());
        Files.createDirectories(services.getParent());
        Files.write(services, List.of("dev.iommukit.cli.fake.FakeBackend", "dev.iommukit.cli.fake.BrokenBackend",
                "com.example.MissingBackend"));
        try (URLClassLoader loader = new URLClassLoader(new URL[] {dir.toUri().toURL()}, getClass().getClassLoader())) {
            CliTesting.Outcome o = CliTesting.execute(() -> BackendRegistry.discover(loader), "backends");
            assertThat(o.exitCode()).isEqualTo(1);
            List<String> lines = o.out().lines().toList();
            assertThat(lines).contains("fake     Fake IOMMU for cli tests");
            assertThat(lines).anyMatch(l -> l.startsWith("FAILED PROVIDER"));
            assertThat(lines).anyMatch(l -> l.startsWith("dev.iommukit.cli.fake.BrokenBackend")
                    && l.contains("java.lang.IllegalStateException: broken on purpose"));
            assertThat(lines).anyMatch(l -> l.startsWith("com.example.MissingBackend") && l.contains("not found"));
            assertThat(o.err()).contains("2 backend provider(s) failed to load");
        }
    }

    @Test
    void saysSoWhenThereIsNoBackend() {
        CliTesting.Outcome o = CliTesting.execute(BackendRegistry::of, "backends");
        assertThat(o.exitCode()).isZero();
        assertThat(o.out()).isEqualTo("no backends found on the class path" + System.lineSeparator());
    }

    @Test
    void theRootCommandListsItsSubcommandsAndNeedsOne() {
        CliTesting.Outcome help = CliTesting.execute(BackendRegistry::of, "--help");
        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("Usage: iommukit", "backends", "run");
        CliTesting.Outcome none = CliTesting.execute(BackendRegistry::of);
        assertThat(none.exitCode()).isEqualTo(2);
        assertThat(none.err()).contains("a subcommand is required");
    }
}
