package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.BackendRegistry;
import dev.iommukit.cli.fake.FakeBackend;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Processes, aux domains, mdevs, containers and checks, run on the real VT-d and SMMUv3 backends
 * (the fake backend where a backend must lack aux domains): every step's printed line and verdict.
 */
class ProcessMdevRunnerTest {
    private final StringWriter printed = new StringWriter();

    private RunResult run(String backend, String... operations) {
        String unit = backend.equals("vtd") ? "dmar0" : backend.equals("smmuv3") ? "smmu0" : "iommu0";
        String json = """
                { "machine": { "ram": [ { "base": "0x80000000", "size": "1G" } ],
                               "units": [ { "name": "UNIT", "backend": "BACKEND" } ],
                               "devices": [ { "name": "gpu", "unit": "UNIT", "rid": "00:03.0", "pasidBits": 20 },
                                            { "name": "nic", "unit": "UNIT", "rid": "00:04.0", "pasidBits": 20 } ] },
                  "operations": [
                """.replace("UNIT", unit).replace("BACKEND", backend) + String.join(",\n", operations) + "\n] }";
        BackendRegistry registry = backend.equals("fake") ? BackendRegistry.of(new FakeBackend()) : BackendRegistry.discover();
        return new ScenarioRunner(registry, new PrintWriter(printed)).run(ScenarioParser.parse(json), m -> { });
    }

    private List<String> lines() {
        return printed.toString().lines().toList();
    }

    @Test
    void processesMapWriteCheckUnmapAndExit() {
        RunResult r = run("vtd",
                "{ \"op\": \"check\", \"processPagesInUse\": 0, \"save\": \"empty\" }",
                "{ \"op\": \"process\", \"name\": \"vmm\", \"lockedLimit\": \"4K\" }",
                "{ \"op\": \"mmap\", \"process\": \"vmm\", \"size\": \"8K\", \"perms\": \"rw\", \"as\": \"buf\" }",
                "{ \"op\": \"mmap\", \"process\": \"vmm\", \"va\": \"0x10_0000\", \"size\": \"4K\", \"perms\": \"r\", \"as\": \"fixed\" }",
                "{ \"op\": \"mmap\", \"process\": \"vmm\", \"va\": \"0x10_0000\", \"size\": \"4K\", \"perms\": \"r\", \"expectError\": \"CONFLICT\" }",
                "{ \"op\": \"writeProcessMemory\", \"mmap\": \"buf\", \"offset\": \"0xffe\", \"text\": \"span\" }",
                "{ \"op\": \"checkProcessMemory\", \"process\": \"vmm\", \"mmap\": \"buf\", \"offset\": \"0xffe\", \"text\": \"span\" }",
                "{ \"op\": \"checkProcessMemory\", \"mmap\": \"buf\", \"offset\": \"0xffe\", \"text\": \"spam\" }",
                "{ \"op\": \"writeProcessMemory\", \"process\": \"vmm\", \"va\": \"0x10_0010\", \"data\": \"ab\" }",
                "{ \"op\": \"checkProcessMemory\", \"mmap\": \"fixed\", \"offset\": 16, \"data\": \"ab\" }",
                "{ \"op\": \"munmap\", \"mmap\": \"buf\", \"offset\": \"4K\", \"size\": \"4K\" }",
                "{ \"op\": \"writeProcessMemory\", \"mmap\": \"buf\", \"offset\": \"4K\", \"data\": \"01\", \"expectError\": \"INVALID_ARGUMENT\" }",
                "{ \"op\": \"check\", \"process\": \"vmm\", \"lockedBytes\": 0, \"alive\": true }",
                "{ \"op\": \"exit\", \"process\": \"vmm\" }",
                "{ \"op\": \"check\", \"process\": \"vmm\", \"alive\": false, \"processPagesInUse\": \"empty\" }",
                "{ \"op\": \"mmap\", \"process\": \"vmm\", \"size\": \"4K\", \"perms\": \"rw\", \"expectError\": \"CLOSED\" }",
                "{ \"op\": \"check\", \"process\": \"vmm\", \"alive\": true }");
        assertThat(lines()).contains(
                "[0] ok   check: processPagesInUse 0, saved as empty",
                "[1] ok   process vmm (locked limit 4K): pid 100, x86_64 page tables at 0x200000000",
                "[6] ok   checkProcessMemory vmm buf+0xffe (4 bytes): matches",
                "[7] FAIL checkProcessMemory vmm buf+0xffe (4 bytes): holds [73 70 61 6e]; expected [73 70 61 6d]",
                "[9] ok   checkProcessMemory vmm fixed+0x10 (1 bytes): matches",
                "[10] ok   munmap vmm buf+0x1000+4K",
                "[12] ok   check: lockedBytes 0x0, alive",
                "[14] ok   check: processPagesInUse 0, exited",
                "[16] FAIL check: exited; expected alive",
                "15 passed, 2 failed");
        assertThat(lines().get(2 + 2)).startsWith("[2] ok   mmap vmm 8K rw- as buf: va 0x7f0000000000 -> pa 0x2");
        assertThat(lines().get(2 + 11)).startsWith("[11] ok   writeProcessMemory vmm buf+0x1000 [01]: INVALID_ARGUMENT as expected: va: 0x7f0000001000 is not mapped");
        assertThat(lines().get(2 + 15)).startsWith("[15] ok   mmap vmm 4K rw-: CLOSED as expected: process vmm (pid 100) has exited");
    }

