package dev.iommukit.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.iommukit.api.BackendRegistry;
import dev.iommukit.cli.fake.FakeBackend;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RunCommandTest {
    private static final Supplier<BackendRegistry> FAKE = () -> BackendRegistry.of(new FakeBackend());
    @TempDir
    Path dir;

    private Path fakePaging() throws IOException {
        Path file = dir.resolve("fake-paging.json");
        try (InputStream in = getClass().getResourceAsStream("/scenarios/fake-paging.json")) {
            Files.copy(in, file);
        }
        return file;
    }

    @Test
    void aPassingScenarioExitsZeroAndWritesTheDump() throws IOException {
        Path dump = dir.resolve("out/state.json");
        CliTesting.Outcome o = CliTesting.execute(FAKE, "run", fakePaging().toString(), "--dump", dump.toString());
        assertThat(o.exitCode()).isZero();
        assertThat(o.out()).startsWith("scenario fake-paging: ").endsWith("23 passed, 0 failed" + System.lineSeparator());
        assertThat(o.err()).isEqualTo("iommukit run: state written to " + dump + System.lineSeparator());
        JsonNode d = new ObjectMapper().readTree(dump.toFile());
        assertThat(d.get("format").textValue()).isEqualTo("iommukit-dump/1");
        assertThat(d.get("units").get(0).get("devices")).hasSize(3);
        assertThat(d.get("expect")).hasSize(5);
    }

    @Test
    void aFailingStepExitsOne() throws IOException {
        Path file = fakePaging();
        Files.writeString(file, Files.readString(file).replace("\"pa\": \"0x8020_1234\"", "\"pa\": \"0x8020_1238\""));
        CliTesting.Outcome o = CliTesting.execute(FAKE, "run", file.toString());
        assertThat(o.exitCode()).isEqualTo(1);
        assertThat(o.out()).contains("[11] FAIL dma 0000:00:03.0 read 0x201234: pa 0x80201234; expected pa 0x80201238")
                .contains("22 passed, 1 failed");
    }

    @Test
    void anInvalidScenarioExitsTwoNamingPathAndRule() throws IOException {
        Path file = fakePaging();
        Files.writeString(file, Files.readString(file).replace("\"size\": \"2M\"", "\"size\": \"two megabytes\""));
        CliTesting.Outcome o = CliTesting.execute(FAKE, "run", file.toString());
        assertThat(o.exitCode()).isEqualTo(2);
        assertThat(o.out()).isEmpty();
        assertThat(o.err()).isEqualTo("iommukit run: " + file + ": invalid scenario: operations[4].size: must be a JSON integer, "
                + "a \"0x...\" hexadecimal string or a size like \"2M\", was \"two megabytes\"" + System.lineSeparator());
    }

    @Test
    void anUnknownBackendIsAnInvalidScenario() throws IOException {
        CliTesting.Outcome o = CliTesting.execute(BackendRegistry::of, "run", fakePaging().toString());
        assertThat(o.exitCode()).isEqualTo(2);
        assertThat(o.err()).contains("invalid scenario: machine.units[0].backend: no backend 'fake' on the class path; known: []");
    }

    @Test
    void aMissingFileExitsTwo() {
        CliTesting.Outcome o = CliTesting.execute(FAKE, "run", dir.resolve("nope.json").toString());
        assertThat(o.exitCode()).isEqualTo(2);
        assertThat(o.err()).contains("nope.json: no such file");
    }

    @Test
    void theScenarioArgumentIsRequired() {
        CliTesting.Outcome o = CliTesting.execute(FAKE, "run");
        assertThat(o.exitCode()).isEqualTo(2);
        assertThat(o.err()).contains("Missing required parameter: 'SCENARIO.json'");
    }
}
