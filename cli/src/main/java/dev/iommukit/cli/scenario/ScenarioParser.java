package dev.iommukit.cli.scenario;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.iommukit.api.CpuArchitecture;
import dev.iommukit.cli.scenario.Operation.Attach;
import dev.iommukit.cli.scenario.Operation.AttachAux;
import dev.iommukit.cli.scenario.Operation.AuxFeature;
import dev.iommukit.cli.scenario.Operation.BindSva;
import dev.iommukit.cli.scenario.Operation.UnbindSva;
import dev.iommukit.cli.scenario.Operation.Check;
import dev.iommukit.cli.scenario.Operation.Counter;
import dev.iommukit.cli.scenario.Operation.DetachAux;
import dev.iommukit.cli.scenario.Operation.Exit;
import dev.iommukit.cli.scenario.Operation.Mmap;
import dev.iommukit.cli.scenario.Operation.Munmap;
import dev.iommukit.cli.scenario.Operation.NewProcess;
import dev.iommukit.cli.scenario.Operation.ProcessBytes;
import dev.iommukit.cli.scenario.Operation.VirtualAddress;
import dev.iommukit.cli.scenario.Operation.ContainerAttach;
import dev.iommukit.cli.scenario.Operation.ContainerClose;
import dev.iommukit.cli.scenario.Operation.ContainerInfo;
import dev.iommukit.cli.scenario.Operation.MapDma;
import dev.iommukit.cli.scenario.Operation.MdevCreate;
import dev.iommukit.cli.scenario.Operation.MdevParent;
import dev.iommukit.cli.scenario.Operation.MdevRemove;
import dev.iommukit.cli.scenario.Operation.MdevTypeDef;
import dev.iommukit.cli.scenario.Operation.NewContainer;
import dev.iommukit.cli.scenario.Operation.UnmapDma;
import dev.iommukit.spi.cap.PageSizes;
import dev.iommukit.cli.scenario.Operation.AttachPasid;
import dev.iommukit.cli.scenario.Operation.CheckMemory;
import dev.iommukit.cli.scenario.Operation.Close;
import dev.iommukit.cli.scenario.Operation.CreatePagingDomain;
import dev.iommukit.cli.scenario.Operation.Detach;
import dev.iommukit.cli.scenario.Operation.DetachPasid;
import dev.iommukit.cli.scenario.Operation.Dma;
import dev.iommukit.cli.scenario.Operation.DmaExpectation;
import dev.iommukit.cli.scenario.Operation.MapRange;
import dev.iommukit.cli.scenario.Operation.UnitDomain;
import dev.iommukit.cli.scenario.Operation.UnmapRange;
import dev.iommukit.cli.scenario.Operation.WriteMemory;
import dev.iommukit.cli.scenario.Operation.AllocGuestPasid;
import dev.iommukit.cli.scenario.Operation.AttachPasidTable;
import dev.iommukit.cli.scenario.Operation.ContextDescriptor;
import dev.iommukit.cli.scenario.Operation.DetachPasidTable;
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
import dev.iommukit.cli.scenario.Operation.NewGuest;
import dev.iommukit.cli.scenario.Operation.PageRequestHandlerOp;
import dev.iommukit.cli.scenario.Operation.PageRequests;
import dev.iommukit.cli.scenario.Operation.PasidRef;
import dev.iommukit.cli.scenario.Operation.RemovePageRequestHandler;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import java.util.EnumSet;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.fault.FaultReason;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;

/**
 * Reads a scenario from JSON and checks it against the format (see {@code docs/scenarios.md}):
 * field types, number forms, unknown fields, and that every name a step uses was defined before
 * it. Rules of the API itself (alignment, apertures, capabilities) are left to the run, where a
 * step may expect them with {@code expectError}. Every error names the JSON path and the rule.
 */
public final class ScenarioParser {
    private static final ObjectMapper MAPPER = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    /** The largest PASID a scenario may name: 20 bits. */
    private static final int MAX_PASID = (1 << Pasid.MAX_WIDTH) - 1;

    private final Map<String, MachineSpec.UnitSpec> units = new LinkedHashMap<>();
    private final Map<String, RequesterId> devices = new HashMap<>();
    /** Domain names defined so far, with whether each is a paging domain. */
    private final Map<String, Boolean> domains = new HashMap<>();
    private final Set<String> processes = new HashSet<>();
    /** Names given by {@code mmap ... as}, with the process each belongs to. */
    private final Map<String, String> mmaps = new HashMap<>();
    /** Names given to PASIDs by {@code attachAux ... pasidAs} and {@code bindSva ... pasidAs}. */
    private final Set<String> pasidNames = new HashSet<>();
    /** Names of snapshots saved by {@code check ... save}. */
    private final Set<String> snapshots = new HashSet<>();
    /** mdev parents by canonical device name, with their type names. */
    private final Map<String, Set<String>> parents = new HashMap<>();
    /** mdevs by alias and by UUID text, each to the name steps print (the alias, else the UUID). */
    private final Map<String, String> mdevs = new HashMap<>();
    /** Containers by name, with the process that owns each. */
    private final Map<String, String> containers = new HashMap<>();
    /** Guests by name, with their containers. */
    private final Map<String, String> guests = new HashMap<>();
    /** Guest page tables by name, with their formats. */
    private final Map<String, GuestTableFormat> guestTables = new HashMap<>();
    /** Guest CD tables by name. */
    private final Set<String> contextTables = new HashSet<>();

    /** Every {@code op} the format knows, in the order the documentation lists them. */
    static final List<String> OPERATIONS = List.of("pagingDomain", "identityDomain", "blockedDomain", "map", "unmap", "attach",
            "replace", "detach", "attachPasid", "replacePasid", "detachPasid", "close", "writeMemory", "checkMemory", "dma",
            "process", "mmap", "munmap", "writeProcessMemory", "checkProcessMemory", "exit", "enableAux", "disableAux",
            "attachAux", "detachAux", "bindSva", "unbindSva", "mdevParent", "mdevCreate", "mdevRemove", "container", "containerAttach",
            "containerDetach", "mapDma", "unmapDma", "containerInfo", "containerClose", "mmapLazy", "enablePageRequests",
            "disablePageRequests", "pageRequestHandler", "removePageRequestHandler", "guestPasidQuota", "guest", "guestPageTable",
            "guestMap", "guestUnmap", "guestWriteMemory", "guestCheckMemory", "guestContextTable", "writeContextDescriptor",
            "clearContextDescriptor", "allocGuestPasid", "freeGuestPasid", "bindGuestPasid", "unbindGuestPasid", "attachPasidTable",
            "detachPasidTable", "guestInvalidate", "check");