    @Test
    void theCpuFollowsTheBackendUnlessTheMachineNamesIt() {
        run("smmuv3", "{ \"op\": \"process\", \"name\": \"p\" }");
        assertThat(lines()).anyMatch(l -> l.startsWith("[0] ok   process p: pid 100, aarch64 page tables at "));
    }

    @Test
    void auxDomainsAnswerOnTheirNamedPasid() {
        RunResult r = run("vtd",
                "{ \"op\": \"pagingDomain\", \"name\": \"aux\" }",
                "{ \"op\": \"map\", \"domain\": \"aux\", \"iova\": \"0x1000\", \"pa\": \"0x80005000\", \"size\": \"4K\", \"perms\": \"rw\" }",
                "{ \"op\": \"attachAux\", \"device\": \"gpu\", \"domain\": \"aux\", \"expectError\": \"INVALID_ARGUMENT\", \"comment\": \"not enabled\" }",
                "{ \"op\": \"enableAux\", \"device\": \"gpu\" }",
                "{ \"op\": \"attachAux\", \"device\": \"gpu\", \"domain\": \"aux\", \"pasidAs\": \"p\" }",
                "{ \"op\": \"check\", \"pasidsInUse\": 1, \"device\": \"gpu\", \"auxDomains\": 1 }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"p\", \"access\": \"write\", \"address\": \"0x1010\", \"data\": \"99\", \"expect\": { \"pa\": \"0x80005010\" } }",
                "{ \"op\": \"checkMemory\", \"pa\": \"0x80005010\", \"data\": \"99\" }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"access\": \"read\", \"address\": \"0x1010\", \"expect\": { \"fault\": \"BLOCKED\" } }",
                "{ \"op\": \"attach\", \"device\": \"gpu\", \"domain\": \"aux\", \"expectError\": \"BUSY\", \"comment\": \"aux domains attached\" }",
                "{ \"op\": \"disableAux\", \"device\": \"gpu\", \"expectError\": \"BUSY\" }",
                "{ \"op\": \"detachAux\", \"device\": \"gpu\", \"domain\": \"aux\" }",
                "{ \"op\": \"detachAux\", \"device\": \"gpu\", \"domain\": \"aux\", \"expectError\": \"NOT_FOUND\" }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"p\", \"access\": \"read\", \"address\": \"0x1010\", \"expect\": { \"fault\": \"BLOCKED\" } }",
                "{ \"op\": \"disableAux\", \"device\": \"gpu\" }",
                "{ \"op\": \"check\", \"pasidsInUse\": 0, \"device\": \"gpu\", \"auxDomains\": 0 }");
        assertThat(r.failures()).as(printed.toString()).isEmpty();
        assertThat(r.passed()).isEqualTo(16);
        assertThat(lines()).contains(
                "[4] ok   attachAux 0000:00:03.0 -> aux as p: pasid 1",
                "[5] ok   check: pasidsInUse 1, auxDomains 1",
                "[6] ok   dma 0000:00:03.0 pasid p write 0x1010 (1 bytes): pa 0x80005010",
                "[15] ok   check: pasidsInUse 0, auxDomains 0");
    }

