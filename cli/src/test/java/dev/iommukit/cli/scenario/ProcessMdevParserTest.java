package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.CpuArchitecture;
import dev.iommukit.cli.scenario.Operation.AttachAux;
import dev.iommukit.cli.scenario.Operation.AuxFeature;
import dev.iommukit.cli.scenario.Operation.Check;
import dev.iommukit.cli.scenario.Operation.ContainerAttach;
import dev.iommukit.cli.scenario.Operation.ContainerClose;
import dev.iommukit.cli.scenario.Operation.ContainerInfo;
import dev.iommukit.cli.scenario.Operation.Counter;
import dev.iommukit.cli.scenario.Operation.DetachAux;
import dev.iommukit.cli.scenario.Operation.Dma;
import dev.iommukit.cli.scenario.Operation.Exit;
import dev.iommukit.cli.scenario.Operation.MapDma;
import dev.iommukit.cli.scenario.Operation.MdevCreate;
import dev.iommukit.cli.scenario.Operation.MdevParent;
import dev.iommukit.cli.scenario.Operation.MdevRemove;
import dev.iommukit.cli.scenario.Operation.MdevTypeDef;
import dev.iommukit.cli.scenario.Operation.Mmap;
import dev.iommukit.cli.scenario.Operation.Munmap;
import dev.iommukit.cli.scenario.Operation.NewContainer;
import dev.iommukit.cli.scenario.Operation.NewProcess;
import dev.iommukit.cli.scenario.Operation.ProcessBytes;
import dev.iommukit.cli.scenario.Operation.UnmapDma;
import dev.iommukit.cli.scenario.Operation.VirtualAddress;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ErrorCode;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The parser for processes, aux domains, mdevs, containers and checks: what it builds and what it refuses. */
class ProcessMdevParserTest {
    private static final String MACHINE = """
            "machine": {
              "ram": [ { "base": "0x80000000", "size": "1G" } ],
              "units": [ { "name": "dmar0", "backend": "vtd" } ],
              "devices": [ { "name": "gpu", "unit": "dmar0", "rid": "00:03.0", "pasidBits": 20 }, { "unit": "dmar0", "rid": "00:04.0", "pasidBits": 20 } ]
            }""";
    /** Defines a process, a mapping, a paging domain, a parent with one mdev and a container, for the steps after it. */
    private static final String SETUP = """
            { "op": "process", "name": "vmm" },
            { "op": "process", "name": "other" },
            { "op": "mmap", "process": "vmm", "size": "8K", "perms": "rw", "as": "buf" },
            { "op": "mmap", "process": "other", "size": "4K", "perms": "rw", "as": "theirs" },
            { "op": "pagingDomain", "name": "d" },
            { "op": "identityDomain", "name": "i" },
            { "op": "mdevParent", "device": "gpu", "types": [ { "name": "t", "deviceApi": "vfio-pci", "maxInstances": 2 } ] },
            { "op": "mdevCreate", "parent": "gpu", "uuid": "a0000000-0000-4000-8000-00000000000a", "type": "t", "name": "mA" },
            { "op": "container", "name": "c", "owner": "vmm" },
            { "op": "attachAux", "device": "gpu", "domain": "d", "pasidAs": "p1" },
            { "op": "check", "save": "s0" }""";
    private static final int SETUP_STEPS = 11;

    static String scenario(String... operations) {
        return "{ " + MACHINE + ",\n \"operations\": [\n" + SETUP + (operations.length > 0 ? ",\n" : "")
                + String.join(",\n", operations) + "\n] }";
    }

    private static List<Operation> parse(String... operations) {
        return ScenarioParser.parse(scenario(operations)).steps().stream().skip(SETUP_STEPS).map(Step::operation).toList();
    }

