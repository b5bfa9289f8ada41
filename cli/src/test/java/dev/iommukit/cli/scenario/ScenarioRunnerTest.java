package dev.iommukit.cli.scenario;

import static dev.iommukit.cli.scenario.ScenarioParserTest.scenario;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.BackendRegistry;
import dev.iommukit.api.ReachableRange;
import dev.iommukit.cli.fake.FakeBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class ScenarioRunnerTest {
    private final StringWriter printed = new StringWriter();
    private final ScenarioRunner runner = new ScenarioRunner(BackendRegistry.of(new FakeBackend()), new PrintWriter(printed));

    private RunResult run(String json) {
        return runner.run(ScenarioParser.parse(json), m -> { });
    }

    private List<String> lines() {
        return printed.toString().lines().toList();
    }

    @Test
    void aScenarioWhoseStepsAllDoWhatTheySayPasses() throws IOException {
        List<ReachableRange> seen = new ArrayList<>();
        RunResult r = runner.run(ScenarioParserTest.fakePaging(), m -> seen.addAll(m.reachableRanges()));
        assertThat(r.failures()).isEmpty();
        assertThat(r).isEqualTo(new RunResult(23, 0, List.of()));
        assertThat(r.ok()).isTrue();
        assertThat(seen).as("atEnd sees the machine before it is closed").extracting(ReachableRange::rid)
                .containsExactlyInAnyOrder(0x18, 0x18, 0x18, 0x20, 0x20);
        List<String> lines = lines();
        assertThat(lines.get(0)).isEqualTo("scenario fake-paging: two devices in separate paging domains of the fake backend");
        assertThat(lines.get(1)).isEqualTo("machine: unit iommu0 (fake), devices 0000:00:03.0 0000:00:04.0 0000:00:05.0");
        assertThat(lines).hasSize(2 + 23 + 1);
        assertThat(lines.get(2)).isEqualTo("[0] ok   pagingDomain a on iommu0: fake 3-level, 39-bit, pages 4K,2M,1G, iova 0x0..0x7fffffffff");
        assertThat(lines.get(2 + 3)).isEqualTo("[3] ok   map a 0x100000+4K -> 0x80000000 rw-");
        assertThat(lines.get(2 + 6)).isEqualTo("[6] ok   attach 0000:00:03.0 -> a");
        assertThat(lines.get(2 + 10)).isEqualTo("[10] ok   dma 0000:00:03.0 read 0x100010 (5 bytes): pa 0x80000010, data matches");
        assertThat(lines.get(2 + 12)).isEqualTo("[12] ok   dma 0000:00:03.0 write 0x201000: fault PERMISSION [FAKE_PERMISSION]");
        assertThat(lines.get(2 + 16)).isEqualTo("[16] ok   dma 0000:00:04.0 pasid 5 read 0x80001000 (4 bytes): pa 0x80001000");
        assertThat(lines.get(2 + 18)).startsWith("[18] ok   map a 0x100000+4K -> 0x80000000 rw-: CONFLICT as expected: ")
                .endsWith("  # overlap");
        assertThat(lines.get(2 + 19)).isEqualTo("[19] ok   unmap a 0x201000+4K: unmapped 0x1000 bytes");
        assertThat(lines.get(lines.size() - 1)).isEqualTo("23 passed, 0 failed");
    }

    @Test
    void wrongExpectationsFailAndTheRunGoesOn() {
        RunResult r = run(scenario(
                "{ \"op\": \"pagingDomain\", \"name\": \"a\" }",
                "{ \"op\": \"map\", \"domain\": \"a\", \"iova\": \"0x1000\", \"pa\": \"0x80000000\", \"size\": \"4K\", \"perms\": \"r\" }",
                "{ \"op\": \"attach\", \"device\": \"nic\", \"domain\": \"a\" }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"access\": \"read\", \"address\": \"0x1000\", \"expect\": { \"pa\": \"0x80001000\" } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"access\": \"write\", \"address\": \"0x1000\", \"expect\": { \"fault\": \"NOT_MAPPED\" } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"access\": \"write\", \"address\": \"0x1000\", \"expect\": { \"fault\": \"PERMISSION\", \"vendor\": \"F_PERMISSION\" } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"access\": \"read\", \"address\": \"0x2000\", \"expect\": { \"pa\": \"0x80002000\" } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"access\": \"read\", \"address\": \"0x1000\", \"expect\": { \"pa\": \"0x80000000\", \"data\": \"01\" } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"access\": \"read\", \"address\": \"0x1000\", \"expect\": { \"pa\": \"0x80000000\" } }"));
        assertThat(r.passed()).isEqualTo(4);
        assertThat(r.failed()).isEqualTo(5);
        assertThat(r.ok()).isFalse();
        assertThat(lines()).contains(
                "[3] FAIL dma 0000:00:03.0 read 0x1000: pa 0x80000000; expected pa 0x80001000",
                "[4] FAIL dma 0000:00:03.0 write 0x1000: fault PERMISSION [FAKE_PERMISSION]; expected fault NOT_MAPPED",
                "[5] FAIL dma 0000:00:03.0 write 0x1000: fault PERMISSION [FAKE_PERMISSION]; expected fault PERMISSION [F_PERMISSION]",
                "[6] FAIL dma 0000:00:03.0 read 0x2000: fault NOT_MAPPED [FAKE_NOT_MAPPED]; expected pa 0x80002000",
                "[7] FAIL dma 0000:00:03.0 read 0x1000 (1 bytes): pa 0x80000000, read [00]; expected [01]",
                "4 passed, 5 failed");
        assertThat(r.failures()).first().asString()
                .isEqualTo("operations[3] (dma): pa 0x80000000; expected pa 0x80001000");
    }

    @Test
    void expectedErrorsPassOnlyWithTheirCode() {
        RunResult r = run(scenario(
                "{ \"op\": \"pagingDomain\", \"name\": \"a\" }",
                "{ \"op\": \"map\", \"domain\": \"a\", \"iova\": \"0x1001\", \"pa\": \"0x80000000\", \"size\": \"4K\", \"perms\": \"rw\", \"expectError\": \"INVALID_ARGUMENT\" }",
                "{ \"op\": \"map\", \"domain\": \"a\", \"iova\": \"0x1001\", \"pa\": \"0x80000000\", \"size\": \"4K\", \"perms\": \"rw\", \"expectError\": \"CONFLICT\" }",
                "{ \"op\": \"map\", \"domain\": \"a\", \"iova\": \"0x1001\", \"pa\": \"0x80000000\", \"size\": \"4K\", \"perms\": \"rw\" }",
                "{ \"op\": \"map\", \"domain\": \"a\", \"iova\": \"0x1000\", \"pa\": \"0x80000000\", \"size\": \"4K\", \"perms\": \"rw\", \"expectError\": \"CONFLICT\" }",
                "{ \"op\": \"attach\", \"device\": \"nic\", \"domain\": \"a\" }",
                "{ \"op\": \"close\", \"domain\": \"a\", \"expectError\": \"BUSY\" }",
                "{ \"op\": \"detach\", \"device\": \"nic\" }",
                "{ \"op\": \"close\", \"domain\": \"a\" }",
                "{ \"op\": \"map\", \"domain\": \"a\", \"iova\": \"0x2000\", \"pa\": \"0x80000000\", \"size\": \"4K\", \"perms\": \"rw\", \"expectError\": \"CLOSED\" }"));
        assertThat(lines()).contains(
                "[2] FAIL map a 0x1001+4K -> 0x80000000 rw-: error INVALID_ARGUMENT: iova: must be aligned to the smallest page size 4K, was 0x1001; expected error CONFLICT",
                "[3] FAIL map a 0x1001+4K -> 0x80000000 rw-: error INVALID_ARGUMENT: iova: must be aligned to the smallest page size 4K, was 0x1001",
                "[4] FAIL map a 0x1000+4K -> 0x80000000 rw-: expected error CONFLICT, but it succeeded");
        assertThat(r.passed()).isEqualTo(7);
        assertThat(r.failed()).isEqualTo(3);
    }

    @Test
    void pasidAttachmentsAndBlockedDomains() {
        RunResult r = run(scenario(
                "{ \"op\": \"pagingDomain\", \"name\": \"a\" }",
                "{ \"op\": \"blockedDomain\", \"name\": \"blk\" }",
                "{ \"op\": \"map\", \"domain\": \"a\", \"iova\": 0, \"pa\": \"0x80000000\", \"size\": \"2M\", \"perms\": \"rw\" }",
                "{ \"op\": \"attachPasid\", \"device\": \"nic\", \"pasid\": 7, \"domain\": \"a\" }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": 7, \"access\": \"write\", \"address\": \"0x1234\", \"expect\": { \"pa\": \"0x80001234\" } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"access\": \"write\", \"address\": \"0x1234\", \"expect\": { \"fault\": \"BLOCKED\" } }",
                "{ \"op\": \"attachPasid\", \"device\": \"nic\", \"pasid\": 0, \"domain\": \"a\", \"expectError\": \"INVALID_ARGUMENT\" }",
                "{ \"op\": \"attachPasid\", \"device\": \"00:04.0\", \"pasid\": 1, \"domain\": \"a\", \"expectError\": \"NOT_SUPPORTED\" }",
                "{ \"op\": \"replace\", \"device\": \"nic\", \"domain\": \"blk\" }",
                "{ \"op\": \"detachPasid\", \"device\": \"nic\", \"pasid\": 7 }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": 7, \"access\": \"read\", \"address\": \"0x1234\", \"expect\": { \"fault\": \"BLOCKED\", \"vendor\": \"FAKE_BLOCKED\" } }",
                "{ \"op\": \"detachPasid\", \"device\": \"nic\", \"pasid\": 7, \"expectError\": \"NOT_FOUND\" }"));
        assertThat(r.failures()).isEmpty();
        assertThat(r.passed()).isEqualTo(12);
    }

    @Test
    void memoryOperationsOutsideRamFailWithoutStoppingTheRun() {
        RunResult r = run(scenario(
                "{ \"op\": \"writeMemory\", \"pa\": \"0x1000\", \"data\": \"01\" }",
                "{ \"op\": \"writeMemory\", \"pa\": \"0x80000000\", \"data\": \"01 02\" }",
                "{ \"op\": \"checkMemory\", \"pa\": \"0x80000000\", \"data\": \"01 03\" }",
                "{ \"op\": \"checkMemory\", \"pa\": \"0x80000000\", \"data\": \"01 02\" }"));
        assertThat(lines()).contains(
                "[0] FAIL writeMemory 0x1000 [01]: external abort: no RAM at 0x1000",
                "[2] FAIL checkMemory 0x80000000 (2 bytes): holds [01 02]; expected [01 03]",
                "[3] ok   checkMemory 0x80000000 (2 bytes): matches");
        assertThat(r.passed()).isEqualTo(2);
    }

    @Test
    void stepsUsingADomainWhoseCreationFailedFail() {
        String json = """
                { "machine": { "ram": [ { "base": "0x80000000", "size": "16M" } ],
                               "units": [ { "name": "u0", "backend": "fake" } ],
                               "devices": [ { "unit": "u0", "rid": "00:03.0" } ] },
                  "operations": [
                    { "op": "pagingDomain", "name": "a", "nestingParent": true },
                    { "op": "map", "domain": "a", "iova": 0, "pa": "0x80000000", "size": "4K", "perms": "rw" }
                  ] }""";
        RunResult r = run(json);
        assertThat(lines()).contains(
                "[0] FAIL pagingDomain a on u0 (nesting parent): error NOT_SUPPORTED: unit u0: paging domain: capability NESTING_PARENT_DOMAIN is not advertised",
                "[1] FAIL map a 0x0+4K -> 0x80000000 rw-: domain 'a' does not exist: the operation that creates it failed");
        assertThat(r.failed()).isEqualTo(2);
    }

    @Test
    void anUnknownBackendIsInvalidNamingTheUnitsPath() {
        String json = scenario().replace("\"backend\": \"fake\"", "\"backend\": \"nope\"");
        assertThatThrownBy(() -> run(json))
                .isInstanceOf(InvalidScenarioException.class)
                .hasMessage("machine.units[0].backend: no backend 'nope' on the class path; known: [fake]");
    }

    @Test
    void aMachineTheBackendRefusesIsInvalid() {
        String json = scenario().replace("\"backend\": \"fake\"", "\"backend\": \"fake\", \"options\": { \"colour\": \"red\" }");
        assertThatThrownBy(() -> run(json))
                .isInstanceOf(InvalidScenarioException.class)
                .hasMessage("machine: cannot be built: options.colour: unknown option of the fake backend; known: pasidBits");
    }
}