    @Test
    void aBackendWithoutAuxDomainsRefusesThemAndStepsUsingTheirPasidFail() {
        RunResult r = run("fake",
                "{ \"op\": \"pagingDomain\", \"name\": \"aux\" }",
                "{ \"op\": \"enableAux\", \"device\": \"gpu\", \"expectError\": \"NOT_SUPPORTED\" }",
                "{ \"op\": \"attachAux\", \"device\": \"gpu\", \"domain\": \"aux\", \"pasidAs\": \"p\" }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"p\", \"access\": \"read\", \"address\": 0, \"expect\": { \"fault\": \"BLOCKED\" } }");
        assertThat(lines()).contains(
                "[1] ok   enableAux 0000:00:03.0: NOT_SUPPORTED as expected: device 0000:00:03.0 on iommu0 does not advertise AUX_DOMAIN",
                "[3] FAIL dma 0000:00:03.0 pasid p read 0x0: PASID 'p' does not exist: the attachAux, bindSva or allocGuestPasid that records it failed");
        assertThat(r.failed()).isEqualTo(2);
    }

    /** A VMM with two mdevs of one parent in two containers, then torn down step by step. */
    private static final List<String> MDEV_SETUP = List.of(
            "{ \"op\": \"check\", \"pasidsInUse\": 0, \"save\": \"start\" }",
            "{ \"op\": \"process\", \"name\": \"vmm\", \"lockedLimit\": \"12K\" }",
            "{ \"op\": \"mmap\", \"process\": \"vmm\", \"size\": \"16K\", \"perms\": \"rw\", \"as\": \"mem\" }",
            "{ \"op\": \"writeProcessMemory\", \"mmap\": \"mem\", \"text\": \"A\" }",
            "{ \"op\": \"writeProcessMemory\", \"mmap\": \"mem\", \"offset\": \"4K\", \"text\": \"B\" }",
            "{ \"op\": \"mdevParent\", \"device\": \"gpu\", \"types\": [ { \"name\": \"half\", \"deviceApi\": \"vfio-pci\", \"maxInstances\": 2 } ] }",
            "{ \"op\": \"mdevCreate\", \"parent\": \"gpu\", \"uuid\": \"a0000000-0000-4000-8000-00000000000a\", \"type\": \"half\", \"name\": \"mA\" }",
            "{ \"op\": \"mdevCreate\", \"parent\": \"gpu\", \"uuid\": \"b0000000-0000-4000-8000-00000000000b\", \"type\": \"half\" }",
            "{ \"op\": \"container\", \"name\": \"cA\", \"owner\": \"vmm\" }",
            "{ \"op\": \"container\", \"name\": \"cB\", \"owner\": \"vmm\" }",
            "{ \"op\": \"containerInfo\", \"container\": \"cA\", \"pasidSupport\": false }",
            "{ \"op\": \"containerAttach\", \"container\": \"cA\", \"mdev\": \"mA\" }",
            "{ \"op\": \"containerAttach\", \"container\": \"cB\", \"mdev\": \"b0000000-0000-4000-8000-00000000000b\" }",
            "{ \"op\": \"mapDma\", \"container\": \"cA\", \"mmap\": \"mem\", \"iova\": \"0x4000\", \"size\": \"4K\", \"perms\": \"rw\" }",
            "{ \"op\": \"mapDma\", \"container\": \"cB\", \"mmap\": \"mem\", \"offset\": \"4K\", \"iova\": \"0x4000\", \"size\": \"4K\", \"perms\": \"r\" }");

    private RunResult runMdev(String backend, String... more) {
        List<String> ops = new java.util.ArrayList<>(MDEV_SETUP);
        ops.addAll(List.of(more));
        return run(backend, ops.toArray(String[]::new));
    }