    @Test
    void parsesProcessOperations() {
        List<Operation> ops = parse(
                "{ \"op\": \"process\", \"name\": \"qemu\", \"lockedLimit\": \"16K\" }",
                "{ \"op\": \"mmap\", \"process\": \"qemu\", \"size\": \"4K\", \"perms\": \"r\", \"va\": \"0x10_0000\" }",
                "{ \"op\": \"munmap\", \"mmap\": \"buf\", \"offset\": \"4K\", \"size\": \"4K\" }",
                "{ \"op\": \"munmap\", \"process\": \"qemu\", \"va\": \"0x10_0000\", \"size\": \"4K\" }",
                "{ \"op\": \"writeProcessMemory\", \"mmap\": \"buf\", \"offset\": 16, \"text\": \"hi\" }",
                "{ \"op\": \"checkProcessMemory\", \"process\": \"vmm\", \"mmap\": \"buf\", \"data\": \"00\" }",
                "{ \"op\": \"exit\", \"process\": \"qemu\" }");
        assertThat(ops).containsExactly(
                new NewProcess("qemu", 0x4000L),
                new Mmap("qemu", 0x1000, Permissions.READ, 0x10_0000L, null),
                new Munmap("vmm", new VirtualAddress("buf", 0x1000), 0x1000),
                new Munmap("qemu", new VirtualAddress(null, 0x10_0000), 0x1000),
                ops.get(4), ops.get(5),
                new Exit("qemu"));
        ProcessBytes write = (ProcessBytes) ops.get(4);
        assertThat(write.process()).as("the process comes from the mapping").isEqualTo("vmm");
        assertThat(write.va()).isEqualTo(new VirtualAddress("buf", 16));
        assertThat(write.data()).isEqualTo("hi".getBytes(StandardCharsets.UTF_8));
        assertThat(write.check()).isFalse();
        assertThat(((ProcessBytes) ops.get(5)).check()).isTrue();
        assertThat(new VirtualAddress("buf", 16)).hasToString("buf+0x10");
        assertThat(new VirtualAddress(null, 16)).hasToString("0x10");
    }

    @Test
    void parsesAuxOperationsAndNamedPasids() {
        List<Operation> ops = parse(
                "{ \"op\": \"enableAux\", \"device\": \"gpu\" }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"p1\", \"access\": \"read\", \"address\": 0, \"expect\": { \"pa\": 0 } }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"0x5\", \"access\": \"read\", \"address\": 0, \"expect\": { \"mmap\": \"buf\", \"offset\": \"4K\" } }",
                "{ \"op\": \"detachAux\", \"device\": \"00:03.0\", \"domain\": \"d\" }",
                "{ \"op\": \"disableAux\", \"device\": \"gpu\" }");
        assertThat(ops.get(0)).isEqualTo(new AuxFeature("0000:00:03.0", true));
        Dma named = (Dma) ops.get(1);
        assertThat(named.pasidName()).isEqualTo("p1");
        assertThat(named.pasid()).isEqualTo(Pasid.NONE);
        Dma numbered = (Dma) ops.get(2);
        assertThat(numbered.pasidName()).isNull();
        assertThat(numbered.pasid()).isEqualTo(5);
        assertThat(numbered.expect().va()).isEqualTo(new VirtualAddress("buf", 0x1000));
        assertThat(numbered.expect().pa()).isNull();
        assertThat(ops.get(3)).isEqualTo(new DetachAux("0000:00:03.0", "d"));
        assertThat(ops.get(4)).isEqualTo(new AuxFeature("0000:00:03.0", false));
        assertThat(ScenarioParser.parse(scenario()).steps().get(9).operation()).isEqualTo(new AttachAux("0000:00:03.0", "d", "p1"));
    }

