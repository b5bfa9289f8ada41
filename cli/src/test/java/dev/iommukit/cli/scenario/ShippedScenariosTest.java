package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.iommukit.api.BackendRegistry;
import dev.iommukit.cli.dump.StateDumpWriter;
import dev.iommukit.cli.fake.FakeBackend;
import dev.iommukit.cli.inspect.DumpChecker;
import dev.iommukit.cli.inspect.DumpReader;
import dev.iommukit.spi.cap.Capability;
import java.util.Set;
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
 * (vendor fault names aside) unless it needs aux domains or SVA, which the fake backend does not offer,
 * and each passes on its own backend when that is on the class path and advertises what the
 * scenario needs; its dump then passes the independent walker of {@code iommukit inspect --check}.
 */
class ShippedScenariosTest {
    private static final Path DIR = Path.of("..", "scenarios");
    private static final ObjectMapper JSON = new ObjectMapper();

    static Stream<Path> shipped() throws IOException {
        try (Stream<Path> files = Files.list(DIR)) {
            List<Path> list = files.filter(p -> p.toString().endsWith(".json")).sorted().toList();
            assertThat(list).extracting(p -> p.getFileName().toString())
                    .contains("smmuv3-paging.json", "vtd-paging.json", "smmuv3-mdev.json", "vtd-mdev.json", "smmuv3-sva.json",
                            "vtd-sva.json", "vtd-gpasid.json", "smmuv3-pasid-table.json", "smmuv3-iopf.json", "vtd-iopf.json");
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
        Scenario s = ScenarioParser.parse(file);
        assumeTrue(!needsAuxDomains(s), "the fake backend does not advertise AUX_DOMAIN, which " + file + " needs");
        assumeTrue(!needsSva(s), "the fake backend does not advertise SVA, which " + file + " needs");
        runOnFake(JSON.readTree(file.toFile()));
    }

    /** Operations that need {@link Capability#AUX_DOMAIN} on a device. */
    private static final Set<String> AUX_OPERATIONS = Set.of("enableAux", "attachAux", "containerAttach");

    /** Whether a step that must succeed needs {@code op}. */
    private static boolean uses(Scenario s, String op) {
        return s.steps().stream().anyMatch(step -> step.operation().op().equals(op) && step.expectError() == null);
    }

    private static boolean needsSva(Scenario s) {
        return s.steps().stream().anyMatch(step -> step.operation().op().equals("bindSva") && step.expectError() == null);
    }

    private static boolean needsAuxDomains(Scenario s) {
        return s.steps().stream().anyMatch(step -> AUX_OPERATIONS.contains(step.operation().op()) && step.expectError() == null);
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

    @Test
    void theMdevExampleOfTheDocumentationRunsOnTheVtdBackend() throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "scenarios.md"));
        int first = doc.indexOf("```json\n");
        int start = doc.indexOf("```json\n", first + 1);
        assertThat(start).as("a second JSON example").isPositive();
        String json = doc.substring(start + "```json\n".length(), doc.indexOf("```", start + 7));
        Scenario s = ScenarioParser.parse(json);
        assertThat(s.steps()).extracting(step -> step.operation().op()).containsAll(List.of("process", "mmap", "munmap",
                "writeProcessMemory", "checkProcessMemory", "exit", "enableAux", "disableAux", "attachAux", "detachAux",
                "mdevParent", "mdevCreate", "mdevRemove", "container", "containerAttach", "containerDetach", "mapDma", "unmapDma",
                "containerInfo", "containerClose", "check", "dma"));
        StringWriter out = new StringWriter();
        RunResult r = new ScenarioRunner(BackendRegistry.discover(), new PrintWriter(out)).run(s, m -> { });
        assertThat(r.failures()).as(out.toString()).isEmpty();
        assertThat(r.passed()).isEqualTo(s.steps().size());
    }

    @Test
    void theSvaExampleOfTheDocumentationRunsOnTheSmmuv3Backend() throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "scenarios.md"));
        int start = doc.indexOf("```json\n", doc.indexOf("## An SVA example"));
        assertThat(start).as("the SVA example").isPositive();
        String json = doc.substring(start + "```json\n".length(), doc.indexOf("```", start + 7));
        Scenario s = ScenarioParser.parse(json);
        assertThat(s.steps()).extracting(step -> step.operation().op()).contains("bindSva", "unbindSva", "dma", "munmap", "exit");
        StringWriter out = new StringWriter();
        RunResult r = new ScenarioRunner(BackendRegistry.discover(), new PrintWriter(out)).run(s, m -> { });
        assertThat(r.failures()).as(out.toString()).isEmpty();
        assertThat(r.passed()).isEqualTo(s.steps().size());
    }

    /** The JSON fragment (operations only) that follows {@code heading} in the documentation. */
    private static String fragmentAfter(String heading) throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "scenarios.md"));
        int start = doc.indexOf("```json\n", doc.indexOf(heading));
        assertThat(start).as("a JSON fragment after " + heading).isPositive();
        return doc.substring(start + "```json\n".length(), doc.indexOf("```", start + 7));
    }

    private static void runFragment(String backend, String cpu, String prelude, String fragment) {
        String unit = backend.equals("vtd") ? "dmar0" : "smmu0";
        String json = """
                { "machine": { "ram": [ { "base": "0x80000000", "size": "1G" } ], "cpu": "CPU",
                               "units": [ { "name": "UNIT", "backend": "BACKEND" } ],
                               "devices": [ { "name": "gpu", "unit": "UNIT", "rid": "00:03.0", "pasidBits": 20 },
                                            { "name": "nic", "unit": "UNIT", "rid": "00:04.0", "pasidBits": 20 } ] },
                  "operations": [ PRELUDE
                """.replace("UNIT", unit).replace("BACKEND", backend).replace("CPU", cpu).replace("PRELUDE", prelude)
                + fragment + "\n] }";
        Scenario s = ScenarioParser.parse(json);
        BackendRegistry registry = BackendRegistry.discover();
        try (var m = new ScenarioRunner(registry, new PrintWriter(new StringWriter())).build(s.machine())) {
            assumeTrue(!uses(s, "enablePageRequests") || m.units().get(0).capabilities().has(Capability.PAGE_REQUEST),
                    backend + " without PAGE_REQUEST on this class path");
        }
        StringWriter out = new StringWriter();
        RunResult r = new ScenarioRunner(registry, new PrintWriter(out)).run(s, m -> { });
        assertThat(r.failures()).as(out.toString()).isEmpty();
        assertThat(r.passed()).isEqualTo(s.steps().size());
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.CsvSource({"smmuv3, aarch64", "vtd, x86_64"})
    void thePageRequestFragmentOfTheDocumentationRuns(String backend, String cpu) throws IOException {
        runFragment(backend, cpu, "{ \"op\": \"process\", \"name\": \"app\" },", fragmentAfter("### I/O page faults"));
    }

    @Test
    void theGuestFragmentOfTheDocumentationRunsOnTheVtdBackend() throws IOException {
        runFragment("vtd", "x86_64", "", fragmentAfter("### Guests and nested translation"));
    }

    @Test
    void everyOperationOfTheFormatIsInTheDocumentation() throws IOException {
        String doc = Files.readString(Path.of("..", "docs", "scenarios.md"));
        List<String> firstCells = doc.lines().filter(l -> l.startsWith("| `")).map(l -> l.substring(1, l.indexOf('|', 1))).toList();
        assertThat(ScenarioParser.OPERATIONS).allSatisfy(op -> assertThat(firstCells).as("a table row for " + op)
                .anyMatch(cell -> cell.contains("`" + op + "`")));
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
        try (var machine = new ScenarioRunner(registry, new PrintWriter(new StringWriter())).build(s.machine())) {
            for (String op : List.of("enablePageRequests", "bindGuestPasid", "attachPasidTable")) {
                Capability needed = switch (op) {
                    case "enablePageRequests" -> Capability.PAGE_REQUEST;
                    case "bindGuestPasid" -> Capability.GUEST_PASID_BIND;
                    default -> Capability.PASID_TABLE_BIND;
                };
                assumeTrue(!uses(s, op) || machine.units().stream().allMatch(u -> u.capabilities().has(needed)),
                        "the backends of " + file + " on this class path do not advertise " + needed);
            }
        }
        StringWriter out = new StringWriter();
        String[] dump = new String[1];
        RunResult r = new ScenarioRunner(registry, new PrintWriter(out))
                .run(s, (m, guests) -> dump[0] = StateDumpWriter.toString(m, guests));
        assertThat(r.failures()).as(out.toString()).isEmpty();
        assertThat(r.passed()).isEqualTo(s.steps().size());
        JsonNode root = JSON.readTree(dump[0]);
        JsonNode expect = root.get("expect");
        java.util.Set<String> requesters = new java.util.HashSet<>();
        for (JsonNode unit : root.get("units")) {
            for (JsonNode device : unit.get("devices")) {
                requesters.add(unit.get("name").textValue() + "/" + device.get("rid").textValue());
            }
        }
        assertThat(expect).isNotEmpty()
                .allSatisfy(e -> assertThat(requesters).contains(e.get("unit").textValue() + "/" + e.get("rid").textValue()));
        if (needsAuxDomains(s) && file.getFileName().toString().contains("mdev")) {
            assertThat(expect).as("both aux PASIDs of the parent stay reachable in the final state")
                    .extracting(e -> e.get("rid").textValue() + "/" + e.get("pasid")).containsExactlyInAnyOrder("0x18/1", "0x18/2");
        }
        String name = file.getFileName().toString();
        if (name.endsWith("-sva.json")) {
            assertThat(expect).as("the bound, live process's PASID on both devices, and nothing else")
                    .extracting(e -> e.get("rid").textValue() + "/" + e.get("pasid")).containsOnly("0x18/1", "0x20/1");
        }
        if (name.endsWith("-iopf.json")) {
            assertThat(expect).as("the process's PASID on the device still bound, its faulted-in pages from virtual address to physical")
                    .extracting(e -> e.get("rid").textValue() + "/" + e.get("pasid")).containsOnly("0x18/1");
            assertThat(expect).extracting(e -> e.get("iova").textValue()).contains("0x7f0000000000", "0x7f0000003000", "0x7f0000005000");
        }
        if (name.equals("vtd-gpasid.json")) {
            assertThat(expect).as("stage 2 without PASID and at the mdev's aux PASID; guest virtual to host physical at each guest PASID")
                    .extracting(e -> e.get("rid").textValue() + "/" + e.get("pasid")).containsOnly("0x18/null", "0x20/1", "0x18/2", "0x20/3");
            assertThat(expect).filteredOn(e -> e.get("pasid").asInt() == 2)
                    .extracting(e -> e.get("iova").textValue() + " " + e.get("read") + e.get("write"))
                    .containsExactly("0x400000 truetrue", "0x401000 truetrue", "0x402000 truefalse");
        }
        if (name.equals("smmuv3-pasid-table.json")) {
            assertThat(expect).as("CD 0 and substreams 1 and 2 of the nic; stage 2 alone (bypass) and substream 1 of the gpu")
                    .extracting(e -> e.get("rid").textValue() + "/" + e.get("pasid"))
                    .containsOnly("0x18/null", "0x18/1", "0x18/2", "0x20/null", "0x20/1");
        }
        DumpChecker.Report report = new DumpChecker().check(new DumpReader().read(dump[0]));
        assertThat(report.ok()).as("inspect --check of the dump of " + file + ": " + report.mismatches() + " " + report.problems()).isTrue();
        java.util.Map<String, String> walks = new java.util.HashMap<>();
        report.units().forEach(u -> u.requesters().forEach(q -> walks.put(q.requester().rid() + "/" + q.requester().pasid(),
                q.walked().kind() + " " + q.walked().reason())));
        if (name.equals("vtd-gpasid.json")) {
            assertThat(walks).as("the walker went through the guest's first level at each guest PASID (PGTT=011)")
                    .containsEntry("24/2", "TRANSLATED nested: first level then second level, PASID 2")
                    .containsEntry("32/3", "TRANSLATED nested: first level then second level, PASID 3");
        }
        if (name.equals("smmuv3-pasid-table.json")) {
            assertThat(walks).as("the walker fetched the guest's CDs and tables through stage 2 (Config=0b111)")
                    .containsEntry("24/-1", "TRANSLATED nested: stage 1 then stage 2")
                    .containsEntry("24/1", "TRANSLATED nested: stage 1 then stage 2")
                    .containsEntry("24/2", "TRANSLATED nested: stage 1 then stage 2")
                    .containsEntry("32/1", "TRANSLATED nested: stage 1 then stage 2")
                    .containsEntry("32/-1", "TRANSLATED S1DSS=0b01: stage 1 bypassed");
        }
    }
}
