package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.iommukit.api.BackendRegistry;
import dev.iommukit.cli.dump.StateDumpWriter;
import dev.iommukit.cli.fake.FakeBackend;
import dev.iommukit.cli.inspect.DumpChecker;
import dev.iommukit.cli.inspect.DumpReader;
import dev.iommukit.spi.cap.Capability;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The guest and page request operations run on the real backends: wrong expectations fail with what was seen, a
 * backend without the capability refuses the step, and a guest range that leaves its stage 2 is cut there in the
 * dump's {@code expect}, which the walker confirms.
 */
class GuestIopfRunnerTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final StringWriter printed = new StringWriter();
    private String dump;

    private RunResult run(String backend, String... operations) {
        String unit = backend.equals("vtd") ? "dmar0" : backend.equals("smmuv3") ? "smmu0" : "iommu0";
        String json = """
                { "machine": { "ram": [ { "base": "0x80000000", "size": "1G" } ],
                               "units": [ { "name": "UNIT", "backend": "BACKEND" } ],
                               "devices": [ { "name": "nic", "unit": "UNIT", "rid": "00:03.0", "pasidBits": 20 } ] },
                  "operations": [
                """.replace("UNIT", unit).replace("BACKEND", backend) + String.join(",\n", operations) + "\n] }";
        BackendRegistry registry = backend.equals("fake") ? BackendRegistry.of(new FakeBackend()) : BackendRegistry.discover();
        return new ScenarioRunner(registry, new PrintWriter(printed)).run(ScenarioParser.parse(json),
                (m, guests) -> dump = StateDumpWriter.toString(m, guests));
    }

    private List<String> lines() {
        return printed.toString().lines().toList();
    }

    /** A VMM, a nesting container with the nic, a 1 MiB guest with one page table mapping VA 0x400000 to GPA 0x10000. */
    private static List<String> guest(String format) {
        return List.of(
                "{ \"op\": \"process\", \"name\": \"vmm\" }",
                "{ \"op\": \"container\", \"name\": \"c\", \"owner\": \"vmm\", \"type\": \"TYPE1_NESTING\" }",
                "{ \"op\": \"containerAttach\", \"container\": \"c\", \"device\": \"nic\" }",
                "{ \"op\": \"guest\", \"name\": \"g\", \"container\": \"c\", \"ramSize\": \"1M\" }",
                "{ \"op\": \"guestPageTable\", \"name\": \"pt\", \"guest\": \"g\", \"format\": \"" + format + "\" }",
                "{ \"op\": \"guestMap\", \"table\": \"pt\", \"va\": \"0x40_0000\", \"gpa\": \"0x1_0000\", \"size\": \"4K\", \"perms\": \"rw\" }");
    }

    private static String[] with(List<String> setup, String... more) {
        List<String> all = new ArrayList<>(setup);
        all.addAll(List.of(more));
        return all.toArray(String[]::new);
    }

    @Test
    void wrongExpectationsOfGuestStepsFailSayingWhatWasSeen() {
        RunResult r = run("vtd", with(guest("x86_64_4level"),
                "{ \"op\": \"allocGuestPasid\", \"container\": \"c\", \"pasidAs\": \"gp\" }",
                "{ \"op\": \"bindGuestPasid\", \"container\": \"c\", \"device\": \"nic\", \"pasid\": \"gp\", \"table\": \"pt\" }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"gp\", \"access\": \"read\", \"address\": \"0x40_1000\","
                        + " \"expect\": { \"fault\": \"NOT_MAPPED\", \"stage\": \"STAGE_2\" } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"gp\", \"access\": \"read\", \"address\": \"0x40_0000\","
                        + " \"expect\": { \"guest\": \"g\", \"gpa\": \"0x2_0000\" } }",
                "{ \"op\": \"guestInvalidate\", \"container\": \"c\", \"device\": \"nic\", \"expectCompleted\": 0,"
                        + " \"batch\": [ { \"caches\": [\"IOTLB\"], \"granularity\": \"PASID\", \"pasid\": \"gp\" } ] }",
                "{ \"op\": \"guestCheckMemory\", \"guest\": \"g\", \"gpa\": \"0x1_0000\", \"text\": \"x\" }",
                "{ \"op\": \"check\", \"container\": \"c\", \"guestPasids\": 2 }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"gp\", \"access\": \"read\", \"address\": \"0x40_0000\","
                        + " \"expect\": { \"guest\": \"g\", \"gpa\": \"0x1_0000\" } }"));
        assertThat(r.failed()).as(printed.toString()).isEqualTo(5);
        assertThat(lines()).anyMatch(l -> l.startsWith("[8] FAIL dma 0000:00:03.0 pasid gp read 0x401000: fault NOT_MAPPED [SFS.2] stage 1;"
                + " expected fault NOT_MAPPED at STAGE_2"));
        assertThat(lines()).anyMatch(l -> l.startsWith("[9] FAIL dma 0000:00:03.0 pasid gp read 0x400000: pa 0x")
                && l.contains("; expected g gpa 0x20000 (pa 0x"));
        assertThat(lines()).contains("[10] FAIL guestInvalidate c 0000:00:03.0 [IOTLB pasid gp]: 1 of 1 completed; expected 0 completed",
                "[11] FAIL guestCheckMemory g gpa 0x10000 (1 bytes): holds 00; expected 78",
                "[12] FAIL check: guestPasids 1; expected guestPasids 2");
        assertThat(lines()).anyMatch(l -> l.startsWith("[13] ok   dma 0000:00:03.0 pasid gp read 0x400000: pa 0x") && l.endsWith(" = g gpa 0x10000"));
    }

    @Test
    void aGuestRangeLeavingItsStage2IsCutThereInTheDump() throws IOException {
        RunResult r = run("vtd", with(guest("x86_64_4level"),
                "{ \"op\": \"guestMap\", \"table\": \"pt\", \"va\": \"0x50_0000\", \"gpa\": \"0xF_F000\", \"size\": \"8K\", \"perms\": \"r\","
                        + " \"comment\": \"the last page of RAM and the page after it\" }",
                "{ \"op\": \"allocGuestPasid\", \"container\": \"c\", \"pasidAs\": \"gp\" }",
                "{ \"op\": \"bindGuestPasid\", \"container\": \"c\", \"device\": \"nic\", \"pasid\": \"gp\", \"table\": \"pt\" }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"gp\", \"access\": \"read\", \"address\": \"0x50_1000\","
                        + " \"expect\": { \"fault\": \"NOT_MAPPED\", \"stage\": \"STAGE_2\" } }"));
        assertThat(r.failures()).as(printed.toString()).isEmpty();
        JsonNode expect = JSON.readTree(dump).get("expect");
        assertThat(expect).filteredOn(e -> !e.get("pasid").isNull())
                .extracting(e -> e.get("iova").textValue() + "+" + e.get("size").textValue() + " " + e.get("read") + e.get("write"))
                .containsExactly("0x400000+0x1000 truetrue", "0x500000+0x1000 truefalse");
        assertThat(new DumpChecker().check(new DumpReader().read(dump)).ok()).isTrue();
    }

    @Test
    void aPageRequestCountThatDiffersFails() {
        BackendRegistry registry = BackendRegistry.discover();
        try (var m = new ScenarioRunner(registry, new PrintWriter(new StringWriter())).build(ScenarioParser.parse("""
                { "machine": { "ram": [ { "base": "0x80000000", "size": "1G" } ], "units": [ { "name": "smmu0", "backend": "smmuv3" } ] },
                  "operations": [] }""").machine())) {
            assumeTrue(m.units().get(0).capabilities().has(Capability.PAGE_REQUEST), "SMMUv3 without PRI on this class path");
        }
        RunResult r = run("smmuv3",
                "{ \"op\": \"process\", \"name\": \"app\" }",
                "{ \"op\": \"mmapLazy\", \"process\": \"app\", \"size\": \"8K\", \"perms\": \"rw\", \"as\": \"lazy\" }",
                "{ \"op\": \"bindSva\", \"device\": \"nic\", \"process\": \"app\", \"pasidAs\": \"p\" }",
                "{ \"op\": \"enablePageRequests\", \"device\": \"nic\" }",
                "{ \"op\": \"pageRequestHandler\", \"device\": \"nic\", \"handler\": \"svaFaultIn\" }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"p\", \"access\": \"write\", \"mmap\": \"lazy\", \"data\": \"01\","
                        + " \"expect\": { \"mmap\": \"lazy\", \"pageRequests\": 2 } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"p\", \"access\": \"read\", \"mmap\": \"lazy\", \"length\": 1,"
                        + " \"expect\": { \"mmap\": \"lazy\", \"pageRequests\": 0 } }",
                "{ \"op\": \"check\", \"device\": \"nic\", \"pendingPageRequests\": 1 }",
                "{ \"op\": \"removePageRequestHandler\", \"device\": \"nic\" }");
        assertThat(r.failed()).as(printed.toString()).isEqualTo(2);
        assertThat(lines()).anyMatch(l -> l.startsWith("[5] FAIL dma 0000:00:03.0 pasid p write lazy (1 bytes): pa 0x")
                && l.endsWith("(1 page request); expected 2 page requests"));
        assertThat(lines()).anyMatch(l -> l.startsWith("[6] ok   dma 0000:00:03.0 pasid p read lazy (1 bytes): pa 0x")
                && l.contains("(0 page requests) = lazy"));
        assertThat(lines()).contains("[7] FAIL check: pendingPageRequests 0; expected pendingPageRequests 1");
    }

    @Test
    void aBackendWithoutPageRequestsOrNestingRefusesTheSteps() {
        RunResult r = run("fake",
                "{ \"op\": \"enablePageRequests\", \"device\": \"nic\", \"expectError\": \"NOT_SUPPORTED\" }",
                "{ \"op\": \"process\", \"name\": \"vmm\" }",
                "{ \"op\": \"container\", \"name\": \"c\", \"owner\": \"vmm\" }",
                "{ \"op\": \"allocGuestPasid\", \"container\": \"c\", \"expectError\": \"NOT_SUPPORTED\", \"comment\": \"a TYPE1 container\" }",
                "{ \"op\": \"guest\", \"name\": \"g\", \"container\": \"c\", \"ramSize\": \"64K\" }",
                "{ \"op\": \"guestContextTable\", \"name\": \"cds\", \"guest\": \"g\", \"cdMaxBits\": 1 }",
                "{ \"op\": \"attachPasidTable\", \"container\": \"c\", \"device\": \"nic\", \"contextTable\": \"cds\", \"expectError\": \"NOT_SUPPORTED\" }");
        assertThat(r.failures()).as(printed.toString()).isEmpty();
    }
}
