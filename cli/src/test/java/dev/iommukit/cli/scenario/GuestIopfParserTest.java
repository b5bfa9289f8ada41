package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.cli.scenario.Operation.AllocGuestPasid;
import dev.iommukit.cli.scenario.Operation.AttachPasidTable;
import dev.iommukit.cli.scenario.Operation.ContextDescriptor;
import dev.iommukit.cli.scenario.Operation.DetachPasidTable;
import dev.iommukit.cli.scenario.Operation.Dma;
import dev.iommukit.cli.scenario.Operation.FreeGuestPasid;
import dev.iommukit.cli.scenario.Operation.GuestAddress;
import dev.iommukit.cli.scenario.Operation.GuestBytes;
import dev.iommukit.cli.scenario.Operation.GuestContextTable;
import dev.iommukit.cli.scenario.Operation.GuestInvalidate;
import dev.iommukit.cli.scenario.Operation.GuestMap;
import dev.iommukit.cli.scenario.Operation.GuestPageTable;
import dev.iommukit.cli.scenario.Operation.GuestPasidBinding;
import dev.iommukit.cli.scenario.Operation.GuestPasidQuota;
import dev.iommukit.cli.scenario.Operation.GuestTableFormat;
import dev.iommukit.cli.scenario.Operation.GuestUnmap;
import dev.iommukit.cli.scenario.Operation.HandlerKind;
import dev.iommukit.cli.scenario.Operation.InvalidationSpec;
import dev.iommukit.cli.scenario.Operation.MmapLazy;
import dev.iommukit.cli.scenario.Operation.NewContainer;
import dev.iommukit.cli.scenario.Operation.NewGuest;
import dev.iommukit.cli.scenario.Operation.PageRequestHandlerOp;
import dev.iommukit.cli.scenario.Operation.PageRequests;
import dev.iommukit.cli.scenario.Operation.PasidRef;
import dev.iommukit.cli.scenario.Operation.RemovePageRequestHandler;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation.Cache;
import dev.iommukit.spi.nested.CacheInvalidation.Granularity;
import dev.iommukit.spi.nested.SmmuContextTableConfig.DefaultSubstream;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The parser for lazy memory, page requests, guests and nested binds: what it builds and what it refuses. */
class GuestIopfParserTest {
    private static final String MACHINE = """
            "machine": {
              "ram": [ { "base": "0x80000000", "size": "1G" } ],
              "units": [ { "name": "dmar0", "backend": "vtd" } ],
              "devices": [ { "name": "nic", "unit": "dmar0", "rid": "00:03.0", "pasidBits": 20 },
                           { "name": "gpu", "unit": "dmar0", "rid": "00:04.0", "pasidBits": 20 } ]
            }""";
    /** A VMM, a nesting container, an mdev, a guest with a page table and a CD table, a guest PASID {@code gp}. */
    private static final String SETUP = """
            { "op": "process", "name": "vmm" },
            { "op": "container", "name": "c", "owner": "vmm", "type": "TYPE1_NESTING" },
            { "op": "mdevParent", "device": "gpu", "types": [ { "name": "t", "deviceApi": "vfio-pci", "maxInstances": 1 } ] },
            { "op": "mdevCreate", "parent": "gpu", "uuid": "d0000000-0000-4000-8000-00000000000d", "type": "t", "name": "m" },
            { "op": "guest", "name": "g", "container": "c", "ramSize": "16M" },
            { "op": "guestPageTable", "name": "pt", "guest": "g", "format": "x86_64_4level" },
            { "op": "guestContextTable", "name": "cds", "guest": "g", "cdMaxBits": 3 },
            { "op": "allocGuestPasid", "container": "c", "pasidAs": "gp" }""";
    private static final int SETUP_STEPS = 8;

    private static String scenario(String... operations) {
        return "{ " + MACHINE + ",\n \"operations\": [\n" + SETUP + (operations.length > 0 ? ",\n" : "")
                + String.join(",\n", operations) + "\n] }";
    }

    private static List<Operation> parse(String... operations) {
        return ScenarioParser.parse(scenario(operations)).steps().stream().skip(SETUP_STEPS).map(Step::operation).toList();
    }

    @Test
    void parsesTheSetup() {
        List<Operation> ops = ScenarioParser.parse(scenario()).steps().stream().map(Step::operation).toList();
        assertThat(ops.get(1)).isEqualTo(new NewContainer("c", "vmm", true));
        assertThat(ops.get(4)).isEqualTo(new NewGuest("g", "c", 16L << 20));
        assertThat(ops.get(5)).isEqualTo(new GuestPageTable("pt", "g", GuestTableFormat.X86_64_4LEVEL));
        assertThat(ops.get(6)).isEqualTo(new GuestContextTable("cds", "g", 3));
        assertThat(ops.get(7)).isEqualTo(new AllocGuestPasid("c", "gp"));
        assertThat(parse("{ \"op\": \"container\", \"name\": \"c1\", \"owner\": \"vmm\", \"type\": \"TYPE1\" }",
                "{ \"op\": \"container\", \"name\": \"c2\", \"owner\": \"vmm\" }"))
                .containsExactly(new NewContainer("c1", "vmm", false), new NewContainer("c2", "vmm", false));
    }