    @Test
    void mdevsInContainersReachOnlyTheirOwnPagesAndTearDownCompletely() {
        RunResult r = runMdev("vtd",
                "{ \"op\": \"containerInfo\", \"container\": \"cA\", \"pageSizes\": \"4K,2M,1G\", \"iovaRanges\": [ { \"start\": 0, \"end\": \"0xffff_ffff_ffff\" } ], \"pasidSupport\": true, \"pasidBits\": 20 }",
                "{ \"op\": \"dma\", \"mdev\": \"mA\", \"access\": \"read\", \"address\": \"0x4000\", \"expect\": { \"mmap\": \"mem\", \"text\": \"A\" } }",
                "{ \"op\": \"dma\", \"mdev\": \"b0000000-0000-4000-8000-00000000000b\", \"access\": \"read\", \"address\": \"0x4000\", \"expect\": { \"mmap\": \"mem\", \"offset\": \"4K\", \"text\": \"B\" } }",
                "{ \"op\": \"dma\", \"mdev\": \"b0000000-0000-4000-8000-00000000000b\", \"access\": \"write\", \"address\": \"0x4000\", \"data\": \"00\", \"expect\": { \"fault\": \"PERMISSION\", \"vendor\": \"SGN.6\" } }",
                "{ \"op\": \"mapDma\", \"container\": \"cA\", \"mmap\": \"mem\", \"offset\": \"8K\", \"iova\": \"0x8000\", \"size\": \"8K\", \"perms\": \"rw\", \"expectError\": \"RESOURCE_EXHAUSTED\", \"comment\": \"locked limit\" }",
                "{ \"op\": \"check\", \"pasidsInUse\": 2, \"process\": \"vmm\", \"lockedBytes\": \"8K\", \"parent\": \"gpu\", \"type\": \"half\", \"availableInstances\": 0 }",
                "{ \"op\": \"unmapDma\", \"container\": \"cA\", \"iova\": \"0x4000\", \"size\": \"4K\", \"expectUnmapped\": \"4K\" }",
                "{ \"op\": \"dma\", \"mdev\": \"mA\", \"access\": \"read\", \"address\": \"0x4000\", \"expect\": { \"fault\": \"NOT_MAPPED\", \"vendor\": \"SSS.2\" } }",
                "{ \"op\": \"containerDetach\", \"container\": \"cA\", \"mdev\": \"mA\" }",
                "{ \"op\": \"containerDetach\", \"container\": \"cA\", \"mdev\": \"mA\", \"expectError\": \"NOT_FOUND\" }",
                "{ \"op\": \"mdevRemove\", \"mdev\": \"mA\" }",
                "{ \"op\": \"mdevRemove\", \"mdev\": \"b0000000-0000-4000-8000-00000000000b\", \"expectError\": \"BUSY\" }",
                "{ \"op\": \"containerClose\", \"container\": \"cB\" }",
                "{ \"op\": \"dma\", \"mdev\": \"b0000000-0000-4000-8000-00000000000b\", \"access\": \"read\", \"address\": \"0x4000\", \"expect\": { \"fault\": \"BLOCKED\" } }",
                "{ \"op\": \"mapDma\", \"container\": \"cB\", \"mmap\": \"mem\", \"iova\": 0, \"size\": \"4K\", \"perms\": \"rw\", \"expectError\": \"CLOSED\" }",
                "{ \"op\": \"containerClose\", \"container\": \"cA\" }",
                "{ \"op\": \"mdevRemove\", \"mdev\": \"b0000000-0000-4000-8000-00000000000b\" }",
                "{ \"op\": \"check\", \"pasidsInUse\": \"start\", \"process\": \"vmm\", \"lockedBytes\": 0, \"parent\": \"gpu\", \"type\": \"half\", \"availableInstances\": 2, \"save\": \"tornDown\" }",
                "{ \"op\": \"mdevCreate\", \"parent\": \"gpu\", \"uuid\": \"c0000000-0000-4000-8000-00000000000c\", \"type\": \"half\", \"name\": \"mC\" }",
                "{ \"op\": \"container\", \"name\": \"cC\", \"owner\": \"vmm\" }",
                "{ \"op\": \"containerAttach\", \"container\": \"cC\", \"mdev\": \"mC\" }",
                "{ \"op\": \"mapDma\", \"container\": \"cC\", \"mmap\": \"mem\", \"iova\": 0, \"size\": \"8K\", \"perms\": \"rw\" }",
                "{ \"op\": \"containerClose\", \"container\": \"cC\" }",
                "{ \"op\": \"mdevRemove\", \"mdev\": \"mC\" }",
                "{ \"op\": \"check\", \"pasidsInUse\": \"tornDown\", \"tablePagesInUse\": \"tornDown\", \"processPagesInUse\": \"tornDown\", \"process\": \"vmm\", \"lockedBytes\": 0 }");
        assertThat(r.failures()).as(printed.toString()).isEmpty();
        List<String> lines = lines();
        assertThat(lines).contains(
                "[6] ok   mdevCreate mA of half on 0000:00:03.0: a0000000-0000-4000-8000-00000000000a, 1 more available",
                "[10] ok   containerInfo cA: pages 4K, iova 0x0..0xffffffffffffffff, no pasid",
                "[11] ok   containerAttach cA mdev mA: aux domain at pasid 1 of 0000:00:03.0",
                "[12] ok   containerAttach cB mdev b0000000-0000-4000-8000-00000000000b: aux domain at pasid 2 of 0000:00:03.0",
                "[13] ok   mapDma cA 0x4000+4K -> va mem rw-",
                "[15] ok   containerInfo cA: pages 4K,2M,1G, iova 0x0..0xffffffffffff, pasid 20 bits",
                "[20] ok   check: pasidsInUse 2, lockedBytes 0x2000, half availableInstances 0",
                "[22] ok   dma mdev mA read 0x4000: fault NOT_MAPPED [SSS.2] stage 2",
                "[32] ok   check: pasidsInUse 0, lockedBytes 0x0, half availableInstances 2, saved as tornDown",
                "[35] ok   containerAttach cC mdev mC: aux domain at pasid 1 of 0000:00:03.0");
        assertThat(lines).as("a second cycle leaks nothing").anyMatch(l -> l.matches(
                "\\[39] ok   check: pasidsInUse 0, tablePagesInUse \\d+, processPagesInUse \\d+, lockedBytes 0x0"));
        assertThat(lines).anyMatch(l -> l.startsWith("[16] ok   dma mdev mA read 0x4000 (1 bytes): pa 0x2") && l.endsWith(" = mem, data matches"));
        assertThat(r.passed()).isEqualTo(40);
    }

