package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.cli.scenario.Operation.BindSva;
import dev.iommukit.cli.scenario.Operation.Dma;
import dev.iommukit.cli.scenario.Operation.UnbindSva;
import dev.iommukit.cli.scenario.Operation.VirtualAddress;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.error.ErrorCode;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The parser for {@code bindSva}, {@code unbindSva} and DMA at a process's virtual address: what it builds and what it refuses. */
class SvaParserTest {
    private static final String MACHINE = """
            "machine": {
              "ram": [ { "base": "0x80000000", "size": "1G" } ],
              "units": [ { "name": "smmu0", "backend": "smmuv3" } ],
              "devices": [ { "name": "gpu", "unit": "smmu0", "rid": "00:03.0", "pasidBits": 20 }, { "unit": "smmu0", "rid": "00:04.0", "pasidBits": 20 } ]
            }""";
    /** Two processes, a mapping of the first, and its binding to gpu recorded as {@code pS}. */
    private static final String SETUP = """
            { "op": "process", "name": "app" },
            { "op": "process", "name": "other" },
            { "op": "mmap", "process": "app", "size": "8K", "perms": "rw", "as": "buf" },
            { "op": "bindSva", "device": "gpu", "process": "app", "pasidAs": "pS" }""";
    private static final int SETUP_STEPS = 4;

    private static String scenario(String... operations) {
        return "{ " + MACHINE + ",\n \"operations\": [\n" + SETUP + (operations.length > 0 ? ",\n" : "")
                + String.join(",\n", operations) + "\n] }";
    }

    private static List<Step> parse(String... operations) {
        return ScenarioParser.parse(scenario(operations)).steps().stream().skip(SETUP_STEPS).toList();
    }

    @Test
    void parsesBindAndUnbind() {
        assertThat(ScenarioParser.parse(scenario()).steps().get(3).operation())
                .isEqualTo(new BindSva("0000:00:03.0", "app", "pS"));
        List<Step> steps = parse(
                "{ \"op\": \"bindSva\", \"device\": \"00:04.0\", \"process\": \"app\" }",
                "{ \"op\": \"bindSva\", \"device\": \"gpu\", \"process\": \"other\", \"pasidAs\": \"pO\", \"expectError\": \"CLOSED\" }",
                "{ \"op\": \"unbindSva\", \"device\": \"0000:00:03.0\", \"process\": \"other\", \"comment\": \"c\" }");
        assertThat(steps.get(0).operation()).as("pasidAs is optional").isEqualTo(new BindSva("0000:00:04.0", "app", null));
        assertThat(steps.get(1).operation()).isEqualTo(new BindSva("0000:00:03.0", "other", "pO"));
        assertThat(steps.get(1).expectError()).isEqualTo(ErrorCode.CLOSED);
        assertThat(steps.get(2).operation()).isEqualTo(new UnbindSva("0000:00:03.0", "other"));
        assertThat(steps.get(2).operation().op()).isEqualTo("unbindSva");
        assertThat(steps.get(0).operation().op()).isEqualTo("bindSva");
    }