    @Test
    void parsesMdevAndContainerOperations() {
        List<Operation> setup = ScenarioParser.parse(scenario()).steps().stream().map(Step::operation).toList();
        assertThat(setup.get(6)).isEqualTo(new MdevParent("0000:00:03.0", List.of(new MdevTypeDef("t", "vfio-pci", 2))));
        assertThat(setup.get(7)).isEqualTo(new MdevCreate("0000:00:03.0", UUID.fromString("a0000000-0000-4000-8000-00000000000a"), "t", "mA"));
        assertThat(setup.get(8)).isEqualTo(new NewContainer("c", "vmm", false));
        List<Operation> ops = parse(
                "{ \"op\": \"mdevCreate\", \"parent\": \"00:03.0\", \"uuid\": \"B0000000-0000-4000-8000-00000000000B\", \"type\": \"t\" }",
                "{ \"op\": \"containerAttach\", \"container\": \"c\", \"mdev\": \"mA\" }",
                "{ \"op\": \"containerAttach\", \"container\": \"c\", \"mdev\": \"b0000000-0000-4000-8000-00000000000b\" }",
                "{ \"op\": \"containerAttach\", \"container\": \"c\", \"device\": \"00:04.0\" }",
                "{ \"op\": \"mapDma\", \"container\": \"c\", \"mmap\": \"buf\", \"offset\": \"4K\", \"iova\": \"0x10_0000\", \"size\": \"4K\", \"perms\": \"r\" }",
                "{ \"op\": \"mapDma\", \"container\": \"c\", \"vaddr\": \"0x7f00_0000_0000\", \"iova\": 0, \"size\": \"8K\", \"perms\": \"rw\" }",
                "{ \"op\": \"unmapDma\", \"container\": \"c\", \"iova\": \"0x10_0000\", \"size\": \"4K\", \"expectUnmapped\": \"4K\" }",
                "{ \"op\": \"containerInfo\", \"container\": \"c\", \"pageSizes\": \"4K,2M,1G\", \"iovaRanges\": [ { \"start\": 0, \"end\": \"0xffff_ffff_ffff\" } ], \"pasidSupport\": true, \"pasidBits\": 20 }",
                "{ \"op\": \"containerInfo\", \"container\": \"c\" }",
                "{ \"op\": \"dma\", \"mdev\": \"mA\", \"access\": \"write\", \"address\": \"0x10_0000\", \"data\": \"01\", \"expect\": { \"fault\": \"PERMISSION\" } }",
                "{ \"op\": \"containerDetach\", \"container\": \"c\", \"mdev\": \"mA\" }",
                "{ \"op\": \"containerClose\", \"container\": \"c\" }",
                "{ \"op\": \"mdevRemove\", \"mdev\": \"A0000000-0000-4000-8000-00000000000A\" }");
        assertThat(ops.get(0)).as("without an alias the UUID names it").isEqualTo(new MdevCreate("0000:00:03.0",
                UUID.fromString("b0000000-0000-4000-8000-00000000000b"), "t", null));
        assertThat(ops.get(1)).isEqualTo(new ContainerAttach("c", null, "mA", false));
        assertThat(ops.get(2)).isEqualTo(new ContainerAttach("c", null, "b0000000-0000-4000-8000-00000000000b", false));
        assertThat(ops.get(3)).isEqualTo(new ContainerAttach("c", "0000:00:04.0", null, false));
        assertThat(ops.get(4)).isEqualTo(new MapDma("c", new VirtualAddress("buf", 0x1000), 0x10_0000, 0x1000, Permissions.READ));
        assertThat(ops.get(5)).isEqualTo(new MapDma("c", new VirtualAddress(null, 0x7f00_0000_0000L), 0, 0x2000, Permissions.READ_WRITE));
        assertThat(ops.get(6)).isEqualTo(new UnmapDma("c", 0x10_0000, 0x1000, 0x1000L));
        assertThat(ops.get(7)).isEqualTo(new ContainerInfo("c", 0x4000_0000L | 0x20_0000L | 0x1000L,
                List.of(new Operation.IovaSpan(0, 0xffff_ffff_ffffL)), true, 20));
        assertThat(ops.get(8)).isEqualTo(new ContainerInfo("c", null, null, null, null));
        Dma dma = (Dma) ops.get(9);
        assertThat(dma.mdev()).isEqualTo("mA");
        assertThat(dma.device()).isNull();
        assertThat(ops.get(10)).isEqualTo(new ContainerAttach("c", null, "mA", true));
        assertThat(ops.get(11)).isEqualTo(new ContainerClose("c"));
        assertThat(ops.get(12)).as("a UUID in any case finds the alias").isEqualTo(new MdevRemove("mA"));
    }

    @Test
    void parsesChecks() {
        List<Operation> ops = parse(
                "{ \"op\": \"check\", \"pasidsInUse\": 1, \"tablePagesInUse\": \"s0\", \"processPagesInUse\": \"0x10\" }",
                "{ \"op\": \"check\", \"process\": \"vmm\", \"lockedBytes\": \"8K\", \"alive\": true }",
                "{ \"op\": \"check\", \"device\": \"gpu\", \"auxDomains\": 1, \"parent\": \"gpu\", \"type\": \"t\", \"availableInstances\": 1, \"save\": \"s1\" }");
        assertThat(ops.get(0)).isEqualTo(new Check(new Counter(1, null), new Counter(0, "s0"), new Counter(16, null),
                null, null, null, null, null, null, null, null, null, null, null, null));
        assertThat(ops.get(1)).isEqualTo(new Check(null, null, null, "vmm", 0x2000L, true, null, null, null, null, null, null, null, null, null));
        assertThat(ops.get(2)).isEqualTo(new Check(null, null, null, null, null, null, "0000:00:03.0", 1, null, "0000:00:03.0", "t", 1, null, null,
                "s1"));
    }

