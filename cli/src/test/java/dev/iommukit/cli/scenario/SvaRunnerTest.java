package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.BackendRegistry;
import dev.iommukit.cli.fake.FakeBackend;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@code bindSva}, {@code unbindSva} and DMA at a process's virtual addresses, run on the real
 * SMMUv3 and VT-d backends (and on the fake backend, which has no SVA): every step's printed line
 * and verdict.
 */
class SvaRunnerTest {
    private final StringWriter printed = new StringWriter();

    private RunResult run(String backend, String cpu, String... operations) {
        String unit = backend.equals("vtd") ? "dmar0" : backend.equals("smmuv3") ? "smmu0" : "iommu0";
        String json = """
                { "machine": { "ram": [ { "base": "0x80000000", "size": "1G" } ], "cpu": "CPU",
                               "units": [ { "name": "UNIT", "backend": "BACKEND" } ],
                               "devices": [ { "name": "gpu", "unit": "UNIT", "rid": "00:03.0", "pasidBits": 20 },
                                            { "name": "nic", "unit": "UNIT", "rid": "00:04.0", "pasidBits": 20 },
                                            { "name": "old", "unit": "UNIT", "rid": "00:05.0" } ] },
                  "operations": [
                """.replace("UNIT", unit).replace("BACKEND", backend).replace("CPU", cpu) + String.join(",\n", operations) + "\n] }";
        BackendRegistry registry = backend.equals("fake") ? BackendRegistry.of(new FakeBackend()) : BackendRegistry.discover();
        return new ScenarioRunner(registry, new PrintWriter(printed)).run(ScenarioParser.parse(json), m -> { });
    }

    private List<String> lines() {
        return printed.toString().lines().toList();
    }

    /** A process with a writable and a read-only page, bound to gpu and nic. */
    private static final List<String> BOUND = List.of(
            "{ \"op\": \"process\", \"name\": \"app\" }",
            "{ \"op\": \"mmap\", \"process\": \"app\", \"size\": \"4K\", \"perms\": \"rw\", \"as\": \"buf\" }",
            "{ \"op\": \"mmap\", \"process\": \"app\", \"size\": \"4K\", \"perms\": \"r\", \"as\": \"ro\" }",
            "{ \"op\": \"writeProcessMemory\", \"mmap\": \"buf\", \"offset\": \"0x10\", \"text\": \"hello\" }",
            "{ \"op\": \"bindSva\", \"device\": \"gpu\", \"process\": \"app\", \"pasidAs\": \"pG\" }",
            "{ \"op\": \"bindSva\", \"device\": \"nic\", \"process\": \"app\", \"pasidAs\": \"pN\" }");

    private static String[] with(List<String> setup, String... more) {
        return java.util.stream.Stream.concat(setup.stream(), java.util.stream.Stream.of(more)).toArray(String[]::new);
    }

    @ParameterizedTest
    @CsvSource({"smmuv3, aarch64, F_PERMISSION, F_TRANSLATION", "vtd, x86_64, SGN.6, SFS.2"})
    void boundDevicesReachTheProcessAtItsVirtualAddresses(String backend, String cpu, String permission, String notMapped) {
        RunResult r = run(backend, cpu, with(BOUND,
                "{ \"op\": \"check\", \"pasidsInUse\": 1 }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"pG\", \"access\": \"read\", \"mmap\": \"buf\", \"offset\": \"0x10\", \"expect\": { \"mmap\": \"buf\", \"offset\": \"0x10\", \"text\": \"hello\" } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"pN\", \"access\": \"write\", \"mmap\": \"buf\", \"offset\": \"0x20\", \"text\": \"nic\", \"expect\": { \"mmap\": \"buf\", \"offset\": \"0x20\" } }",
                "{ \"op\": \"checkProcessMemory\", \"mmap\": \"buf\", \"offset\": \"0x20\", \"text\": \"nic\" }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": 1, \"access\": \"read\", \"address\": \"0x7f00_0000_0010\", \"length\": 5, \"expect\": { \"mmap\": \"buf\", \"offset\": \"0x10\" } }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"pG\", \"access\": \"write\", \"mmap\": \"ro\", \"data\": \"00\", \"expect\": { \"fault\": \"PERMISSION\", \"vendor\": \"" + permission + "\" } }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"pG\", \"access\": \"read\", \"mmap\": \"ro\", \"offset\": \"4K\", \"expect\": { \"fault\": \"NOT_MAPPED\", \"vendor\": \"" + notMapped + "\" } }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"access\": \"read\", \"mmap\": \"buf\", \"expect\": { \"fault\": \"BLOCKED\" } }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"pG\", \"access\": \"read\", \"mmap\": \"buf\", \"offset\": \"0x10\", \"expect\": { \"mmap\": \"buf\", \"offset\": \"0x11\" } }"));
        assertThat(r.failed()).as(printed.toString()).isEqualTo(1);
        assertThat(r.passed()).isEqualTo(BOUND.size() + 8);
        assertThat(lines()).contains(
                "[4] ok   bindSva 0000:00:03.0 app as pG: pasid 1",
                "[5] ok   bindSva 0000:00:04.0 app as pN: pasid 1",
                "[6] ok   check: pasidsInUse 1",
                "[7] ok   dma 0000:00:03.0 pasid pG read buf+0x10 (5 bytes): pa " + pa(1, 0x10) + " = buf+0x10, data matches",
                "[8] ok   dma 0000:00:04.0 pasid pN write buf+0x20 (3 bytes): pa " + pa(1, 0x20) + " = buf+0x20",
                "[9] ok   checkProcessMemory app buf+0x20 (3 bytes): matches",
                "[10] ok   dma 0000:00:04.0 pasid 1 read 0x7f0000000010 (5 bytes): pa " + pa(1, 0x10) + " = buf+0x10",
                "[14] FAIL dma 0000:00:03.0 pasid pG read buf+0x10: pa " + pa(1, 0x10) + "; expected buf+0x11 (pa " + pa(1, 0x11) + ")");
        assertThat(lines()).anyMatch(l -> l.startsWith("[11] ok   dma 0000:00:03.0 pasid pG write ro (1 bytes): fault PERMISSION [" + permission + "]"))
                .anyMatch(l -> l.startsWith("[12] ok   dma 0000:00:03.0 pasid pG read ro+0x1000: fault NOT_MAPPED [" + notMapped + "]"))
                .anyMatch(l -> l.startsWith("[13] ok   dma 0000:00:03.0 read buf: fault BLOCKED ["));
    }