    @Test
    void aDmaUsesTheBoundPasidByNameAndAProcessAddressByMapping() {
        List<Step> steps = parse(
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"pS\", \"access\": \"read\", \"mmap\": \"buf\", \"offset\": \"0x10\","
                        + " \"length\": 4, \"expect\": { \"mmap\": \"buf\", \"offset\": \"0x10\" } }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"pS\", \"access\": \"write\", \"mmap\": \"buf\", \"data\": \"01\","
                        + " \"expect\": { \"fault\": \"PERMISSION\" } }",
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"access\": \"read\", \"address\": \"0x7f00_0000_0000\", \"expect\": { \"fault\": \"BLOCKED\" } }");
        Dma read = (Dma) steps.get(0).operation();
        assertThat(read.pasidName()).isEqualTo("pS");
        assertThat(read.pasid()).isEqualTo(Pasid.NONE);
        assertThat(read.address()).isEqualTo(new VirtualAddress("buf", 0x10));
        assertThat(read.length()).isEqualTo(4);
        assertThat(read.expect().va()).isEqualTo(new VirtualAddress("buf", 0x10));
        assertThat(((Dma) steps.get(1).operation()).address()).as("offset defaults to 0").isEqualTo(new VirtualAddress("buf", 0));
        assertThat(((Dma) steps.get(2).operation()).address()).isEqualTo(new VirtualAddress(null, 0x7f00_0000_0000L));
        assertThat(((Dma) steps.get(2).operation()).pasidName()).isNull();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', textBlock = """
        { "op": "bindSva", "process": "app" } | operations[4].device: is required
        { "op": "bindSva", "device": "00:09.0", "process": "app" } | operations[4].device: no device '00:09.0' in machine.devices
        { "op": "bindSva", "device": "gpu" } | operations[4].process: is required
        { "op": "bindSva", "device": "gpu", "process": "ghost" } | operations[4].process: no process named 'ghost' is defined by an earlier operation (process)
        { "op": "bindSva", "device": "gpu", "process": 7 } | operations[4].process: must be a non-empty string, was 7
        { "op": "bindSva", "device": "gpu", "process": "other", "pasidAs": "pS" } | operations[4].pasidAs: PASID name 'pS' is already defined by an earlier operation
        { "op": "bindSva", "device": "gpu", "process": "other", "pasidAs": "0x5" } | operations[4].pasidAs: '0x5' reads as a number; choose a name that does not
        { "op": "bindSva", "device": "gpu", "process": "other", "pasidAs": "" } | operations[4].pasidAs: must be a non-empty string, was ""
        { "op": "bindSva", "device": "gpu", "process": "other", "pasid": 3 } | `operations[4].pasid: unknown field; known here: [comment, device, expectError, op, pasidAs, process]`
        { "op": "unbindSva", "device": "gpu" } | operations[4].process: is required
        { "op": "unbindSva", "process": "app" } | operations[4].device: is required
        { "op": "unbindSva", "device": "gpu", "process": "nobody" } | operations[4].process: no process named 'nobody' is defined by an earlier operation (process)
        { "op": "unbindSva", "device": "gpu", "process": "app", "pasidAs": "x" } | `operations[4].pasidAs: unknown field; known here: [comment, device, expectError, op, process]`
        { "op": "unbindSva", "device": "gpu", "process": "app", "expectError": "GONE" } | operations[4].expectError: must be one of [INVALID_ARGUMENT, NOT_SUPPORTED, BUSY, CONFLICT, NOT_FOUND, CLOSED, RESOURCE_EXHAUSTED, INTERNAL], was "GONE"
        { "op": "dma", "device": "gpu", "pasid": "pX", "access": "read", "mmap": "buf", "expect": { "fault": "BLOCKED" } } | operations[4].pasid: no PASID named 'pX' is recorded by an earlier attachAux, bindSva or allocGuestPasid (pasidAs); names: [pS]
        { "op": "dma", "device": "gpu", "pasid": "pS", "access": "read", "expect": { "fault": "BLOCKED" } } | operations[4]: give exactly one of "address" (an address) or "mmap" (a name given by mmap's "as", with an optional "offset")
        { "op": "dma", "device": "gpu", "pasid": "pS", "access": "read", "address": 0, "mmap": "buf", "expect": { "fault": "BLOCKED" } } | operations[4]: give exactly one of "address" (an address) or "mmap" (a name given by mmap's "as", with an optional "offset")
        { "op": "dma", "device": "gpu", "pasid": "pS", "access": "read", "address": 0, "offset": 8, "expect": { "fault": "BLOCKED" } } | operations[4].offset: goes with "mmap"; with "address" write the whole address
        { "op": "dma", "device": "gpu", "pasid": "pS", "access": "read", "mmap": "nope", "expect": { "fault": "BLOCKED" } } | operations[4].mmap: no mapping named 'nope' is defined by an earlier mmap ("as")
        { "op": "dma", "device": "gpu", "pasid": "pS", "access": "read", "mmap": "buf", "offset": -4, "expect": { "fault": "BLOCKED" } } | operations[4].offset: must not be negative, was 0xfffffffffffffffc
        { "op": "dma", "device": "gpu", "pasid": "pS", "access": "read", "mmap": "buf", "offset": "four", "expect": { "fault": "BLOCKED" } } | operations[4].offset: must be a JSON integer, a "0x..." hexadecimal string or a size like "2M", was "four"
        { "op": "dma", "device": "gpu", "pasid": "pS", "access": "read", "mmap": 5, "expect": { "fault": "BLOCKED" } } | operations[4].mmap: must be a non-empty string, was 5
        """)
    void refusesBadOperationsNamingPathAndRule(String operation, String message) {
        assertThatThrownBy(() -> ScenarioParser.parse(scenario(operation)))
                .isInstanceOf(InvalidScenarioException.class)
                .hasMessage(message);
    }

    @Test
    void aPasidNameOfALaterBindIsNotYetDefined() {
        assertThatThrownBy(() -> ScenarioParser.parse(scenario(
                "{ \"op\": \"dma\", \"device\": \"gpu\", \"pasid\": \"pLater\", \"access\": \"read\", \"mmap\": \"buf\", \"expect\": { \"fault\": \"BLOCKED\" } }",
                "{ \"op\": \"bindSva\", \"device\": \"00:04.0\", \"process\": \"app\", \"pasidAs\": \"pLater\" }")))
                .isInstanceOf(InvalidScenarioException.class)
                .hasMessage("operations[4].pasid: no PASID named 'pLater' is recorded by an earlier attachAux, bindSva or allocGuestPasid (pasidAs); names: [pS]");
    }
}