    private ScenarioParser() {}

    public static Scenario parse(Path file) throws IOException {
        return parse(Files.readAllBytes(file));
    }

    public static Scenario parse(InputStream in) throws IOException {
        return parse(in.readAllBytes());
    }

    public static Scenario parse(String json) {
        return parse(json.getBytes(StandardCharsets.UTF_8));
    }

    /** Parses and checks {@code json}; {@link InvalidScenarioException} on any broken rule. */
    public static Scenario parse(byte[] json) {
        JsonNode root;
        try {
            root = MAPPER.readTree(json);
        } catch (JsonParseException e) {
            throw new InvalidScenarioException("", "not valid JSON at line " + e.getLocation().getLineNr()
                    + ", column " + e.getLocation().getColumnNr() + ": " + e.getOriginalMessage());
        } catch (JsonProcessingException e) {
            throw new InvalidScenarioException("", "not valid JSON: " + e.getOriginalMessage());
        } catch (IOException e) {
            throw new InvalidScenarioException("", "cannot be read: " + e.getMessage());
        }
        if (root == null || root.isMissingNode()) {
            throw new InvalidScenarioException("", "the document is empty; a scenario is a JSON object");
        }
        return new ScenarioParser().scenario(new Fields(root, ""));
    }

    private Scenario scenario(Fields f) {
        String name = f.optString("name");
        String description = f.optString("description");
        MachineSpec machine = machine(f.object("machine"));
        List<Step> steps = new ArrayList<>();
        List<Fields> ops = f.objects("operations", true);
        for (int i = 0; i < ops.size(); i++) {
            steps.add(step(i, ops.get(i)));
        }
        f.finish();
        return new Scenario(name, description, machine, steps);
    }

    // ------------------------------------------------------------------ machine

    private MachineSpec machine(Fields f) {
        List<MachineSpec.Ram> ram = new ArrayList<>();
        for (Fields r : f.objects("ram", true)) {
            ram.add(range(r));
        }
        if (ram.isEmpty()) {
            throw new InvalidScenarioException(f.path("ram"), "must list at least one RAM region");
        }
        Fields pool = f.optObject("tablePool");
        MachineSpec.Ram tablePool = pool == null ? null : range(pool);
        Fields processPool = f.optObject("processMemory");
        MachineSpec.Ram processMemory = processPool == null ? null : range(processPool);
        CpuArchitecture cpu = null;
        String cpuText = f.optString("cpu");
        if (cpuText != null) {
            cpu = switch (cpuText) {
                case "aarch64" -> CpuArchitecture.AARCH64;
                case "x86_64" -> CpuArchitecture.X86_64;
                default -> throw new InvalidScenarioException(f.path("cpu"), "must be \"aarch64\" or \"x86_64\", was \"" + cpuText + "\"");
            };
        }
        for (Fields u : f.objects("units", true)) {
            String name = u.string("name");
            if (units.containsKey(name)) {
                throw new InvalidScenarioException(u.path("name"), "unit '" + name + "' is defined twice");
            }
            units.put(name, new MachineSpec.UnitSpec(name, u.string("backend"), u.stringMap("options")));
            u.finish();
        }
        if (units.isEmpty()) {
            throw new InvalidScenarioException(f.path("units"), "must list at least one unit");
        }
        List<MachineSpec.DeviceSpec> deviceSpecs = new ArrayList<>();
        for (Fields d : f.objects("devices", false)) {
            RequesterId rid = rid(d, "rid");
            String unit = unitRef(d, "unit");
            String alias = d.optString("name");
            int pasidBits = d.has("pasidBits") ? d.integer("pasidBits", 0, Pasid.MAX_WIDTH) : 0;
            if (devices.containsValue(rid)) {
                throw new InvalidScenarioException(d.path("rid"), "device " + rid + " is defined twice");
            }
            devices.put(rid.toString(), rid);
            if (alias != null) {
                if (devices.containsKey(alias) || parsesAsRid(alias)) {
                    throw new InvalidScenarioException(d.path("name"), "'" + alias
                            + "' is already a device name or looks like a requester id");
                }
                devices.put(alias, rid);
            }
            deviceSpecs.add(new MachineSpec.DeviceSpec(alias, unit, rid, pasidBits));
            d.finish();
        }
        f.finish();
        return new MachineSpec(ram, tablePool, processMemory, cpu, List.copyOf(units.values()), deviceSpecs);
    }

    private static MachineSpec.Ram range(Fields f) {
        long base = f.number("base");
        long size = f.number("size");
        if ((base & 0xFFF) != 0) {
            throw new InvalidScenarioException(f.path("base"), "must be 4 KiB aligned, was " + Numbers.hex(base));
        }
        if (size <= 0 || (size & 0xFFF) != 0) {
            throw new InvalidScenarioException(f.path("size"), "must be a positive multiple of 4 KiB, was " + Numbers.hex(size));
        }
        f.finish();
        return new MachineSpec.Ram(base, size);
    }

    private static RequesterId rid(Fields f, String field) {
        JsonNode v = f.required(field);
        String path = f.path(field);
        try {
            if (v.isTextual() && v.textValue().contains(":")) {
                return RequesterId.parse(v.textValue());
            }
            long value = Numbers.parse(v, path);
            if (value < 0 || value > 0xFFFF) {
                throw new InvalidScenarioException(path, "must be a 16-bit requester id, was " + Numbers.hex(value));
            }
            return RequesterId.of((int) value);
        } catch (IommuException e) {
            throw new InvalidScenarioException(path, "must be a requester id like \"00:03.0\" or 0x18 (" + e.getMessage() + ")");
        } catch (InvalidScenarioException e) {
            throw new InvalidScenarioException(path, "must be a requester id like \"00:03.0\" or 0x18, was " + Fields.describe(v));
        }
    }

    private static boolean parsesAsRid(String text) {
        try {
            RequesterId.parse(text);
            return true;
        } catch (IommuException e) {
            return false;
        }
    }

    // ------------------------------------------------------------------ steps