    @Test
    void wrongExpectationsOfTheNewStepsFail() {
        RunResult r = runMdev("vtd",
                "{ \"op\": \"dma\", \"mdev\": \"mA\", \"access\": \"read\", \"address\": \"0x4000\", \"expect\": { \"mmap\": \"mem\", \"offset\": \"4K\" } }",
                "{ \"op\": \"containerInfo\", \"container\": \"cA\", \"pageSizes\": \"4K\", \"iovaRanges\": [], \"pasidSupport\": false, \"pasidBits\": 8 }",
                "{ \"op\": \"unmapDma\", \"container\": \"cB\", \"iova\": \"0x4000\", \"size\": \"4K\", \"expectUnmapped\": \"8K\" }",
                "{ \"op\": \"check\", \"pasidsInUse\": 1, \"tablePagesInUse\": \"start\", \"parent\": \"gpu\", \"type\": \"half\", \"availableInstances\": 1 }");
        assertThat(lines()).anyMatch(l -> l.startsWith("[15] FAIL dma mdev mA read 0x4000: pa 0x2") && l.contains("; expected mem+0x1000 (pa 0x2"));
        assertThat(lines()).contains(
                "[16] FAIL containerInfo cA: pages 4K,2M,1G, iova 0x0..0xffffffffffff, pasid 20 bits; expected pages 4K, iova none, no pasid support, pasid 8 bits",
                "[17] FAIL unmapDma cB 0x4000+4K: unmapped 0x1000 bytes; expected 0x2000");
        assertThat(lines()).anyMatch(l -> l.matches("\\[18] FAIL check: pasidsInUse 2, tablePagesInUse \\d+, half availableInstances 0; "
                + "expected pasidsInUse 1, tablePagesInUse \\d+ \\(as at start\\), half availableInstances 1"));
        assertThat(r.failed()).isEqualTo(4);
    }