    @Test
    void parsesTheCpuAndProcessMemoryOfTheMachine() {
        String json = scenario().replace("\"units\":", "\"cpu\": \"aarch64\", \"processMemory\": { \"base\": \"0x3_0000_0000\", \"size\": \"64M\" }, \"units\":");
        MachineSpec m = ScenarioParser.parse(json).machine();
        assertThat(m.cpu()).isEqualTo(CpuArchitecture.AARCH64);
        assertThat(m.processMemory()).isEqualTo(new MachineSpec.Ram(0x3_0000_0000L, 64L << 20));
        assertThat(ScenarioParser.parse(scenario()).machine().cpu()).as("absent: chosen from the backends at run time").isNull();
    }

    @Test
    void expectErrorAndCommentWorkOnTheNewOperations() {
        Step step = ScenarioParser.parse(scenario("{ \"op\": \"exit\", \"process\": \"vmm\", \"expectError\": \"closed\", \"comment\": \"twice\" }"))
                .steps().get(SETUP_STEPS);
        assertThat(step.expectError()).isEqualTo(ErrorCode.CLOSED);
        assertThat(step.comment()).isEqualTo("twice");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        { "op": "process" } | operations[11].name: is required
        { "op": "process", "name": "vmm" } | operations[11].name: process 'vmm' is already defined by an earlier operation
        { "op": "process", "name": "q", "lockedLimit": -1 } | operations[11].lockedLimit: must not be negative, was 0xffffffffffffffff
        { "op": "mmap", "process": "nobody", "size": "4K", "perms": "rw" } | operations[11].process: no process named 'nobody' is defined by an earlier operation (process)
        { "op": "mmap", "process": "vmm", "size": "4K", "perms": "q" } | operations[11].perms: must be letters r, w, x with at least r or w, such as "rw", was "q"
        { "op": "mmap", "process": "vmm", "size": 0, "perms": "rw" } | operations[11].size: must be positive, was 0x0
        { "op": "mmap", "process": "vmm", "size": "4K", "perms": "rw", "as": "2M" } | operations[11].as: '2M' reads as a number; choose a name that does not
        { "op": "mmap", "process": "vmm", "size": "4K", "perms": "rw", "as": "buf" } | operations[11].as: mmap name 'buf' is already defined by an earlier operation
        { "op": "munmap", "process": "vmm", "va": 0, "mmap": "buf", "size": "4K" } | operations[11]: give exactly one of "va" (an address) or "mmap" (a name given by mmap's "as", with an optional "offset")
        { "op": "munmap", "process": "vmm", "va": 0, "offset": 8, "size": "4K" } | operations[11].offset: goes with "mmap"; with "va" write the whole address
        { "op": "munmap", "mmap": "buf" } | operations[11].size: is required
        { "op": "writeProcessMemory", "mmap": "nope", "text": "x" } | operations[11].mmap: no mapping named 'nope' is defined by an earlier mmap ("as")
        { "op": "writeProcessMemory", "process": "vmm", "mmap": "theirs", "text": "x" } | operations[11].mmap: 'theirs' is memory of process 'other', not of 'vmm'
        { "op": "writeProcessMemory", "mmap": "buf", "offset": -4, "text": "x" } | operations[11].offset: must not be negative, was 0xfffffffffffffffc
        { "op": "writeProcessMemory", "va": "0x1000", "text": "x" } | operations[11].process: is required
        { "op": "checkProcessMemory", "mmap": "buf" } | operations[11].data: is required (hex bytes such as "de ad be ef"), or give text
        { "op": "exit", "process": "ghost" } | operations[11].process: no process named 'ghost' is defined by an earlier operation (process)
        { "op": "enableAux", "device": "00:09.0" } | operations[11].device: no device '00:09.0' in machine.devices
        { "op": "attachAux", "device": "gpu", "domain": "i" } | operations[11].domain: 'i' is not a paging domain
        { "op": "attachAux", "device": "gpu", "domain": "d", "pasidAs": "p1" } | operations[11].pasidAs: PASID name 'p1' is already defined by an earlier operation
        { "op": "detachAux", "device": "gpu" } | operations[11].domain: is required
        { "op": "dma", "device": "gpu", "pasid": "p9", "access": "read", "address": 0, "expect": { "pa": 0 } } | operations[11].pasid: no PASID named 'p9' is recorded by an earlier attachAux, bindSva or allocGuestPasid (pasidAs); names: [p1]
        { "op": "dma", "device": "gpu", "mdev": "mA", "access": "read", "address": 0, "expect": { "pa": 0 } } | operations[11]: give exactly one of "device" or "mdev"
        { "op": "dma", "mdev": "mA", "pasid": 3, "access": "read", "address": 0, "expect": { "pa": 0 } } | operations[11].pasid: an mdev's DMA carries the mdev's own PASID and default attributes; give the parent as "device" to choose them
        { "op": "dma", "mdev": "mZ", "access": "read", "address": 0, "expect": { "pa": 0 } } | operations[11].mdev: no mdev 'mZ' is created by an earlier operation (mdevCreate)
        { "op": "dma", "device": "gpu", "access": "read", "address": 0, "expect": { "pa": 0, "mmap": "buf" } } | operations[11].expect: give exactly one of "pa" (an address) or "mmap" (a name given by mmap's "as", with an optional "offset")
        { "op": "dma", "device": "gpu", "access": "read", "address": 0, "expect": { "offset": 8, "fault": "BLOCKED" } } | operations[11].expect.offset: goes with "mmap"
        { "op": "mdevParent", "device": "00:04.0", "types": [] } | operations[11].types: must list at least one mdev type
        { "op": "mdevParent", "device": "00:04.0", "types": [ { "name": "t", "deviceApi": "x", "maxInstances": 1 }, { "name": "t", "deviceApi": "x", "maxInstances": 1 } ] } | operations[11].types[1].name: type 't' is listed twice
        { "op": "mdevParent", "device": "00:04.0", "types": [ { "name": "t", "maxInstances": 1 } ] } | operations[11].types[0].deviceApi: is required
        { "op": "mdevParent", "device": "00:04.0", "types": [ { "name": "t", "deviceApi": "x", "maxInstances": -1 } ] } | operations[11].types[0].maxInstances: must be in 0..2147483647, was -1
        { "op": "mdevParent", "device": "00:04.0", "types": [ { "name": "t", "deviceApi": "x", "maxInstances": 1, "colour": 1 } ] } | operations[11].types[0].colour: unknown field; known here: [deviceApi, maxInstances, name]
        { "op": "mdevParent", "device": "gpu", "types": [ { "name": "t", "deviceApi": "x", "maxInstances": 1 } ] } | operations[11].device: device 0000:00:03.0 is already an mdev parent
        { "op": "mdevCreate", "parent": "00:04.0", "uuid": "b0000000-0000-4000-8000-00000000000b", "type": "t" } | operations[11].parent: no mdev parent '00:04.0' is registered by an earlier operation (mdevParent)
        { "op": "mdevCreate", "parent": "gpu", "uuid": "not-a-uuid", "type": "t" } | operations[11].uuid: must be a UUID such as "c0ffee00-0000-4000-8000-000000000001", was "not-a-uuid"
        { "op": "mdevCreate", "parent": "gpu", "uuid": "a0000000-0000-4000-8000-00000000000a", "type": "t" } | operations[11].uuid: an mdev a0000000-0000-4000-8000-00000000000a is already created by an earlier operation
        { "op": "mdevCreate", "parent": "gpu", "uuid": "b0000000-0000-4000-8000-00000000000b", "type": "u" } | operations[11].type: parent 0000:00:03.0 has no mdev type 'u'; types: [t]
        { "op": "mdevCreate", "parent": "gpu", "uuid": "b0000000-0000-4000-8000-00000000000b", "type": "t", "name": "gpu" } | operations[11].name: 'gpu' already names an mdev or a device, or looks like a requester id
        { "op": "mdevRemove", "mdev": "b0000000-0000-4000-8000-00000000000b" } | operations[11].mdev: no mdev 'b0000000-0000-4000-8000-00000000000b' is created by an earlier operation (mdevCreate)
        { "op": "container", "name": "c2", "owner": "qemu" } | operations[11].owner: no process named 'qemu' is defined by an earlier operation (process)
        { "op": "container", "name": "c", "owner": "vmm" } | operations[11].name: container 'c' is already defined by an earlier operation
        { "op": "containerAttach", "container": "x", "mdev": "mA" } | operations[11].container: no container named 'x' is defined by an earlier operation (container)
        { "op": "containerAttach", "container": "c", "mdev": "mA", "device": "gpu" } | operations[11]: give exactly one of "device" (a whole PCI device) or "mdev"
        { "op": "containerDetach", "container": "c" } | operations[11]: give exactly one of "device" (a whole PCI device) or "mdev"
        { "op": "mapDma", "container": "c", "mmap": "theirs", "iova": 0, "size": "4K", "perms": "rw" } | operations[11].mmap: 'theirs' is memory of process 'other', but container 'c' is owned by 'vmm'
        { "op": "mapDma", "container": "c", "iova": 0, "size": "4K", "perms": "rw" } | operations[11]: give exactly one of "vaddr" (an address) or "mmap" (a name given by mmap's "as", with an optional "offset")
        { "op": "mapDma", "container": "c", "mmap": "buf", "iova": 0, "size": "4K" } | operations[11].perms: is required
        { "op": "unmapDma", "container": "c", "iova": 0, "size": 0 } | operations[11].size: must be positive, was 0x0
        { "op": "containerInfo", "container": "c", "pageSizes": "4K,3K" } | operations[11].pageSizes: must be powers of two from 4K, such as "4K,2M,1G", was "4K,3K"
        { "op": "containerInfo", "container": "c", "iovaRanges": [ { "start": 8, "end": 4 } ] } | operations[11].iovaRanges[0].end: must not be below start 0x8, was 0x4
        { "op": "containerInfo", "container": "c", "iovaRanges": {} } | operations[11].iovaRanges: must be a JSON array, was {}
        { "op": "containerInfo", "container": "c", "pasidBits": 21 } | operations[11].pasidBits: must be in 0..20, was 21
        { "op": "containerInfo", "container": "c", "pasidSupport": "yes" } | operations[11].pasidSupport: must be true or false, was "yes"
        { "op": "containerClose" } | operations[11].container: is required
        { "op": "check" } | operations[11]: checks nothing; give pasidsInUse, tablePagesInUse, processPagesInUse, process with lockedBytes or alive, device with auxDomains or pendingPageRequests, parent and type with availableInstances, container with guestPasids, or save
        { "op": "check", "lockedBytes": "4K" } | operations[11].lockedBytes: needs "process"
        { "op": "check", "process": "vmm" } | operations[11].process: goes with "lockedBytes" or "alive"
        { "op": "check", "pasidsInUse": "before" } | operations[11].pasidsInUse: no snapshot named 'before' is saved by an earlier check ("save"); snapshots: [s0]
        { "op": "check", "pasidsInUse": -1 } | operations[11].pasidsInUse: must not be negative, was -1
        { "op": "check", "save": "s0" } | operations[11].save: snapshot name 's0' is already defined by an earlier operation
        { "op": "check", "parent": "gpu", "availableInstances": 1 } | operations[11].type: is required
        { "op": "check", "auxDomains": 1 } | operations[11].device: is required
        { "op": "check", "pasidsInUse": 1, "colour": 2 } | `operations[11].colour: unknown field; known here: [alive, auxDomains, availableInstances, comment, container, device, expectError, guestPasids, lockedBytes, op, parent, pasidsInUse, pendingPageRequests, process, processPagesInUse, save, tablePagesInUse, type]`
        """)
    void refusesBadOperationsNamingPathAndRule(String operation, String message) {
        assertThatThrownBy(() -> ScenarioParser.parse(scenario(operation)))
                .isInstanceOf(InvalidScenarioException.class)
                .hasMessage(message);
    }

    @Test
    void refusesAnUnknownCpu() {
        assertThatThrownBy(() -> ScenarioParser.parse(scenario().replace("\"units\":", "\"cpu\": \"riscv\", \"units\":")))
                .isInstanceOf(InvalidScenarioException.class)
                .hasMessage("machine.cpu: must be \"aarch64\" or \"x86_64\", was \"riscv\"");
    }
}
