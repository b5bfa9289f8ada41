package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.cli.scenario.Operation.Attach;
import dev.iommukit.cli.scenario.Operation.AttachPasid;
import dev.iommukit.cli.scenario.Operation.CreatePagingDomain;
import dev.iommukit.cli.scenario.Operation.Dma;
import dev.iommukit.cli.scenario.Operation.MapRange;
import dev.iommukit.cli.scenario.Operation.UnitDomain;
import dev.iommukit.cli.scenario.Operation.UnmapRange;
import dev.iommukit.cli.scenario.Operation.WriteMemory;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.fault.FaultReason;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ScenarioParserTest {
    /** A valid machine; the operations are spliced in. */
    private static final String MACHINE = """
            "machine": {
              "ram": [ { "base": "0x80000000", "size": "1G" } ],
              "units": [ { "name": "u0", "backend": "fake" } ],
              "devices": [ { "name": "nic", "unit": "u0", "rid": "00:03.0", "pasidBits": 8 }, { "unit": "u0", "rid": 32 } ]
            }""";

    static String scenario(String... operations) {
        return "{ " + MACHINE + ",\n \"operations\": [\n" + String.join(",\n", operations) + "\n] }";
    }

    static Scenario fakePaging() throws IOException {
        try (InputStream in = ScenarioParserTest.class.getResourceAsStream("/scenarios/fake-paging.json")) {
            return ScenarioParser.parse(in);
        }
    }

    @Test
    void parsesTheMachine() throws IOException {
        Scenario s = fakePaging();
        assertThat(s.name()).isEqualTo("fake-paging");
        assertThat(s.description()).startsWith("two devices");
        MachineSpec m = s.machine();
        assertThat(m.ram()).containsExactly(new MachineSpec.Ram(0x8000_0000L, 1L << 30));
        assertThat(m.tablePool()).isEqualTo(new MachineSpec.Ram(0x0400_0000L, 64L << 20));
        assertThat(m.units()).containsExactly(new MachineSpec.UnitSpec("iommu0", "fake", Map.of("pasidBits", "8")));
        assertThat(m.devices()).containsExactly(
                new MachineSpec.DeviceSpec("nic", "iommu0", RequesterId.parse("00:03.0"), 8),
                new MachineSpec.DeviceSpec(null, "iommu0", RequesterId.of(0x20), 8),
                new MachineSpec.DeviceSpec(null, "iommu0", RequesterId.parse("00:05.0"), 0));
    }

    @Test
    void parsesEveryKindOfOperation() throws IOException {
        List<Step> steps = fakePaging().steps();
        assertThat(steps).hasSize(23);
        assertThat(steps.get(0).operation()).isEqualTo(new CreatePagingDomain("a", "iommu0", false));
        assertThat(steps.get(1).operation()).as("unit defaults to the only one").isEqualTo(new CreatePagingDomain("b", "iommu0", false));
        assertThat(steps.get(2).operation()).isEqualTo(new UnitDomain(DomainType.IDENTITY, "id", "iommu0"));
        assertThat(steps.get(4).operation()).isEqualTo(new MapRange("a", 0x20_0000, 0x8020_0000L, 2L << 20, Permissions.READ));
        assertThat(steps.get(6).operation()).as("device alias resolves to the canonical name")
                .isEqualTo(new Attach("0000:00:03.0", "a", false));
        assertThat(steps.get(8).operation()).isEqualTo(new AttachPasid("0000:00:04.0", 5, "id", false));
        assertThat(((WriteMemory) steps.get(9).operation()).data()).isEqualTo("hello".getBytes(StandardCharsets.UTF_8));
        Dma read = (Dma) steps.get(10).operation();
        assertThat(read.access()).isEqualTo(AccessType.READ);
        assertThat(read.pasid()).isEqualTo(Pasid.NONE);
        assertThat(read.length()).as("length comes from the expected data").isEqualTo(5);
        assertThat(read.expect().pa()).isEqualTo(0x8000_0010L);
        Dma translateOnly = (Dma) steps.get(11).operation();
        assertThat(translateOnly.transfers()).isFalse();
        Dma fault = (Dma) steps.get(12).operation();
        assertThat(fault.expect().fault()).isEqualTo(FaultReason.PERMISSION);
        assertThat(fault.expect().vendor()).isEqualTo("FAKE_PERMISSION");
        Dma write = (Dma) steps.get(14).operation();
        assertThat(write.data()).containsExactly(0xde, 0xad, 0xbe, 0xef);
        assertThat(write.transfers()).isTrue();
        assertThat(((Dma) steps.get(16).operation()).pasid()).isEqualTo(5);
        assertThat(steps.get(18).expectError()).isEqualTo(ErrorCode.CONFLICT);
        assertThat(steps.get(18).comment()).isEqualTo("overlap");
        assertThat(steps.get(18).path()).isEqualTo("operations[18]");
        assertThat(steps.get(19).operation()).isEqualTo(new UnmapRange("a", 0x20_1000, 0x1000, 0x1000L));
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        # operation                                                                                             | message
        { "op": "pagingDomain", "name": "a" }, { "op": "map", "domain": "a", "iova": 0, "pa": "0x80000000", "size": "abc", "perms": "rw" } | operations[1].size: must be a JSON integer, a "0x..." hexadecimal string or a size like "2M", was "abc"
        { "op": "pagingDomain", "name": "a" }, { "op": "map", "domain": "a", "iova": 0, "pa": 0, "size": 0, "perms": "rw" } | operations[1].size: must be positive, was 0x0
        { "op": "pagingDomain", "name": "a" }, { "op": "map", "domain": "a", "iova": 0, "pa": 0, "size": "4K", "perms": "x" } | operations[1].perms: must be letters r, w, x with at least r or w, such as "rw", was "x"
        { "op": "pagingDomain", "name": "a" }, { "op": "map", "domain": "a", "iova": 0, "pa": 0, "size": "4K" } | operations[1].perms: is required
        { "op": "map", "domain": "nope", "iova": 0, "pa": 0, "size": "4K", "perms": "rw" } | operations[0].domain: no domain named 'nope' is defined by an earlier operation (pagingDomain, identityDomain, blockedDomain)
        { "op": "identityDomain", "name": "i" }, { "op": "map", "domain": "i", "iova": 0, "pa": 0, "size": "4K", "perms": "rw" } | operations[1].domain: 'i' is not a paging domain
        { "op": "pagingDomain", "name": "a" }, { "op": "pagingDomain", "name": "a" } | operations[1].name: domain 'a' is already defined by an earlier operation
        { "op": "pagingDomain", "name": "a", "unit": "u9" } | operations[0].unit: no unit named 'u9'; units: [u0]
        { "op": "frobnicate" } | `operations[0].op: unknown operation "frobnicate"; known: pagingDomain, identityDomain, blockedDomain, map, unmap, attach, replace, detach, attachPasid, replacePasid, detachPasid, close, writeMemory, checkMemory, dma, process, mmap, munmap, writeProcessMemory, checkProcessMemory, exit, enableAux, disableAux, attachAux, detachAux, bindSva, unbindSva, mdevParent, mdevCreate, mdevRemove, container, containerAttach, containerDetach, mapDma, unmapDma, containerInfo, containerClose, mmapLazy, enablePageRequests, disablePageRequests, pageRequestHandler, removePageRequestHandler, guestPasidQuota, guest, guestPageTable, guestMap, guestUnmap, guestWriteMemory, guestCheckMemory, guestContextTable, writeContextDescriptor, clearContextDescriptor, allocGuestPasid, freeGuestPasid, bindGuestPasid, unbindGuestPasid, attachPasidTable, detachPasidTable, guestInvalidate, check`
        { "op": "pagingDomain", "name": "a", "colour": "red" } | operations[0].colour: unknown field; known here: [comment, expectError, name, nestingParent, op, unit]
        { "op": "detach", "device": "00:09.0" } | operations[0].device: no device '00:09.0' in machine.devices
        { "op": "detach", "device": "nic", "expectError": "OOPS" } | operations[0].expectError: must be one of [INVALID_ARGUMENT, NOT_SUPPORTED, BUSY, CONFLICT, NOT_FOUND, CLOSED, RESOURCE_EXHAUSTED, INTERNAL], was "OOPS"
        { "op": "detachPasid", "device": "nic", "pasid": 1048576 } | operations[0].pasid: must be in 0..1048575, was 1048576
        { "op": "dma", "device": "nic", "access": "fetch", "address": 0, "expect": { "pa": 0 } } | operations[0].access: must be "read" or "write", was "fetch"
        { "op": "dma", "device": "nic", "access": "read", "address": 0 } | operations[0].expect: is required
        { "op": "dma", "device": "nic", "access": "read", "address": 0, "expect": { } } | operations[0].expect: must give exactly one of "pa" (the request succeeds), "mmap" (it reaches that process memory), "guest" with "gpa" (it reaches that guest-physical page) or "fault"
        { "op": "dma", "device": "nic", "access": "read", "address": 0, "expect": { "pa": 0, "fault": "BLOCKED" } } | operations[0].expect: must give exactly one of "pa" (the request succeeds), "mmap" (it reaches that process memory), "guest" with "gpa" (it reaches that guest-physical page) or "fault"
        { "op": "dma", "device": "nic", "access": "read", "address": 0, "expect": { "fault": "SAD" } } | operations[0].expect.fault: must be one of [BLOCKED, UNKNOWN_REQUESTER, NOT_MAPPED, PERMISSION, ACCESS_FLAG, ADDRESS_SIZE, BAD_CONFIGURATION, EXTERNAL_ABORT, UNSUPPORTED_REQUEST], was "SAD"
        { "op": "dma", "device": "nic", "access": "read", "address": 0, "expect": { "pa": 0, "vendor": "F_TRANSLATION" } } | operations[0].expect.vendor: names the architectural fault and goes with "fault"
        { "op": "dma", "device": "nic", "access": "write", "address": 0, "length": 4, "expect": { "pa": 0 } } | operations[0].length: is for reads; a write moves its data or text
        { "op": "dma", "device": "nic", "access": "read", "address": 0, "data": "00", "expect": { "pa": 0 } } | operations[0].data: is for writes; a read gives length or expect.data
        { "op": "dma", "device": "nic", "access": "read", "address": 0, "length": 3, "expect": { "pa": 0, "data": "0102" } } | operations[0].length: must equal the 2 bytes of expect.data, was 3
        { "op": "writeMemory", "pa": 0, "data": "abc" } | operations[0].data: must be whole bytes in hexadecimal such as "de ad be ef"
        { "op": "writeMemory", "pa": 0 } | operations[0].data: is required (hex bytes such as "de ad be ef"), or give text
        { "op": "writeMemory", "pa": 0, "data": "00", "text": "x" } | operations[0].text: give either data (hex bytes) or text, not both
        { "op": "pagingDomain", "name": "a", "nestingParent": "yes" } | operations[0].nestingParent: must be true or false, was "yes"
        "map" | operations[0]: must be a JSON object, was "map"
        """)
    void refusesBadOperationsNamingPathAndRule(String operations, String message) {
        assertThatThrownBy(() -> ScenarioParser.parse(scenario(operations)))
                .isInstanceOf(InvalidScenarioException.class)
                .hasMessage(message);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        { "operations": [] } | machine: is required
        { "machine": { "ram": [], "units": [] }, "operations": [] } | machine.ram: must list at least one RAM region
        { "machine": { "ram": [ { "base": "0x1234", "size": "4K" } ], "units": [] }, "operations": [] } | machine.ram[0].base: must be 4 KiB aligned, was 0x1234
        { "machine": { "ram": [ { "base": 0, "size": 100 } ], "units": [] }, "operations": [] } | machine.ram[0].size: must be a positive multiple of 4 KiB, was 0x64
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [] }, "operations": [] } | machine.units: must list at least one unit
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [ { "name": "u", "backend": "b" }, { "name": "u", "backend": "b" } ] }, "operations": [] } | machine.units[1].name: unit 'u' is defined twice
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [ { "name": "u", "backend": "b", "options": { "x": [1] } } ] }, "operations": [] } | machine.units[0].options.x: must be a string, number or boolean, was [1]
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [ { "name": "u", "backend": "b" } ], "devices": [ { "unit": "v", "rid": "00:03.0" } ] }, "operations": [] } | machine.devices[0].unit: no unit named 'v'; units: [u]
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [ { "name": "u", "backend": "b" } ], "devices": [ { "unit": "u", "rid": "00:03.9" } ] }, "operations": [] } | machine.devices[0].rid: must be a requester id like "00:03.0" or 0x18 (function: must be in 0..7, was 9)
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [ { "name": "u", "backend": "b" } ], "devices": [ { "unit": "u", "rid": "0x10000" } ] }, "operations": [] } | machine.devices[0].rid: must be a requester id like "00:03.0" or 0x18, was "0x10000"
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [ { "name": "u", "backend": "b" } ], "devices": [ { "unit": "u", "rid": 24 }, { "unit": "u", "rid": "00:03.0" } ] }, "operations": [] } | machine.devices[1].rid: device 0000:00:03.0 is defined twice
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [ { "name": "u", "backend": "b" } ], "devices": [ { "unit": "u", "rid": 24, "pasidBits": 21 } ] }, "operations": [] } | machine.devices[0].pasidBits: must be in 0..20, was 21
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [ { "name": "u", "backend": "b" } ] } } | operations: is required
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [ { "name": "u", "backend": "b" } ] }, "operations": {} } | operations: must be a JSON array, was {}
        { "machine": { "ram": [ { "base": 0, "size": "4K" } ], "units": [ { "name": "u", "backend": "b" } ] }, "operations": [], "extra": 1 } | extra: unknown field; known here: [description, machine, name, operations]
        [] | must be a JSON object, was []
        """)
    void refusesBadDocumentsNamingPathAndRule(String json, String message) {
        assertThatThrownBy(() -> ScenarioParser.parse(json))
                .isInstanceOf(InvalidScenarioException.class)
                .hasMessage(message);
    }

    @Test
    void refusesMalformedJsonWithLineAndColumn() {
        assertThatThrownBy(() -> ScenarioParser.parse("{\n  \"machine\": ,\n}"))
                .isInstanceOf(InvalidScenarioException.class)
                .hasMessageStartingWith("not valid JSON at line 2, column");
        assertThatThrownBy(() -> ScenarioParser.parse("{ \"name\": \"a\", \"name\": \"b\" }"))
                .hasMessageContaining("Duplicate field 'name'");
        assertThatThrownBy(() -> ScenarioParser.parse(""))
                .hasMessage("the document is empty; a scenario is a JSON object");
    }

    @Test
    void invalidScenarioExceptionKeepsPathAndRuleApart() {
        InvalidScenarioException e = new InvalidScenarioException("operations[3].size", "must be positive");
        assertThat(e.path()).isEqualTo("operations[3].size");
        assertThat(e.rule()).isEqualTo("must be positive");
        assertThat(e).hasMessage("operations[3].size: must be positive");
    }
}