    @Test
    void aWholeDeviceInAContainerReachesTheOwnersPagesWithoutPasid() {
        RunResult r = run("smmuv3",
                "{ \"op\": \"process\", \"name\": \"vmm\" }",
                "{ \"op\": \"mmap\", \"process\": \"vmm\", \"size\": \"4K\", \"perms\": \"rw\", \"as\": \"ring\" }",
                "{ \"op\": \"container\", \"name\": \"c\", \"owner\": \"vmm\" }",
                "{ \"op\": \"containerAttach\", \"container\": \"c\", \"device\": \"nic\" }",
                "{ \"op\": \"containerAttach\", \"container\": \"c\", \"device\": \"nic\", \"expectError\": \"CONFLICT\" }",
                "{ \"op\": \"mapDma\", \"container\": \"c\", \"mmap\": \"ring\", \"iova\": \"0x10_0000\", \"size\": \"4K\", \"perms\": \"rw\" }",
                "{ \"op\": \"mapDma\", \"container\": \"c\", \"mmap\": \"ring\", \"iova\": \"0x10_0000\", \"size\": \"4K\", \"perms\": \"rw\", \"expectError\": \"CONFLICT\" }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"access\": \"write\", \"address\": \"0x10_0008\", \"text\": \"pkt\", \"expect\": { \"mmap\": \"ring\", \"offset\": 8 } }",
                "{ \"op\": \"checkProcessMemory\", \"mmap\": \"ring\", \"offset\": 8, \"text\": \"pkt\" }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"access\": \"read\", \"address\": \"0x10_0008\", \"expect\": { \"fault\": \"BLOCKED\" } }",
                "{ \"op\": \"containerDetach\", \"container\": \"c\", \"device\": \"nic\" }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"access\": \"read\", \"address\": \"0x10_0008\", \"expect\": { \"fault\": \"BLOCKED\" } }",
                "{ \"op\": \"exit\", \"process\": \"vmm\" }",
                "{ \"op\": \"container\", \"name\": \"late\", \"owner\": \"vmm\", \"expectError\": \"CLOSED\" }",
                "{ \"op\": \"containerClose\", \"container\": \"c\" }",
                "{ \"op\": \"check\", \"process\": \"vmm\", \"lockedBytes\": 0 }");
        assertThat(r.failures()).as(printed.toString()).isEmpty();
        assertThat(r.passed()).isEqualTo(16);
    }

    @Test
    void stepsNamingAnMdevOrContainerWhoseCreationFailedFail() {
        RunResult r = run("vtd",
                "{ \"op\": \"process\", \"name\": \"vmm\" }",
                "{ \"op\": \"mdevParent\", \"device\": \"gpu\", \"types\": [ { \"name\": \"t\", \"deviceApi\": \"vfio-pci\", \"maxInstances\": 1 } ] }",
                "{ \"op\": \"mdevCreate\", \"parent\": \"gpu\", \"uuid\": \"a0000000-0000-4000-8000-00000000000a\", \"type\": \"t\", \"name\": \"m\" }",
                "{ \"op\": \"mdevCreate\", \"parent\": \"gpu\", \"uuid\": \"b0000000-0000-4000-8000-00000000000b\", \"type\": \"t\", \"name\": \"m2\" }",
                "{ \"op\": \"dma\", \"mdev\": \"m2\", \"access\": \"read\", \"address\": 0, \"expect\": { \"fault\": \"BLOCKED\" } }",
                "{ \"op\": \"exit\", \"process\": \"vmm\" }",
                "{ \"op\": \"container\", \"name\": \"c\", \"owner\": \"vmm\" }",
                "{ \"op\": \"containerAttach\", \"container\": \"c\", \"mdev\": \"m\" }",
                "{ \"op\": \"check\", \"parent\": \"gpu\", \"type\": \"t\", \"availableInstances\": 0 }");
        assertThat(lines()).contains(
                "[4] FAIL dma mdev m2 read 0x0: mdev 'm2' does not exist: the mdevCreate that creates it failed",
                "[7] FAIL containerAttach c mdev m: container 'c' does not exist: the operation that creates it failed",
                "[8] ok   check: t availableInstances 0");
        assertThat(lines()).anyMatch(l -> l.startsWith("[3] FAIL mdevCreate m2 of t on 0000:00:03.0: error RESOURCE_EXHAUSTED: "));
        assertThat(lines()).anyMatch(l -> l.startsWith("[6] FAIL container c owned by vmm: error CLOSED: "));
        assertThat(r.failed()).isEqualTo(4);
    }
}