    /** The physical address of byte {@code offset} of the {@code page}-th page the process memory pool hands out. */
    private static String pa(int page, long offset) {
        return "0x" + Long.toHexString(0x2_0000_0000L + page * 4096L + offset);
    }

    @ParameterizedTest
    @CsvSource({"smmuv3, aarch64", "vtd, x86_64"})
    void bindingsCountAndTheLastUnbindReturnsThePasid(String backend, String cpu) {
        RunResult r = run(backend, cpu, with(BOUND,
                "{ \"op\": \"bindSva\", \"device\": \"gpu\", \"process\": \"app\", \"pasidAs\": \"again\" }",
                "{ \"op\": \"unbindSva\", \"device\": \"gpu\", \"process\": \"app\" }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"again\", \"access\": \"read\", \"mmap\": \"buf\", \"expect\": { \"mmap\": \"buf\" } }",
                "{ \"op\": \"unbindSva\", \"device\": \"gpu\", \"process\": \"app\" }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"pG\", \"access\": \"read\", \"mmap\": \"buf\", \"expect\": { \"fault\": \"BLOCKED\" } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"pN\", \"access\": \"read\", \"mmap\": \"buf\", \"expect\": { \"mmap\": \"buf\" } }",
                "{ \"op\": \"check\", \"pasidsInUse\": 1 }",
                "{ \"op\": \"unbindSva\", \"device\": \"nic\", \"process\": \"app\" }",
                "{ \"op\": \"check\", \"pasidsInUse\": 0 }",
                "{ \"op\": \"unbindSva\", \"device\": \"nic\", \"process\": \"app\", \"expectError\": \"NOT_FOUND\" }",
                "{ \"op\": \"unbindSva\", \"device\": \"nic\", \"process\": \"app\" }"));
        assertThat(r.passed()).as(printed.toString()).isEqualTo(BOUND.size() + 10);
        assertThat(r.failed()).isEqualTo(1);
        assertThat(lines()).contains(
                "[6] ok   bindSva 0000:00:03.0 app as again: pasid 1",
                "[7] ok   unbindSva 0000:00:03.0 app",
                "[9] ok   unbindSva 0000:00:03.0 app",
                "[14] ok   check: pasidsInUse 0",
                "[15] ok   unbindSva 0000:00:04.0 app: NOT_FOUND as expected: process: process app (pid 100) is not bound to 0000:00:04.0",
                "[16] FAIL unbindSva 0000:00:04.0 app: error NOT_FOUND: process: process app (pid 100) is not bound to 0000:00:04.0");
        assertThat(lines()).anyMatch(l -> l.startsWith("[10] ok   dma 0000:00:03.0 pasid pG read buf: fault BLOCKED ["));
    }

    @ParameterizedTest
    @CsvSource({"smmuv3, aarch64, NOT_MAPPED", "vtd, x86_64, BLOCKED"})
    void anExitedProcessFaultsUntilUnboundAndCannotBeBound(String backend, String cpu, String quiesced) {
        RunResult r = run(backend, cpu, with(BOUND,
                "{ \"op\": \"exit\", \"process\": \"app\" }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"pG\", \"access\": \"read\", \"mmap\": \"buf\", \"expect\": { \"fault\": \"" + quiesced + "\" } }",
                "{ \"op\": \"check\", \"pasidsInUse\": 1 }",
                "{ \"op\": \"bindSva\", \"device\": \"old\", \"process\": \"app\", \"expectError\": \"CLOSED\" }",
                "{ \"op\": \"unbindSva\", \"device\": \"gpu\", \"process\": \"app\" }",
                "{ \"op\": \"unbindSva\", \"device\": \"nic\", \"process\": \"app\" }",
                "{ \"op\": \"check\", \"pasidsInUse\": 0 }"));
        assertThat(r.failures()).as(printed.toString()).isEmpty();
        assertThat(lines()).contains(
                "[9] ok   bindSva 0000:00:05.0 app: CLOSED as expected: process: process app (pid 100) has exited",
                "[12] ok   check: pasidsInUse 0");
    }

