package dev.iommukit.cli.scenario;

import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.iommukit.cli.scenario.Operation.Attach;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

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
        return new MachineSpec(ram, tablePool, List.copyOf(units.values()), deviceSpecs);
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
            case "pagingDomain" -> define(f, new CreatePagingDomain(newDomainName(f), unitOrOnly(f), f.bool("nestingParent", false)), true);
            case "identityDomain" -> define(f, new UnitDomain(DomainType.IDENTITY, newDomainName(f), unitOrOnly(f)), false);
            case "blockedDomain" -> define(f, new UnitDomain(DomainType.BLOCKED, newDomainName(f), unitOrOnly(f)), false);
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
            default -> throw new InvalidScenarioException(f.path("op"), "unknown operation \"" + op + "\"; known: pagingDomain, "
                    + "identityDomain, blockedDomain, map, unmap, attach, replace, detach, attachPasid, replacePasid, "
                    + "detachPasid, close, writeMemory, checkMemory, dma");
        };
        f.finish();
        return new Step(index, operation, comment, expectError);
    }

    private Operation define(Fields f, Operation op, boolean paging) {
        String name = op instanceof CreatePagingDomain c ? c.name() : ((UnitDomain) op).name();
        domains.put(name, paging);
        return op;
    }

    private String newDomainName(Fields f) {
        String name = f.string("name");
        if (domains.containsKey(name)) {
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
        String perms = f.string("perms");
        int permissions;
        try {
            permissions = Permissions.check(Permissions.parse(perms));
        } catch (IommuException e) {
            throw new InvalidScenarioException(f.path("perms"), "must be letters r, w, x with at least r or w, such as \"rw\", was \""
                    + perms + "\"");
        }
        return new MapRange(domain, iova, pa, size, permissions);
    }

    private Operation dma(Fields f) {
        String device = deviceRef(f);
        int pasid = f.has("pasid") ? f.integer("pasid", 0, MAX_PASID) : Pasid.NONE;
        String accessText = f.string("access");
        AccessType access = switch (accessText) {
            case "read" -> AccessType.READ;
            case "write" -> AccessType.WRITE;
            default -> throw new InvalidScenarioException(f.path("access"), "must be \"read\" or \"write\", was \"" + accessText + "\"");
        };
        long address = f.number("address");
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
        return new Dma(device, pasid, access, address, execute, privileged, data, readLength, expect);
    }

    private static DmaExpectation dmaExpectation(Fields f) {
        Long pa = f.optNumber("pa");
        String faultText = f.optString("fault");
        String vendor = f.optString("vendor");
        byte[] data = bytes(f, false);
        if ((pa == null) == (faultText == null)) {
            throw new InvalidScenarioException(f.path(), "must give exactly one of \"pa\" (the request succeeds) or \"fault\"");
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
        return new DmaExpectation(pa, reason, vendor, data);
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
