package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.iommukit.api.BackendRegistry;
import dev.iommukit.cli.dump.StateDumpWriter;
import dev.iommukit.cli.fake.FakeBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The scenarios shipped in {@code scenarios/}: each parses, each passes on the fake backend
 * (vendor fault names aside), and each passes on its own backend when that is on the class path.
 */
class ShippedScenariosTest {
    private static final Path DIR = Path.of("..", "scenarios");
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Path> shipped() throws IOException {
        try (Stream<Path> files = Files.list(DIR)) {
            List<Path> list = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
            assertThat(list).extracting(p -> p.getFileName().toString()).contains("smmuv3-paging.json", "vtd-paging.json");
            return list.stream();
        }
    }

    @ParameterizedTest
    @MethodSource("shipped")
    void parses(Path file) throws IOException {
        Scenario s = ScenarioParser.parse(file);
        assertThat(s.name()).isEqualTo(file.getFileName().toString().replace(".json", ""));
        assertThat(s.steps()).isNotEmpty();
    }

    @ParameterizedTest
    @MethodSource("shipped")
    void passesOnTheFakeBackendWithoutVendorNames(Path file) throws IOException {
        runOnFake(JSON.readTree(file.toFile()));
    }

    @Test
    void theFullExampleOfTheDocumentationRunsOnTheFakeBackend() throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "scenarios.md"));
        int start = doc.indexOf("```json\n");
        assertThat(start).isNotNegative();
        String json = doc.substring(start + "```json\n".length(), doc.indexOf("```", start + 7));
        Scenario s = ScenarioParser.parse(json);
        assertThat(s.steps()).extracting(step -> step.operation().op()).containsAll(List.of("pagingDomain", "identityDomain",
                "blockedDomain", "map", "unmap", "attach", "replace", "detach", "attachPasid", "replacePasid", "detachPasid",
                "close", "writeMemory", "checkMemory", "dma"));
        runOnFake(JSON.readTree(json));
    }

    private static void runOnFake(JsonNode root) throws IOException {
        for (JsonNode unit : root.get("machine").get("units")) {
            ((ObjectNode) unit).put("backend", "fake");
        }
        for (JsonNode op : root.get("operations")) {
            if (op.has("expect")) {
                ((ObjectNode) op.get("expect")).remove("vendor");
            }
        }
        StringWriter out = new StringWriter();
        RunResult r = new ScenarioRunner(BackendRegistry.of(new FakeBackend()), new PrintWriter(out))
                .run(ScenarioParser.parse(JSON.writeValueAsBytes(root)), m -> { });
        assertThat(r.failures()).as(out.toString()).isEmpty();
        assertThat(r.passed()).isEqualTo(root.get("operations").size());
    }

    @ParameterizedTest
    @MethodSource("shipped")
    void passesOnItsOwnBackendWhenPresent(Path file) throws IOException {
        Scenario s = ScenarioParser.parse(file);
        BackendRegistry registry = BackendRegistry.discover();
        assumeTrue(s.machine().units().stream().allMatch(u -> registry.find(u.backend()).isPresent()),
                "backends of " + file + " are not on the class path");
        StringWriter out = new StringWriter();
        String[] dump = new String[1];
        RunResult r = new ScenarioRunner(registry, new PrintWriter(out)).run(s, m -> dump[0] = StateDumpWriter.toString(m));
        assertThat(r.failures()).as(out.toString()).isEmpty();
        JsonNode expect = JSON.readTree(dump[0]).get("expect");
        assertThat(expect).extracting(e -> e.get("rid").textValue()).contains("0x18", "0x20");
    }
}