    @Test
    void theMachineCpuMustBeTheFormatTheUnitWalks() {
        RunResult r = run("smmuv3", "x86_64",
                "{ \"op\": \"process\", \"name\": \"app\" }",
                "{ \"op\": \"bindSva\", \"device\": \"gpu\", \"process\": \"app\", \"expectError\": \"NOT_SUPPORTED\" }");
        assertThat(r.failures()).as(printed.toString()).isEmpty();
        assertThat(lines()).contains("[1] ok   bindSva 0000:00:03.0 app: NOT_SUPPORTED as expected: process: process app (pid 100)"
                + " has x86-64 page tables, but smmu0 walks aarch64 ones for SVA");
    }

    @ParameterizedTest
    @CsvSource({"smmuv3, aarch64, smmu0", "vtd, x86_64, dmar0"})
    void aDeviceWithoutPasidsIsRefused(String backend, String cpu, String unit) {
        RunResult r = run(backend, cpu,
                "{ \"op\": \"process\", \"name\": \"app\" }",
                "{ \"op\": \"bindSva\", \"device\": \"old\", \"process\": \"app\", \"expectError\": \"NOT_SUPPORTED\" }",
                "{ \"op\": \"bindSva\", \"device\": \"old\", \"process\": \"app\" }",
                "{ \"op\": \"bindSva\", \"device\": \"old\", \"process\": \"app\", \"expectError\": \"CLOSED\" }",
                "{ \"op\": \"check\", \"pasidsInUse\": 0 }");
        assertThat(r.failed()).as(printed.toString()).isEqualTo(2);
        String refusal = "device 0000:00:05.0 on " + unit + " does not advertise SVA";
        assertThat(lines()).contains(
                "[1] ok   bindSva 0000:00:05.0 app: NOT_SUPPORTED as expected: " + refusal,
                "[2] FAIL bindSva 0000:00:05.0 app: error NOT_SUPPORTED: " + refusal,
                "[3] FAIL bindSva 0000:00:05.0 app: error NOT_SUPPORTED: " + refusal + "; expected error CLOSED",
                "[4] ok   check: pasidsInUse 0");
    }

    @Test
    void aBackendWithoutSvaRefusesItAndStepsUsingItsPasidFail() {
        RunResult r = run("fake", "aarch64",
                "{ \"op\": \"process\", \"name\": \"app\" }",
                "{ \"op\": \"mmap\", \"process\": \"app\", \"size\": \"4K\", \"perms\": \"rw\", \"as\": \"buf\" }",
                "{ \"op\": \"bindSva\", \"device\": \"gpu\", \"process\": \"app\", \"expectError\": \"NOT_SUPPORTED\" }",
                "{ \"op\": \"bindSva\", \"device\": \"gpu\", \"process\": \"app\", \"pasidAs\": \"p\" }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"p\", \"access\": \"read\", \"mmap\": \"buf\", \"expect\": { \"mmap\": \"buf\" } }");
        assertThat(r.failed()).as(printed.toString()).isEqualTo(2);
        assertThat(lines()).contains(
                "[2] ok   bindSva 0000:00:03.0 app: NOT_SUPPORTED as expected: device 0000:00:03.0 on iommu0 does not advertise SVA",
                "[3] FAIL bindSva 0000:00:03.0 app as p: error NOT_SUPPORTED: device 0000:00:03.0 on iommu0 does not advertise SVA",
                "[4] FAIL dma 0000:00:03.0 pasid p read buf: PASID 'p' does not exist: the attachAux, bindSva or allocGuestPasid that records it failed");
    }

    @Test
    void aDmaAtAMappingWhoseMmapFailedFailsNamingIt() {
        RunResult r = run("vtd", "x86_64",
                "{ \"op\": \"process\", \"name\": \"app\" }",
                "{ \"op\": \"mmap\", \"process\": \"app\", \"va\": \"0x1001\", \"size\": \"4K\", \"perms\": \"rw\", \"as\": \"bad\", \"expectError\": \"INVALID_ARGUMENT\" }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"access\": \"read\", \"mmap\": \"bad\", \"expect\": { \"fault\": \"BLOCKED\" } }");
        assertThat(r.failed()).as(printed.toString()).isEqualTo(1);
        assertThat(lines()).contains("[2] FAIL dma 0000:00:03.0 read bad: mapping 'bad' does not exist: the mmap that creates it failed");
    }
}
