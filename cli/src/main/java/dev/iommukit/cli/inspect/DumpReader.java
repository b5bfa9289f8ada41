package dev.iommukit.cli.inspect;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads an {@code iommukit-dump/1} document (see {@code spec/dump-format.md}). Numbers are JSON integers or
 * {@code 0x} hexadecimal strings; pages are base64 of exactly 4096 bytes.
 */
public final class DumpReader {
    public static final String FORMAT = "iommukit-dump/1";

    private final ObjectMapper mapper = new ObjectMapper();

    /** Reads the dump at {@code path}. */
    public Dump read(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return read(in);
        }
    }

    /** Reads a dump from {@code in}. */
    public Dump read(InputStream in) throws IOException {
        JsonNode root;
        try {
            root = mapper.readTree(in);
        } catch (IOException e) {
            throw new DumpFormatException("dump is not valid JSON: " + e.getMessage(), e);
        }
        return parse(root);
    }

    /** Reads a dump from its JSON text. */
    public Dump read(String json) {
        try {
            return parse(mapper.readTree(json));
        } catch (IOException e) {
            throw new DumpFormatException("dump is not valid JSON: " + e.getMessage(), e);
        }
    }

    private Dump parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new DumpFormatException("dump must be a JSON object");
        }
        String format = text(root, "format", "format");
        if (!FORMAT.equals(format)) {
            throw new DumpFormatException("format must be \"" + FORMAT + "\", was \"" + format + "\"");
        }
        List<Dump.Unit> units = new ArrayList<>();
        int i = 0;
        for (JsonNode u : array(root, "units", "units")) {
            units.add(unit(u, "units[" + i++ + "]"));
        }
        SparseMemory memory = memory(root.get("memory"));
        List<Dump.Expectation> expect = new ArrayList<>();
        JsonNode ex = root.get("expect");
        if (ex != null && !ex.isNull()) {
            i = 0;
            for (JsonNode e : array(root, "expect", "expect")) {
                expect.add(expectation(e, "expect[" + i++ + "]"));
            }
        }
        return new Dump(units, memory, expect);
    }

    private Dump.Unit unit(JsonNode u, String where) {
        String name = text(u, "name", where + ".name");
        String backend = text(u, "backend", where + ".backend");
        Map<String, Long> registers = new LinkedHashMap<>();
        JsonNode regs = u.get("registers");
        if (regs != null && !regs.isNull()) {
            if (!regs.isObject()) {
                throw new DumpFormatException(where + ".registers must be an object");
            }
            for (Map.Entry<String, JsonNode> e : regs.properties()) {
                registers.put(e.getKey(), number(e.getValue(), where + ".registers." + e.getKey()));
            }
        }
        List<Dump.Device> devices = new ArrayList<>();
        JsonNode devs = u.get("devices");
        if (devs != null && !devs.isNull()) {
            int i = 0;
            for (JsonNode d : array(u, "devices", where + ".devices")) {
                String w = where + ".devices[" + i++ + "]";
                JsonNode n = d.get("name");
                long rid = number(d.get("rid"), w + ".rid");
                if (rid < 0 || rid > 0xFFFF) {
                    throw new DumpFormatException(w + ".rid must be a 16-bit requester id, was 0x" + Long.toHexString(rid));
                }
                devices.add(new Dump.Device(n == null || n.isNull() ? "" : n.asText(), (int) rid));
            }
        }
        return new Dump.Unit(name, backend, registers, devices);
    }

    private SparseMemory memory(JsonNode m) {
        TreeMap<Long, byte[]> pages = new TreeMap<>();
        if (m == null || m.isNull()) {
            return new SparseMemory(pages);
        }
        JsonNode ps = m.get("pageSize");
        if (ps != null && !ps.isNull() && number(ps, "memory.pageSize") != SparseMemory.PAGE_SIZE) {
            throw new DumpFormatException("memory.pageSize must be 4096, was " + ps.asText());
        }
        JsonNode list = m.get("pages");
        if (list == null || list.isNull()) {
            return new SparseMemory(pages);
        }
        if (!list.isArray()) {
            throw new DumpFormatException("memory.pages must be an array");
        }
        int i = 0;
        for (JsonNode p : list) {
            String w = "memory.pages[" + i++ + "]";
            long pa = number(p.get("pa"), w + ".pa");
            if ((pa & (SparseMemory.PAGE_SIZE - 1)) != 0) {
                throw new DumpFormatException(w + ".pa must be 4 KiB aligned, was 0x" + Long.toHexString(pa));
            }
            byte[] data;
            try {
                data = Base64.getDecoder().decode(text(p, "data", w + ".data"));
            } catch (IllegalArgumentException e) {
                throw new DumpFormatException(w + ".data must be base64: " + e.getMessage(), e);
            }
            if (data.length != SparseMemory.PAGE_SIZE) {
                throw new DumpFormatException(w + ".data must decode to exactly 4096 bytes, was " + data.length);
            }
            if (pages.put(pa, data) != null) {
                throw new DumpFormatException(w + ".pa 0x" + Long.toHexString(pa) + " is listed twice");
            }
        }
        return new SparseMemory(pages);
    }

    private Dump.Expectation expectation(JsonNode e, String where) {
        String unit = text(e, "unit", where + ".unit");
        long rid = number(e.get("rid"), where + ".rid");
        if (rid < 0 || rid > 0xFFFF) {
            throw new DumpFormatException(where + ".rid must be a 16-bit requester id");
        }
        JsonNode p = e.get("pasid");
        int pasid = Requester.NO_PASID;
        if (p != null && !p.isNull()) {
            long v = number(p, where + ".pasid");
            if (v < 0 || v > 0xFFFFF) {
                throw new DumpFormatException(where + ".pasid must be a 20-bit PASID or null, was " + v);
            }
            pasid = (int) v;
        }
        JsonNode id = e.get("identity");
        if (id != null && id.asBoolean(false)) {
            return new Dump.Expectation(unit, (int) rid, pasid, true, 0, 0, 0, true, true);
        }
        long iova = number(e.get("iova"), where + ".iova");
        long size = number(e.get("size"), where + ".size");
        long pa = number(e.get("pa"), where + ".pa");
        if (size == 0) {
            throw new DumpFormatException(where + ".size must not be 0");
        }
        return new Dump.Expectation(unit, (int) rid, pasid, false, iova, size, pa,
                bool(e, "read"), bool(e, "write"));
    }

    private static boolean bool(JsonNode e, String field) {
        JsonNode b = e.get(field);
        return b != null && b.asBoolean(false);
    }

    private static Iterable<JsonNode> array(JsonNode parent, String field, String where) {
        JsonNode a = parent.get(field);
        if (a == null || !a.isArray()) {
            throw new DumpFormatException(where + " must be an array");
        }
        return a;
    }

    private static String text(JsonNode parent, String field, String where) {
        JsonNode t = parent.get(field);
        if (t == null || !t.isTextual()) {
            throw new DumpFormatException(where + " must be a string");
        }
        return t.asText();
    }

    /** A number as the dump writes it: a JSON integer, or a {@code 0x} hexadecimal string up to 64 bits. */
    static long number(JsonNode n, String where) {
        if (n == null || n.isNull()) {
            throw new DumpFormatException(where + " is missing");
        }
        if (n.isIntegralNumber()) {
            if (!n.canConvertToLong()) {
                throw new DumpFormatException(where + " does not fit in 64 bits; write it as a 0x string");
            }
            return n.longValue();
        }
        if (n.isTextual()) {
            String s = n.asText().trim();
            if (s.startsWith("0x") || s.startsWith("0X")) {
                String digits = s.substring(2).replace("_", "");
                if (!digits.isEmpty() && digits.length() <= 16) {
                    try {
                        return Long.parseUnsignedLong(digits, 16);
                    } catch (NumberFormatException ignored) {
                        // reported below
                    }
                }
            }
            throw new DumpFormatException(where + " must be a 0x hexadecimal string of at most 64 bits, was \"" + s + "\"");
        }
        throw new DumpFormatException(where + " must be a JSON integer or a 0x string");
    }
}