    @Test
    void parsesLazyMemoryAndPageRequestOperations() {
        List<Operation> ops = parse(
                "{ \"op\": \"mmapLazy\", \"process\": \"vmm\", \"size\": \"16K\", \"perms\": \"rw\", \"as\": \"lazy\" }",
                "{ \"op\": \"enablePageRequests\", \"device\": \"nic\" }",
                "{ \"op\": \"disablePageRequests\", \"device\": \"00:03.0\" }",
                "{ \"op\": \"pageRequestHandler\", \"device\": \"nic\", \"handler\": \"svaFaultIn\" }",
                "{ \"op\": \"pageRequestHandler\", \"device\": \"gpu\", \"handler\": \"invalidRequest\" }",
                "{ \"op\": \"removePageRequestHandler\", \"device\": \"nic\" }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"gp\", \"access\": \"write\", \"mmap\": \"lazy\", \"text\": \"x\","
                        + " \"expect\": { \"mmap\": \"lazy\", \"pageRequests\": 1 } }",
                "{ \"op\": \"check\", \"device\": \"nic\", \"pendingPageRequests\": 0, \"container\": \"c\", \"guestPasids\": 1 }");
        assertThat(ops.get(0)).isEqualTo(new MmapLazy("vmm", 0x4000, Permissions.READ_WRITE, "lazy"));
        assertThat(ops.get(1)).isEqualTo(new PageRequests("0000:00:03.0", true));
        assertThat(ops.get(2)).isEqualTo(new PageRequests("0000:00:03.0", false));
        assertThat(ops.get(2).op()).isEqualTo("disablePageRequests");
        assertThat(ops.get(3)).isEqualTo(new PageRequestHandlerOp("0000:00:03.0", HandlerKind.SVA_FAULT_IN));
        assertThat(ops.get(4)).isEqualTo(new PageRequestHandlerOp("0000:00:04.0", HandlerKind.INVALID_REQUEST));
        assertThat(ops.get(5)).isEqualTo(new RemovePageRequestHandler("0000:00:03.0"));
        Dma dma = (Dma) ops.get(6);
        assertThat(dma.pasidName()).isEqualTo("gp");
        assertThat(dma.expect().pageRequests()).isEqualTo(1);
        assertThat(dma.expect().va()).isEqualTo(new Operation.VirtualAddress("lazy", 0));
        Operation.Check check = (Operation.Check) ops.get(7);
        assertThat(check.pendingPageRequests()).isZero();
        assertThat(check.auxDomains()).isNull();
        assertThat(check.container()).isEqualTo("c");
        assertThat(check.guestPasids()).isEqualTo(1);
    }