    private Step step(int index, Fields f) {
        String op = f.string("op");
        String comment = f.optString("comment");
        ErrorCode expectError = null;
        String code = f.optString("expectError");
        if (code != null) {
            try {
                expectError = ErrorCode.valueOf(code.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new InvalidScenarioException(f.path("expectError"), "must be one of " + Arrays.toString(ErrorCode.values())
                        + ", was \"" + code + "\"");
            }
        }
        Operation operation = switch (op) {
            case "pagingDomain" -> {
                String name = newDomainName(f, true);
                yield new CreatePagingDomain(name, unitOrOnly(f), f.bool("nestingParent", false));
            }
            case "identityDomain" -> new UnitDomain(DomainType.IDENTITY, newDomainName(f, false), unitOrOnly(f));
            case "blockedDomain" -> new UnitDomain(DomainType.BLOCKED, newDomainName(f, false), unitOrOnly(f));
            case "map" -> map(f);
            case "unmap" -> new UnmapRange(domainRef(f, true), f.number("iova"), positive(f, "size"), f.optNumber("expectUnmapped"));
            case "attach" -> new Attach(deviceRef(f), domainRef(f, false), false);
            case "replace" -> new Attach(deviceRef(f), domainRef(f, false), true);
            case "detach" -> new Detach(deviceRef(f));
            case "attachPasid" -> new AttachPasid(deviceRef(f), f.integer("pasid", 0, MAX_PASID), domainRef(f, false), false);
            case "replacePasid" -> new AttachPasid(deviceRef(f), f.integer("pasid", 0, MAX_PASID), domainRef(f, false), true);
            case "detachPasid" -> new DetachPasid(deviceRef(f), f.integer("pasid", 0, MAX_PASID));
            case "close" -> new Close(domainRef(f, true));
            case "writeMemory" -> new WriteMemory(f.number("pa"), bytes(f, true));
            case "checkMemory" -> new CheckMemory(f.number("pa"), bytes(f, true));
            case "dma" -> dma(f);
            case "process" -> newProcess(f);
            case "mmap" -> mmap(f);
            case "munmap" -> munmap(f);
            case "writeProcessMemory" -> processBytes(f, false);
            case "checkProcessMemory" -> processBytes(f, true);
            case "exit" -> new Exit(processRef(f, "process"));
            case "enableAux" -> new AuxFeature(deviceRef(f), true);
            case "disableAux" -> new AuxFeature(deviceRef(f), false);
            case "attachAux" -> attachAux(f);
            case "detachAux" -> new DetachAux(deviceRef(f), domainRef(f, true));
            case "bindSva" -> bindSva(f);
            case "unbindSva" -> new UnbindSva(deviceRef(f), processRef(f, "process"));
            case "mdevParent" -> mdevParent(f);
            case "mdevCreate" -> mdevCreate(f);
            case "mdevRemove" -> new MdevRemove(mdevRef(f));
            case "container" -> newContainer(f);
            case "containerAttach" -> containerAttach(f, false);
            case "containerDetach" -> containerAttach(f, true);
            case "mapDma" -> mapDma(f);
            case "unmapDma" -> new UnmapDma(containerRef(f), f.number("iova"), positive(f, "size"), f.optNumber("expectUnmapped"));
            case "containerInfo" -> containerInfo(f);
            case "containerClose" -> new ContainerClose(containerRef(f));
            case "mmapLazy" -> mmapLazy(f);
            case "enablePageRequests" -> new PageRequests(deviceRef(f), true);
            case "disablePageRequests" -> new PageRequests(deviceRef(f), false);
            case "pageRequestHandler" -> new PageRequestHandlerOp(deviceRef(f), handlerKind(f));
            case "removePageRequestHandler" -> new RemovePageRequestHandler(deviceRef(f));
            case "guestPasidQuota" -> new GuestPasidQuota(processRef(f, "owner"), f.integer("quota", 0, 1 << Pasid.MAX_WIDTH));
            case "guest" -> newGuest(f);
            case "guestPageTable" -> guestPageTable(f);
            case "guestMap" -> new GuestMap(guestTableRef(f, "table"), f.number("va"), f.number("gpa"), positive(f, "size"),
                    permissions(f, "perms"));
            case "guestUnmap" -> new GuestUnmap(guestTableRef(f, "table"), f.number("va"), positive(f, "size"));
            case "guestWriteMemory" -> new GuestBytes(guestRef(f, "guest"), f.number("gpa"), bytes(f, true), false);
            case "guestCheckMemory" -> new GuestBytes(guestRef(f, "guest"), f.number("gpa"), bytes(f, true), true);
            case "guestContextTable" -> guestContextTable(f);
            case "writeContextDescriptor" -> new ContextDescriptor(contextTableRef(f), f.integer("ssid", 0, MAX_PASID),
                    guestTableRef(f, "table"), f.integer("asid", 0, 0xFFFF), false);
            case "clearContextDescriptor" -> new ContextDescriptor(contextTableRef(f), f.integer("ssid", 0, MAX_PASID), null, 0, true);
            case "allocGuestPasid" -> allocGuestPasid(f);
            case "freeGuestPasid" -> new FreeGuestPasid(containerRef(f), pasidRef(f, "pasid"));
            case "bindGuestPasid" -> guestPasidBinding(f, false);
            case "unbindGuestPasid" -> guestPasidBinding(f, true);
            case "attachPasidTable" -> attachPasidTable(f);
            case "detachPasidTable" -> new DetachPasidTable(containerRef(f), deviceRef(f));
            case "guestInvalidate" -> guestInvalidate(f);
            case "check" -> check(f);
            default -> throw new InvalidScenarioException(f.path("op"), "unknown operation \"" + op + "\"; known: " + String.join(", ", OPERATIONS));
        };
        f.finish();
        return new Step(index, operation, comment, expectError);
    }

    /** Reads and defines the name of a new domain; later steps may refer to it. */
    private String newDomainName(Fields f, boolean paging) {
        String name = f.string("name");
        if (domains.putIfAbsent(name, paging) != null) {
            throw new InvalidScenarioException(f.path("name"), "domain '" + name + "' is already defined by an earlier operation");
        }
        return name;
    }

    private String unitOrOnly(Fields f) {
        if (f.has("unit") || units.size() != 1) {
            return unitRef(f, "unit");
        }
        f.raw("unit");
        return units.keySet().iterator().next();
    }

    private String unitRef(Fields f, String field) {
        String name = f.string(field);
        if (!units.containsKey(name)) {
            throw new InvalidScenarioException(f.path(field), "no unit named '" + name + "'; units: " + units.keySet());
        }
        return name;
    }

    private String domainRef(Fields f, boolean pagingOnly) {
        String name = f.string("domain");
        Boolean paging = domains.get(name);
        if (paging == null) {
            throw new InvalidScenarioException(f.path("domain"), "no domain named '" + name
                    + "' is defined by an earlier operation (pagingDomain, identityDomain, blockedDomain)");
        }
        if (pagingOnly && !paging) {
            throw new InvalidScenarioException(f.path("domain"), "'" + name + "' is not a paging domain");
        }
        return name;
    }

    /** The canonical name ({@code 0000:BB:DD.F}) of the device a step names by alias or requester id. */
    private String deviceRef(Fields f) {
        String text = f.string("device");
        RequesterId rid = devices.get(text);
        if (rid == null && parsesAsRid(text)) {
            rid = devices.get(RequesterId.parse(text).toString());
        }
        if (rid == null) {
            throw new InvalidScenarioException(f.path("device"), "no device '" + text + "' in machine.devices");
        }
        return rid.toString();
    }

    private static long positive(Fields f, String field) {
        long v = f.number(field);
        if (v <= 0) {
            throw new InvalidScenarioException(f.path(field), "must be positive, was " + Numbers.hex(v));
        }
        return v;
    }

    private Operation map(Fields f) {
        String domain = domainRef(f, true);
        long iova = f.number("iova");
        long pa = f.number("pa");
        long size = positive(f, "size");
        return new MapRange(domain, iova, pa, size, permissions(f, "perms"));
    }

    private static int permissions(Fields f, String field) {
        String perms = f.string(field);
        try {
            return Permissions.check(Permissions.parse(perms));
        } catch (IommuException e) {
            throw new InvalidScenarioException(f.path(field), "must be letters r, w, x with at least r or w, such as \"rw\", was \""
                    + perms + "\"");
        }
    }

    private Operation dma(Fields f) {
        String device = null;
        String mdev = null;
        if (f.has("mdev") == f.has("device")) {
            throw new InvalidScenarioException(f.path(), "give exactly one of \"device\" or \"mdev\"");
        }
        if (f.has("mdev")) {
            mdev = mdevRef(f);
            f.raw("device");
            for (String attribute : List.of("pasid", "execute", "privileged")) {
                if (f.has(attribute)) {
                    throw new InvalidScenarioException(f.path(attribute), "an mdev's DMA carries the mdev's own PASID and default attributes;"
                            + " give the parent as \"device\" to choose them");
                }
            }
        } else {
            device = deviceRef(f);
            f.raw("mdev");
        }
        int pasid = Pasid.NONE;
        String pasidName = null;
        JsonNode pasidNode = f.raw("pasid");
        if (pasidNode != null && pasidNode.isTextual() && pasidNames.contains(pasidNode.textValue())) {
            pasidName = pasidNode.textValue();
        } else if (pasidNode != null) {
            if (pasidNode.isTextual() && !looksLikeNumber(pasidNode.textValue())) {
                throw new InvalidScenarioException(f.path("pasid"), "no PASID named '" + pasidNode.textValue()
                        + "' is recorded by an earlier attachAux, bindSva or allocGuestPasid (pasidAs); names: "
                        + new java.util.TreeSet<>(pasidNames));
            }
            pasid = f.integer("pasid", 0, MAX_PASID);
        }
        String accessText = f.string("access");
        AccessType access = switch (accessText) {
            case "read" -> AccessType.READ;
            case "write" -> AccessType.WRITE;
            default -> throw new InvalidScenarioException(f.path("access"), "must be \"read\" or \"write\", was \"" + accessText + "\"");
        };
        VirtualAddress address = virtualAddress(f, "address");
        boolean execute = f.bool("execute", false);
        boolean privileged = f.bool("privileged", false);
        byte[] data = bytes(f, false);
        Integer length = f.optInteger("length", 1, 1 << 20);
        DmaExpectation expect = dmaExpectation(f.object("expect"));
        if (access == AccessType.WRITE) {
            if (length != null) {
                throw new InvalidScenarioException(f.path("length"), "is for reads; a write moves its data or text");
            }
            if (expect.data() != null) {
                throw new InvalidScenarioException(f.path("expect") + ".data", "is for reads; check written bytes with checkMemory");
            }
        } else if (data != null) {
            throw new InvalidScenarioException(f.path(f.has("data") ? "data" : "text"), "is for writes; a read gives length or expect.data");
        }
        int readLength = 0;
        if (access == AccessType.READ) {
            if (expect.data() != null) {
                if (length != null && length != expect.data().length) {
                    throw new InvalidScenarioException(f.path("length"), "must equal the " + expect.data().length
                            + " bytes of expect.data, was " + length);
                }
                readLength = expect.data().length;
            } else if (length != null) {
                readLength = length;
            }
        }
        return new Dma(device, mdev, pasid, pasidName, access, address, execute, privileged, data, readLength, expect);
    }

    private DmaExpectation dmaExpectation(Fields f) {
        Long pa = f.optNumber("pa");
        VirtualAddress va = null;
        if (f.has("mmap")) {
            va = virtualAddress(f, "pa");
        } else {
            f.raw("mmap");
            if (f.has("offset")) {
                throw new InvalidScenarioException(f.path("offset"), "goes with \"mmap\"");
            }
            f.raw("offset");
        }
        GuestAddress gpa = null;
        if (f.has("guest") || f.has("gpa")) {
            gpa = new GuestAddress(guestRef(f, "guest"), f.number("gpa"));
        }
        String faultText = f.optString("fault");
        String vendor = f.optString("vendor");
        String stageText = f.optString("stage");
        Integer pageRequests = f.optInteger("pageRequests", 0, 1 << 20);
        byte[] data = bytes(f, false);
        int outcomes = (pa != null ? 1 : 0) + (va != null ? 1 : 0) + (gpa != null ? 1 : 0) + (faultText != null ? 1 : 0);
        if (outcomes != 1) {
            throw new InvalidScenarioException(f.path(), "must give exactly one of \"pa\" (the request succeeds), \"mmap\" (it reaches"
                    + " that process memory), \"guest\" with \"gpa\" (it reaches that guest-physical page) or \"fault\"");
        }
        FaultStage stage = null;
        if (stageText != null) {
            if (faultText == null) {
                throw new InvalidScenarioException(f.path("stage"), "names the stage of a fault and goes with \"fault\"");
            }
            try {
                stage = FaultStage.valueOf(stageText.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new InvalidScenarioException(f.path("stage"), "must be one of " + Arrays.toString(FaultStage.values())
                        + ", was \"" + stageText + "\"");
            }
        }
        FaultReason reason = null;
        if (faultText != null) {
            try {
                reason = FaultReason.valueOf(faultText.toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                throw new InvalidScenarioException(f.path("fault"), "must be one of " + Arrays.toString(FaultReason.values())
                        + ", was \"" + faultText + "\"");
            }
            if (data != null) {
                throw new InvalidScenarioException(f.path(f.has("data") ? "data" : "text"), "a faulting request returns no data");
            }
        } else if (vendor != null) {
            throw new InvalidScenarioException(f.path("vendor"), "names the architectural fault and goes with \"fault\"");
        }
        f.finish();
        return new DmaExpectation(pa, va, gpa, reason, vendor, stage, data, pageRequests);
    }

    // ------------------------------------------------------------------ processes

    /** A new name for {@code field}, not yet in {@code names}, that cannot be read as a number; null when absent. */
    private static String newName(Fields f, String field, Set<String> names, String what) {
        String name = f.optString(field);
        if (name == null) {
            return null;
        }
        if (names.contains(name)) {
            throw new InvalidScenarioException(f.path(field), what + " name '" + name + "' is already defined by an earlier operation");
        }
        if (looksLikeNumber(name)) {
            throw new InvalidScenarioException(f.path(field), "'" + name + "' reads as a number; choose a name that does not");
        }
        return name;
    }

    private static boolean looksLikeNumber(String text) {
        try {
            Numbers.parse(text, "");
            return true;
        } catch (InvalidScenarioException e) {
            return text.trim().matches("[-+]?[0-9].*");
        }
    }

    private Operation newProcess(Fields f) {
        String name = f.string("name");
        if (processes.contains(name)) {
            throw new InvalidScenarioException(f.path("name"), "process '" + name + "' is already defined by an earlier operation");
        }
        Long limit = f.optNumber("lockedLimit");
        if (limit != null && limit < 0) {
            throw new InvalidScenarioException(f.path("lockedLimit"), "must not be negative, was " + Numbers.hex(limit));
        }
        processes.add(name);
        return new NewProcess(name, limit);
    }

    private String processRef(Fields f, String field) {
        String name = f.string(field);
        if (!processes.contains(name)) {
            throw new InvalidScenarioException(f.path(field), "no process named '" + name + "' is defined by an earlier operation (process)");
        }
        return name;
    }

    private Operation mmap(Fields f) {
        String process = processRef(f, "process");
        long size = positive(f, "size");
        int permissions = permissions(f, "perms");
        Long va = f.optNumber("va");
        String as = newName(f, "as", mmaps.keySet(), "mmap");
        if (as != null) {
            mmaps.put(as, process);
        }
        return new Mmap(process, size, permissions, va, as);
    }

    /**
     * The process a step names with {@code process}, or the one its {@code mmap} belongs to when
     * {@code process} is left out; both must agree.
     */
    private String processOf(Fields f, VirtualAddress va) {
        if (va.mmap() == null || f.has("process")) {
            String process = processRef(f, "process");
            if (va.mmap() != null && !mmaps.get(va.mmap()).equals(process)) {
                throw new InvalidScenarioException(f.path("mmap"), "'" + va.mmap() + "' is memory of process '" + mmaps.get(va.mmap())
                        + "', not of '" + process + "'");
            }
            return process;
        }
        f.raw("process");
        return mmaps.get(va.mmap());
    }

    /** {@code field} (an absolute address) or {@code mmap} with an optional {@code offset}. */
    private VirtualAddress virtualAddress(Fields f, String field) {
        boolean absolute = f.has(field);
        boolean named = f.has("mmap");
        if (absolute == named) {
            throw new InvalidScenarioException(f.path(), "give exactly one of \"" + field + "\" (an address) or \"mmap\" (a name given by mmap's \"as\", with an optional \"offset\")");
        }
        if (absolute) {
            f.raw("mmap");
            if (f.has("offset")) {
                throw new InvalidScenarioException(f.path("offset"), "goes with \"mmap\"; with \"" + field + "\" write the whole address");
            }
            f.raw("offset");
            return new VirtualAddress(null, f.number(field));
        }
        f.raw(field);
        String name = f.string("mmap");
        if (!mmaps.containsKey(name)) {
            throw new InvalidScenarioException(f.path("mmap"), "no mapping named '" + name + "' is defined by an earlier mmap (\"as\")");
        }
        Long offset = f.optNumber("offset");
        if (offset != null && offset < 0) {
            throw new InvalidScenarioException(f.path("offset"), "must not be negative, was " + Numbers.hex(offset));
        }
        return new VirtualAddress(name, offset == null ? 0 : offset);
    }

    private Operation munmap(Fields f) {
        VirtualAddress va = virtualAddress(f, "va");
        String process = processOf(f, va);
        return new Munmap(process, va, positive(f, "size"));
    }

    private Operation processBytes(Fields f, boolean check) {
        VirtualAddress va = virtualAddress(f, "va");
        String process = processOf(f, va);
        return new ProcessBytes(process, va, bytes(f, true), check);
    }

    private Operation attachAux(Fields f) {
        String device = deviceRef(f);
        String domain = domainRef(f, true);
        String pasidAs = newName(f, "pasidAs", pasidNames, "PASID");
        if (pasidAs != null) {
            pasidNames.add(pasidAs);
        }
        return new AttachAux(device, domain, pasidAs);
    }

    private Operation bindSva(Fields f) {
        String device = deviceRef(f);
        String process = processRef(f, "process");
        String pasidAs = newName(f, "pasidAs", pasidNames, "PASID");
        if (pasidAs != null) {
            pasidNames.add(pasidAs);
        }
        return new BindSva(device, process, pasidAs);
    }

    private Operation check(Fields f) {
        for (String known : List.of("device", "auxDomains", "pendingPageRequests", "parent", "type", "availableInstances",
                "container", "guestPasids")) {
            f.raw(known);
        }
        Counter pasids = counter(f, "pasidsInUse");
        Counter tablePages = counter(f, "tablePagesInUse");
        Counter processPages = counter(f, "processPagesInUse");
        String process = f.has("process") ? processRef(f, "process") : null;
        Long locked = f.optNumber("lockedBytes");
        Boolean alive = f.has("alive") ? f.bool("alive", false) : null;
        f.raw("alive");
        if (process == null) {
            f.raw("process");
            requireWith(f, "lockedBytes", locked != null, "process");
            requireWith(f, "alive", alive != null, "process");
        } else if (locked == null && alive == null) {
            throw new InvalidScenarioException(f.path("process"), "goes with \"lockedBytes\" or \"alive\"");
        }
        String device = null;
        Integer aux = null;
        Integer pending = null;
        if (f.has("device") || f.has("auxDomains") || f.has("pendingPageRequests")) {
            device = deviceRef(f);
            aux = f.optInteger("auxDomains", 0, Integer.MAX_VALUE);
            pending = f.optInteger("pendingPageRequests", 0, Integer.MAX_VALUE);
            if (aux == null && pending == null) {
                throw new InvalidScenarioException(f.path("device"), "goes with \"auxDomains\" or \"pendingPageRequests\"");
            }
        }
        String container = null;
        Integer guestPasids = null;
        if (f.has("container") || f.has("guestPasids")) {
            container = containerRef(f);
            guestPasids = f.integer("guestPasids", 0, Integer.MAX_VALUE);
        }
        String parent = null;
        String type = null;
        Integer available = null;
        if (f.has("parent") || f.has("type") || f.has("availableInstances")) {
            parent = parentRef(f);
            type = typeRef(f, parent);
            available = f.integer("availableInstances", 0, Integer.MAX_VALUE);
        }
        String save = newName(f, "save", snapshots, "snapshot");
        if (save != null) {
            snapshots.add(save);
        }
        Check c = new Check(pasids, tablePages, processPages, process, locked, alive, device, aux, pending, parent, type, available,
                container, guestPasids, save);
        if (pasids == null && tablePages == null && processPages == null && process == null && device == null && parent == null
                && container == null && save == null) {
            throw new InvalidScenarioException(f.path(), "checks nothing; give pasidsInUse, tablePagesInUse, processPagesInUse, "
                    + "process with lockedBytes or alive, device with auxDomains or pendingPageRequests, parent and type with "
                    + "availableInstances, container with guestPasids, or save");
        }
        return c;
    }

    // ------------------------------------------------------------------ I/O page faults

    private Operation mmapLazy(Fields f) {
        String process = processRef(f, "process");
        long size = positive(f, "size");
        int permissions = permissions(f, "perms");
        String as = newName(f, "as", mmaps.keySet(), "mmap");
        if (as != null) {
            mmaps.put(as, process);
        }
        return new MmapLazy(process, size, permissions, as);
    }

    private static HandlerKind handlerKind(Fields f) {
        String text = f.string("handler");
        for (HandlerKind k : HandlerKind.values()) {
            if (k.json().equals(text)) {
                return k;
            }
        }
        throw new InvalidScenarioException(f.path("handler"), "must be \"svaFaultIn\" or \"invalidRequest\", was \"" + text + "\"");
    }

    // ------------------------------------------------------------------ guests

    private Operation newGuest(Fields f) {
        String name = f.string("name");
        if (guests.containsKey(name) || looksLikeNumber(name)) {
            throw new InvalidScenarioException(f.path("name"), "guest '" + name + "' is already defined or reads as a number");
        }
        String container = containerRef(f);
        guests.put(name, container);
        return new NewGuest(name, container, positive(f, "ramSize"));
    }

    private String guestRef(Fields f, String field) {
        String name = f.string(field);
        if (!guests.containsKey(name)) {
            throw new InvalidScenarioException(f.path(field), "no guest named '" + name + "' is defined by an earlier operation (guest)");
        }
        return name;
    }

    private Operation guestPageTable(Fields f) {
        String name = f.string("name");
        if (guestTables.containsKey(name) || contextTables.contains(name)) {
            throw new InvalidScenarioException(f.path("name"), "guest table '" + name + "' is already defined by an earlier operation");
        }
        String guest = guestRef(f, "guest");
        String text = f.string("format");
        GuestTableFormat format = null;
        for (GuestTableFormat g : GuestTableFormat.values()) {
            if (g.json().equals(text)) {
                format = g;
            }
        }
        if (format == null) {
            throw new InvalidScenarioException(f.path("format"), "must be \"x86_64_4level\", \"x86_64_5level\" or \"aarch64_4k_48bit\", was \""
                    + text + "\"");
        }
        guestTables.put(name, format);
        return new GuestPageTable(name, guest, format);
    }

    private String guestTableRef(Fields f, String field) {
        String name = f.string(field);
        if (!guestTables.containsKey(name)) {
            throw new InvalidScenarioException(f.path(field), "no guest page table named '" + name
                    + "' is defined by an earlier operation (guestPageTable)");
        }
        return name;
    }

    private Operation guestContextTable(Fields f) {
        String name = f.string("name");
        if (guestTables.containsKey(name) || !contextTables.add(name)) {
            throw new InvalidScenarioException(f.path("name"), "guest table '" + name + "' is already defined by an earlier operation");
        }
        return new GuestContextTable(name, guestRef(f, "guest"), f.integer("cdMaxBits", 0, 20));
    }

    private String contextTableRef(Fields f) {
        String name = f.string("contextTable");
        if (!contextTables.contains(name)) {
            throw new InvalidScenarioException(f.path("contextTable"), "no guest CD table named '" + name
                    + "' is defined by an earlier operation (guestContextTable)");
        }
        return name;
    }

    private Operation allocGuestPasid(Fields f) {
        String container = containerRef(f);
        String pasidAs = newName(f, "pasidAs", pasidNames, "PASID");
        if (pasidAs != null) {
            pasidNames.add(pasidAs);
        }
        return new AllocGuestPasid(container, pasidAs);
    }

    /** A PASID given as a number or as a name recorded by an earlier {@code pasidAs}. */
    private PasidRef pasidRef(Fields f, String field) {
        JsonNode v = f.required(field);
        if (v.isTextual() && pasidNames.contains(v.textValue())) {
            return new PasidRef(0, v.textValue());
        }
        if (v.isTextual() && !looksLikeNumber(v.textValue())) {
            throw new InvalidScenarioException(f.path(field), "no PASID named '" + v.textValue()
                    + "' is recorded by an earlier attachAux, bindSva or allocGuestPasid (pasidAs); names: " + new TreeSet<>(pasidNames));
        }
        return new PasidRef(f.integer(field, 0, MAX_PASID), null);
    }

    /** {@code device} (a whole PCI device) or {@code mdev}: exactly one; the other of the pair is null. */
    private String[] deviceOrMdev(Fields f) {
        if (f.has("mdev") == f.has("device")) {
            throw new InvalidScenarioException(f.path(), "give exactly one of \"device\" (a whole PCI device) or \"mdev\"");
        }
        if (f.has("mdev")) {
            f.raw("device");
            return new String[] {null, mdevRef(f)};
        }
        f.raw("mdev");
        return new String[] {deviceRef(f), null};
    }

    private Operation guestPasidBinding(Fields f, boolean unbind) {
        String container = containerRef(f);
        String[] target = deviceOrMdev(f);
        PasidRef pasid = pasidRef(f, "pasid");
        if (unbind) {
            return new GuestPasidBinding(container, target[0], target[1], pasid, null, null, null, true);
        }
        String table = guestTableRef(f, "table");
        Integer width = f.optInteger("addressWidth", 0, 64);
        Set<VtdGuestPasidFlag> flags = EnumSet.noneOf(VtdGuestPasidFlag.class);
        JsonNode list = f.raw("flags");
        if (list != null) {
            if (!list.isArray()) {
                throw new InvalidScenarioException(f.path("flags"), "must be a JSON array of flag names such as [\"SRE\"]");
            }
            for (int i = 0; i < list.size(); i++) {
                flags.add(enumValue(VtdGuestPasidFlag.class, list.get(i), f.path("flags") + "[" + i + "]"));
            }
        }
        return new GuestPasidBinding(container, target[0], target[1], pasid, table, width, flags, false);
    }

    private static <E extends Enum<E>> E enumValue(Class<E> type, JsonNode v, String path) {
        if (v != null && v.isTextual()) {
            for (E e : type.getEnumConstants()) {
                if (e.name().equals(v.textValue())) {
                    return e;
                }
            }
        }
        throw new InvalidScenarioException(path, "must be one of " + Arrays.toString(type.getEnumConstants()) + ", was "
                + Fields.describe(v));
    }

    private Operation attachPasidTable(Fields f) {
        String container = containerRef(f);
        String device = deviceRef(f);
        String table = contextTableRef(f);
        JsonNode ds = f.raw("defaultSubstream");
        SmmuContextTableConfig.DefaultSubstream dss = ds == null ? SmmuContextTableConfig.DefaultSubstream.SUBSTREAM_0
                : enumValue(SmmuContextTableConfig.DefaultSubstream.class, ds, f.path("defaultSubstream"));
        return new AttachPasidTable(container, device, table, dss);
    }

    private Operation guestInvalidate(Fields f) {
        String container = containerRef(f);
        String[] target = deviceOrMdev(f);
        List<InvalidationSpec> batch = new ArrayList<>();
        for (Fields e : f.objects("batch", true)) {
            JsonNode cacheList = e.required("caches");
            if (!cacheList.isArray() || cacheList.isEmpty()) {
                throw new InvalidScenarioException(e.path("caches"), "must be a non-empty JSON array of \"IOTLB\", \"DEVICE_IOTLB\", \"PASID\"");
            }
            Set<CacheInvalidation.Cache> caches = EnumSet.noneOf(CacheInvalidation.Cache.class);
            for (int i = 0; i < cacheList.size(); i++) {
                caches.add(enumValue(CacheInvalidation.Cache.class, cacheList.get(i), e.path("caches") + "[" + i + "]"));
            }
            CacheInvalidation.Granularity granularity = enumValue(CacheInvalidation.Granularity.class, e.required("granularity"),
                    e.path("granularity"));
            PasidRef pasid = e.has("pasid") ? pasidRef(e, "pasid") : null;
            e.raw("pasid");
            Integer asid = e.optInteger("asid", 0, 0xFFFF);
            Long address = e.optNumber("address");
            Long granuleSize = e.optNumber("granuleSize");
            Long granules = e.optNumber("granules");
            boolean leaf = e.bool("leaf", false);
            e.finish();
            batch.add(new InvalidationSpec(caches, granularity, pasid, asid == null ? -1 : asid, address == null ? 0 : address,
                    granuleSize == null ? 0 : granuleSize, granules == null ? 0 : granules, leaf));
        }
        Integer expectCompleted = f.optInteger("expectCompleted", 0, batch.size());
        return new GuestInvalidate(container, target[0], target[1], batch, expectCompleted);
    }

    // ------------------------------------------------------------------ mdevs and containers

    private Operation mdevParent(Fields f) {
        String device = deviceRef(f);
        if (parents.containsKey(device)) {
            throw new InvalidScenarioException(f.path("device"), "device " + device + " is already an mdev parent");
        }
        List<MdevTypeDef> types = new ArrayList<>();
        Set<String> names = new HashSet<>();
        for (Fields t : f.objects("types", true)) {
            String name = t.string("name");
            if (!names.add(name)) {
                throw new InvalidScenarioException(t.path("name"), "type '" + name + "' is listed twice");
            }
            types.add(new MdevTypeDef(name, t.string("deviceApi"), t.integer("maxInstances", 0, Integer.MAX_VALUE)));
            t.finish();
        }
        if (types.isEmpty()) {
            throw new InvalidScenarioException(f.path("types"), "must list at least one mdev type");
        }
        parents.put(device, names);
        return new MdevParent(device, types);
    }

    private String parentRef(Fields f) {
        String text = f.string("parent");
        RequesterId rid = devices.get(text);
        if (rid == null && parsesAsRid(text)) {
            rid = devices.get(RequesterId.parse(text).toString());
        }
        if (rid == null || !parents.containsKey(rid.toString())) {
            throw new InvalidScenarioException(f.path("parent"), "no mdev parent '" + text + "' is registered by an earlier operation (mdevParent)");
        }
        return rid.toString();
    }

    private String typeRef(Fields f, String parent) {
        String type = f.string("type");
        if (!parents.get(parent).contains(type)) {
            throw new InvalidScenarioException(f.path("type"), "parent " + parent + " has no mdev type '" + type + "'; types: "
                    + new TreeSet<>(parents.get(parent)));
        }
        return type;
    }

    private Operation mdevCreate(Fields f) {
        String parent = parentRef(f);
        String uuidText = f.string("uuid");
        UUID uuid;
        if (!uuidText.matches("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")) {
            throw new InvalidScenarioException(f.path("uuid"), "must be a UUID such as \"c0ffee00-0000-4000-8000-000000000001\", was \"" + uuidText + "\"");
        }
        uuid = UUID.fromString(uuidText);
        if (mdevs.containsKey(uuid.toString())) {
            throw new InvalidScenarioException(f.path("uuid"), "an mdev " + uuid + " is already created by an earlier operation");
        }
        String type = typeRef(f, parent);
        String name = f.optString("name");
        if (name != null && (mdevs.containsKey(name) || devices.containsKey(name) || parsesAsRid(name))) {
            throw new InvalidScenarioException(f.path("name"), "'" + name + "' already names an mdev or a device, or looks like a requester id");
        }
        String canonical = name != null ? name : uuid.toString();
        mdevs.put(uuid.toString(), canonical);
        if (name != null) {
            mdevs.put(name, canonical);
        }
        return new MdevCreate(parent, uuid, type, name);
    }

    /** The printed name of the mdev a step names (alias or UUID) in {@code mdev}. */
    private String mdevRef(Fields f) {
        String text = f.string("mdev");
        String canonical = mdevs.get(text);
        if (canonical == null) {
            canonical = mdevs.get(text.toLowerCase(Locale.ROOT));
        }
        if (canonical == null) {
            throw new InvalidScenarioException(f.path("mdev"), "no mdev '" + text + "' is created by an earlier operation (mdevCreate)");
        }
        return canonical;
    }

    private Operation newContainer(Fields f) {
        String name = f.string("name");
        if (containers.containsKey(name)) {
            throw new InvalidScenarioException(f.path("name"), "container '" + name + "' is already defined by an earlier operation");
        }
        String owner = processRef(f, "owner");
        String type = f.optString("type");
        if (type != null && !type.equals("TYPE1") && !type.equals("TYPE1_NESTING")) {
            throw new InvalidScenarioException(f.path("type"), "must be \"TYPE1\" or \"TYPE1_NESTING\", was \"" + type + "\"");
        }
        containers.put(name, owner);
        return new NewContainer(name, owner, "TYPE1_NESTING".equals(type));
    }

    private String containerRef(Fields f) {
        String name = f.string("container");
        if (!containers.containsKey(name)) {
            throw new InvalidScenarioException(f.path("container"), "no container named '" + name + "' is defined by an earlier operation (container)");
        }
        return name;
    }

    private Operation containerAttach(Fields f, boolean detach) {
        String container = containerRef(f);
        if (f.has("mdev") == f.has("device")) {
            throw new InvalidScenarioException(f.path(), "give exactly one of \"device\" (a whole PCI device) or \"mdev\"");
        }
        if (f.has("mdev")) {
            f.raw("device");
            return new ContainerAttach(container, null, mdevRef(f), detach);
        }
        f.raw("mdev");
        return new ContainerAttach(container, deviceRef(f), null, detach);
    }

    private Operation mapDma(Fields f) {
        String container = containerRef(f);
        VirtualAddress vaddr = virtualAddress(f, "vaddr");
        if (vaddr.mmap() != null && !mmaps.get(vaddr.mmap()).equals(containers.get(container))) {
            throw new InvalidScenarioException(f.path("mmap"), "'" + vaddr.mmap() + "' is memory of process '" + mmaps.get(vaddr.mmap())
                    + "', but container '" + container + "' is owned by '" + containers.get(container) + "'");
        }
        return new MapDma(container, vaddr, f.number("iova"), positive(f, "size"), permissions(f, "perms"));
    }

    private Operation containerInfo(Fields f) {
        String container = containerRef(f);
        Long pageSizes = null;
        String sizes = f.optString("pageSizes");
        if (sizes != null) {
            long bitmap = 0;
            for (String part : sizes.split(",", -1)) {
                long size;
                try {
                    size = PageSizes.parseSize(part);
                } catch (IommuException e) {
                    size = 0;
                }
                if (Long.bitCount(size) != 1 || size < 4096) {
                    throw new InvalidScenarioException(f.path("pageSizes"), "must be powers of two from 4K, such as \"4K,2M,1G\", was \"" + sizes + "\"");
                }
                bitmap |= size;
            }
            pageSizes = bitmap;
        }
        List<Operation.IovaSpan> ranges = null;
        if (f.has("iovaRanges")) {
            ranges = new ArrayList<>();
            for (Fields r : f.objects("iovaRanges", true)) {
                long start = r.number("start");
                long end = r.number("end");
                if (Long.compareUnsigned(start, end) > 0) {
                    throw new InvalidScenarioException(r.path("end"), "must not be below start " + Numbers.hex(start) + ", was " + Numbers.hex(end));
                }
                r.finish();
                ranges.add(new Operation.IovaSpan(start, end));
            }
        } else {
            f.raw("iovaRanges");
        }
        Boolean pasidSupport = f.has("pasidSupport") ? f.bool("pasidSupport", false) : null;
        f.raw("pasidSupport");
        Integer pasidBits = f.optInteger("pasidBits", 0, Pasid.MAX_WIDTH);
        return new ContainerInfo(container, pageSizes, ranges, pasidSupport, pasidBits);
    }

    private static void requireWith(Fields f, String field, boolean present, String with) {
        if (present) {
            throw new InvalidScenarioException(f.path(field), "needs \"" + with + "\"");
        }
    }

    /** A counter expectation: a number, or the name of a snapshot saved by an earlier check. */
    private Counter counter(Fields f, String field) {
        JsonNode v = f.raw(field);
        if (v == null) {
            return null;
        }
        if (v.isTextual() && snapshots.contains(v.textValue())) {
            return new Counter(0, v.textValue());
        }
        if (v.isTextual() && !looksLikeNumber(v.textValue())) {
            throw new InvalidScenarioException(f.path(field), "no snapshot named '" + v.textValue()
                    + "' is saved by an earlier check (\"save\"); snapshots: " + new java.util.TreeSet<>(snapshots));
        }
        long value = Numbers.parse(v, f.path(field));
        if (value < 0) {
            throw new InvalidScenarioException(f.path(field), "must not be negative, was " + value);
        }
        return new Counter(value, null);
    }

    /** Bytes from {@code data} (hex pairs, spaces and colons ignored) or {@code text} (UTF-8). */
    private static byte[] bytes(Fields f, boolean required) {
        boolean hasData = f.has("data");
        boolean hasText = f.has("text");
        if (hasData && hasText) {
            throw new InvalidScenarioException(f.path("text"), "give either data (hex bytes) or text, not both");
        }
        if (!hasData && !hasText) {
            f.raw("data");
            f.raw("text");
            if (required) {
                throw new InvalidScenarioException(f.path("data"), "is required (hex bytes such as \"de ad be ef\"), or give text");
            }
            return null;
        }
        if (hasText) {
            f.raw("data");
            String text = f.string("text");
            return text.getBytes(StandardCharsets.UTF_8);
        }
        f.raw("text");
        String hex = f.string("data").replaceAll("[\\s:_]", "");
        if (hex.length() % 2 != 0 || !hex.matches("[0-9a-fA-F]+")) {
            throw new InvalidScenarioException(f.path("data"), "must be whole bytes in hexadecimal such as \"de ad be ef\"");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < hex.length(); i += 2) {
            out.write(Integer.parseInt(hex.substring(i, i + 2), 16));
        }
        return out.toByteArray();
    }
}