    @Test
    void parsesGuestOperations() {
        List<Operation> ops = parse(
                "{ \"op\": \"guestPasidQuota\", \"owner\": \"vmm\", \"quota\": 4 }",
                "{ \"op\": \"guestMap\", \"table\": \"pt\", \"va\": \"0x40_0000\", \"gpa\": \"0x10_0000\", \"size\": \"8K\", \"perms\": \"r\" }",
                "{ \"op\": \"guestUnmap\", \"table\": \"pt\", \"va\": \"0x40_0000\", \"size\": \"4K\" }",
                "{ \"op\": \"guestWriteMemory\", \"guest\": \"g\", \"gpa\": \"0x10_0000\", \"data\": \"ab cd\" }",
                "{ \"op\": \"guestCheckMemory\", \"guest\": \"g\", \"gpa\": \"0x10_0000\", \"text\": \"hi\" }",
                "{ \"op\": \"writeContextDescriptor\", \"contextTable\": \"cds\", \"ssid\": 1, \"table\": \"pt\", \"asid\": 9 }",
                "{ \"op\": \"clearContextDescriptor\", \"contextTable\": \"cds\", \"ssid\": 1 }",
                "{ \"op\": \"bindGuestPasid\", \"container\": \"c\", \"device\": \"nic\", \"pasid\": \"gp\", \"table\": \"pt\", \"flags\": [\"SRE\", \"WPE\"] }",
                "{ \"op\": \"bindGuestPasid\", \"container\": \"c\", \"mdev\": \"m\", \"pasid\": 7, \"table\": \"pt\", \"addressWidth\": 57 }",
                "{ \"op\": \"unbindGuestPasid\", \"container\": \"c\", \"mdev\": \"m\", \"pasid\": \"gp\" }",
                "{ \"op\": \"freeGuestPasid\", \"container\": \"c\", \"pasid\": \"gp\" }",
                "{ \"op\": \"attachPasidTable\", \"container\": \"c\", \"device\": \"nic\", \"contextTable\": \"cds\" }",
                "{ \"op\": \"attachPasidTable\", \"container\": \"c\", \"device\": \"gpu\", \"contextTable\": \"cds\", \"defaultSubstream\": \"BYPASS\" }",
                "{ \"op\": \"detachPasidTable\", \"container\": \"c\", \"device\": \"nic\" }",
                "{ \"op\": \"guestInvalidate\", \"container\": \"c\", \"device\": \"nic\", \"expectCompleted\": 1, \"batch\": ["
                        + " { \"caches\": [\"IOTLB\", \"PASID\"], \"granularity\": \"PASID\", \"pasid\": \"gp\" },"
                        + " { \"caches\": [\"IOTLB\"], \"granularity\": \"ADDRESS\", \"asid\": 3, \"address\": \"0x1000\", \"granuleSize\": \"4K\","
                        + " \"granules\": 2, \"leaf\": true },"
                        + " { \"caches\": [\"DEVICE_IOTLB\"], \"granularity\": \"DOMAIN\" } ] }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"gp\", \"access\": \"read\", \"address\": \"0x40_0000\","
                        + " \"expect\": { \"guest\": \"g\", \"gpa\": \"0x10_0000\" } }",
                "{ \"op\": \"dma\", \"device\": \"nic\", \"pasid\": \"gp\", \"access\": \"read\", \"address\": \"0x40_0000\","
                        + " \"expect\": { \"fault\": \"NOT_MAPPED\", \"stage\": \"STAGE_2\" } }");
        assertThat(ops.get(0)).isEqualTo(new GuestPasidQuota("vmm", 4));
        assertThat(ops.get(1)).isEqualTo(new GuestMap("pt", 0x40_0000, 0x10_0000, 0x2000, Permissions.READ));
        assertThat(ops.get(2)).isEqualTo(new GuestUnmap("pt", 0x40_0000, 0x1000));
        assertThat(((GuestBytes) ops.get(3)).data()).containsExactly(0xab, 0xcd);
        assertThat(((GuestBytes) ops.get(4)).check()).isTrue();
        assertThat(ops.get(5)).isEqualTo(new ContextDescriptor("cds", 1, "pt", 9, false));
        assertThat(ops.get(6)).isEqualTo(new ContextDescriptor("cds", 1, null, 0, true));
        assertThat(ops.get(7)).isEqualTo(new GuestPasidBinding("c", "0000:00:03.0", null, new PasidRef(0, "gp"), "pt", null,
                Set.of(VtdGuestPasidFlag.SRE, VtdGuestPasidFlag.WPE), false));
        assertThat(ops.get(8)).isEqualTo(new GuestPasidBinding("c", null, "m", new PasidRef(7, null), "pt", 57, Set.of(), false));
        assertThat(ops.get(9)).isEqualTo(new GuestPasidBinding("c", null, "m", new PasidRef(0, "gp"), null, null, null, true));
        assertThat(ops.get(10)).isEqualTo(new FreeGuestPasid("c", new PasidRef(0, "gp")));
        assertThat(ops.get(11)).isEqualTo(new AttachPasidTable("c", "0000:00:03.0", "cds", DefaultSubstream.SUBSTREAM_0));
        assertThat(ops.get(12)).isEqualTo(new AttachPasidTable("c", "0000:00:04.0", "cds", DefaultSubstream.BYPASS));
        assertThat(ops.get(13)).isEqualTo(new DetachPasidTable("c", "0000:00:03.0"));
        assertThat(ops.get(14)).isEqualTo(new GuestInvalidate("c", "0000:00:03.0", null, List.of(
                new InvalidationSpec(Set.of(Cache.IOTLB, Cache.PASID), Granularity.PASID, new PasidRef(0, "gp"), -1, 0, 0, 0, false),
                new InvalidationSpec(Set.of(Cache.IOTLB), Granularity.ADDRESS, null, 3, 0x1000, 0x1000, 2, true),
                new InvalidationSpec(Set.of(Cache.DEVICE_IOTLB), Granularity.DOMAIN, null, -1, 0, 0, 0, false)), 1));
        assertThat(((Dma) ops.get(15)).expect().gpa()).isEqualTo(new GuestAddress("g", 0x10_0000));
        assertThat(((Dma) ops.get(16)).expect().fault()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(((Dma) ops.get(16)).expect().stage()).isEqualTo(FaultStage.STAGE_2);
        assertThat(((Dma) ops.get(16)).pasid()).isEqualTo(Pasid.NONE);
        assertThat(UUID.fromString("d0000000-0000-4000-8000-00000000000d")).isNotNull();
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', textBlock = """
        { "op": "container", "name": "c9", "owner": "vmm", "type": "NESTED" } | operations[8].type: must be "TYPE1" or "TYPE1_NESTING", was "NESTED"
        { "op": "guest", "name": "g2", "container": "nope", "ramSize": "1M" } | operations[8].container: no container named 'nope' is defined by an earlier operation (container)
        { "op": "guestPageTable", "name": "pt2", "guest": "g", "format": "arm" } | operations[8].format: must be "x86_64_4level", "x86_64_5level" or "aarch64_4k_48bit", was "arm"
        { "op": "guestPageTable", "name": "cds", "guest": "g", "format": "x86_64_4level" } | operations[8].name: guest table 'cds' is already defined by an earlier operation
        { "op": "guestMap", "table": "cds", "va": 0, "gpa": 0, "size": "4K", "perms": "r" } | operations[8].table: no guest page table named 'cds' is defined by an earlier operation (guestPageTable)
        { "op": "writeContextDescriptor", "contextTable": "pt", "ssid": 1, "table": "pt", "asid": 1 } | operations[8].contextTable: no guest CD table named 'pt' is defined by an earlier operation (guestContextTable)
        { "op": "bindGuestPasid", "container": "c", "pasid": "gp", "table": "pt" } | operations[8]: give exactly one of "device" (a whole PCI device) or "mdev"
        { "op": "bindGuestPasid", "container": "c", "device": "nic", "pasid": "gq", "table": "pt" } | operations[8].pasid: no PASID named 'gq' is recorded by an earlier attachAux, bindSva or allocGuestPasid (pasidAs); names: [gp]
        { "op": "bindGuestPasid", "container": "c", "device": "nic", "pasid": "gp", "table": "pt", "flags": ["XYZ"] } | operations[8].flags[0]: must be one of [SRE, EAFE, PCD, PWT, WPE], was "XYZ"
        { "op": "attachPasidTable", "container": "c", "device": "nic", "contextTable": "cds", "defaultSubstream": "CD0" } | operations[8].defaultSubstream: must be one of [TERMINATE, BYPASS, SUBSTREAM_0], was "CD0"
        { "op": "guestInvalidate", "container": "c", "device": "nic", "batch": [ { "caches": [], "granularity": "DOMAIN" } ] } | operations[8].batch[0].caches: must be a non-empty JSON array of "IOTLB", "DEVICE_IOTLB", "PASID"
        { "op": "guestInvalidate", "container": "c", "device": "nic", "batch": [ { "caches": ["TLB"], "granularity": "DOMAIN" } ] } | operations[8].batch[0].caches[0]: must be one of [IOTLB, DEVICE_IOTLB, PASID], was "TLB"
        { "op": "guestInvalidate", "container": "c", "device": "nic", "batch": [ { "caches": ["IOTLB"], "granularity": "DOMAIN", "size": 1 } ] } | operations[8].batch[0].size: unknown field; known here: [address, asid, caches, granularity, granuleSize, granules, leaf, pasid]
        { "op": "guestInvalidate", "container": "c", "device": "nic", "expectCompleted": 2, "batch": [ { "caches": ["IOTLB"], "granularity": "DOMAIN" } ] } | operations[8].expectCompleted: must be in 0..1, was 2
        { "op": "pageRequestHandler", "device": "nic", "handler": "faultIn" } | operations[8].handler: must be "svaFaultIn" or "invalidRequest", was "faultIn"
        { "op": "check", "device": "nic" } | operations[8].device: goes with "auxDomains" or "pendingPageRequests"
        { "op": "dma", "device": "nic", "access": "read", "address": 0, "expect": { "pa": 0, "stage": "STAGE_1" } } | operations[8].expect.stage: names the stage of a fault and goes with "fault"
        { "op": "dma", "device": "nic", "access": "read", "address": 0, "expect": { "fault": "BLOCKED", "stage": "S3" } } | operations[8].expect.stage: must be one of [NONE, STAGE_1, STAGE_2], was "S3"
        { "op": "dma", "device": "nic", "access": "read", "address": 0, "expect": { "guest": "h", "gpa": 0 } } | operations[8].expect.guest: no guest named 'h' is defined by an earlier operation (guest)
        { "op": "dma", "device": "nic", "access": "read", "address": 0, "expect": { "guest": "g", "gpa": 0, "pa": 0 } } | operations[8].expect: must give exactly one of "pa" (the request succeeds), "mmap" (it reaches that process memory), "guest" with "gpa" (it reaches that guest-physical page) or "fault"
        """)
    void refusesBadOperationsNamingPathAndRule(String op, String message) {
        assertThatThrownBy(() -> ScenarioParser.parse(scenario(op))).isInstanceOf(InvalidScenarioException.class).hasMessage(message);
    }
}
