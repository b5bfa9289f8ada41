package dev.iommukit.cli.dump;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import dev.iommukit.api.Device;
import dev.iommukit.api.Domain;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Mapping;
import dev.iommukit.api.NestedDomain;
import dev.iommukit.api.ReachableRange;
import dev.iommukit.api.Unit;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Writes the state of a {@link Machine} as an {@code iommukit-dump/1} document
 * ({@code shared/spec/dump-format.md}): each unit's architectural registers and devices, every
 * non-zero 4 KiB page of physical memory, and the ranges the API says each requester can reach.
 * Values that may exceed 2^53 are {@code "0x..."} strings; an outside tool needs nothing else to
 * walk the structures and compare.
 *
 * <p>Nested attachments (a VT-d guest first level at a PASID, an SMMUv3 guest CD table) appear in
 * {@code expect} as input address to final physical address: the guest's own mappings, from its
 * bookkeeping ({@link GuestStage1}), composed with the stage 2 the core knows (the parent domain's
 * mappings, guest-physical to host-physical), permissions intersected. Without guest bookkeeping they
 * contribute nothing.
 */
public final class StateDumpWriter {
    /** The value of the document's {@code format} field. */
    public static final String FORMAT = "iommukit-dump/1";
    private static final JsonFactory JSON = new JsonFactory();

    private StateDumpWriter() {}

    /** Writes the dump of {@code machine} to {@code file}, replacing it. */
    public static void write(Machine machine, Path file) throws IOException {
        write(machine, GuestStage1.NONE, file);
    }

    /** Writes the dump of {@code machine}, nested attachments described by {@code guests}, to {@code file}. */
    public static void write(Machine machine, GuestStage1 guests, Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            write(machine, guests, out);
        }
    }

    /** Writes the dump of {@code machine} to {@code out} as UTF-8 JSON; {@code out} stays open. */
    public static void write(Machine machine, OutputStream out) throws IOException {
        write(machine, GuestStage1.NONE, out);
    }

    /** As {@link #write(Machine, OutputStream)}, nested attachments described by {@code guests}. */
    public static void write(Machine machine, GuestStage1 guests, OutputStream out) throws IOException {
        try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.setPrettyPrinter(new DefaultPrettyPrinter().withObjectIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.withLinefeed("\n"))
                    .withArrayIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.withLinefeed("\n")));
            g.writeStartObject();
            g.writeStringField("format", FORMAT);
            writeUnits(g, machine);
            writeMemory(g, machine.memory());
            writeExpect(g, machine, guests);
            g.writeEndObject();
            g.writeRaw('\n');
        }
    }

    /** The dump of {@code machine} as a string. */
    public static String toString(Machine machine) {
        return toString(machine, GuestStage1.NONE);
    }

    /** The dump of {@code machine}, nested attachments described by {@code guests}, as a string. */
    public static String toString(Machine machine, GuestStage1 guests) {
        var out = new java.io.ByteArrayOutputStream();
        try {
            write(machine, guests, out);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    private static void writeUnits(JsonGenerator g, Machine machine) throws IOException {
        g.writeArrayFieldStart("units");
        for (Unit u : machine.units()) {
            g.writeStartObject();
            g.writeStringField("name", u.name());
            g.writeStringField("backend", u.backendId());
            g.writeObjectFieldStart("registers");
            for (Map.Entry<String, Long> r : u.registers().entrySet()) {
                g.writeStringField(r.getKey(), hex(r.getValue()));
            }
            g.writeEndObject();
            g.writeArrayFieldStart("devices");
            for (Device d : u.devices()) {
                g.writeStartObject();
                g.writeStringField("name", d.name());
                g.writeStringField("rid", hex(d.rid().value()));
                g.writeEndObject();
            }
            g.writeEndArray();
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    private static void writeMemory(JsonGenerator g, PhysicalMemory memory) throws IOException {
        g.writeObjectFieldStart("memory");
        g.writeNumberField("pageSize", PhysicalMemory.PAGE_SIZE);
        g.writeArrayFieldStart("pages");
        IOException[] failure = new IOException[1];
        Base64.Encoder base64 = Base64.getEncoder();
        ByteBuffer bytes = ByteBuffer.allocate(PhysicalMemory.PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        memory.forEachNonZeroPage((pa, words) -> {
            if (failure[0] != null) {
                return;
            }
            bytes.clear();
            bytes.asLongBuffer().put(words);
            try {
                g.writeStartObject();
                g.writeStringField("pa", hex(pa));
                g.writeStringField("data", base64.encodeToString(bytes.array()));
                g.writeEndObject();
            } catch (IOException e) {
                failure[0] = e;
            }
        });
        if (failure[0] != null) {
            throw failure[0];
        }
        g.writeEndArray();
        g.writeEndObject();
    }

    private static void writeExpect(JsonGenerator g, Machine machine, GuestStage1 guests) throws IOException {
        g.writeArrayFieldStart("expect");
        List<ReachableRange> ranges = new ArrayList<>(machine.reachableRanges());
        ranges.addAll(nestedRanges(machine, guests));
        for (ReachableRange r : ranges) {
            if (!r.identity() && !r.read() && !r.write()) {
                continue;
            }
            g.writeStartObject();
            g.writeStringField("unit", r.unit());
            g.writeStringField("rid", hex(r.rid()));
            if (r.pasid() == Pasid.NONE) {
                g.writeNullField("pasid");
            } else {
                g.writeNumberField("pasid", r.pasid());
            }
            if (r.identity()) {
                g.writeBooleanField("identity", true);
            } else {
                g.writeStringField("iova", hex(r.iova()));
                g.writeStringField("size", hex(r.size()));
                g.writeStringField("pa", hex(r.pa()));
                g.writeBooleanField("read", r.read());
                g.writeBooleanField("write", r.write());
            }
            g.writeEndObject();
        }
        g.writeEndArray();
    }

    /** The ranges of every nested attachment: the guest's stage 1 composed with the parent domain (stage 2). */
    static List<ReachableRange> nestedRanges(Machine machine, GuestStage1 guests) {
        List<ReachableRange> out = new ArrayList<>();
        for (Unit u : machine.units()) {
            for (Device d : u.devices()) {
                nested(out, u, d, Pasid.NONE, d.domain(), guests);
                for (Map.Entry<Integer, Domain> e : d.pasidAttachments().entrySet()) {
                    nested(out, u, d, e.getKey(), e.getValue(), guests);
                }
            }
        }
        return out;
    }

    private static void nested(List<ReachableRange> out, Unit u, Device d, int pasid, Domain domain, GuestStage1 guests) {
        if (!(domain instanceof NestedDomain nested)) {
            return;
        }
        List<Mapping> stage2 = new ArrayList<>(nested.parent().mappings());
        stage2.sort(Comparator.comparingLong(Mapping::iova));
        for (Map.Entry<Integer, GuestStage1.Stage1> e : guests.requesters(d, pasid, nested).entrySet()) {
            int requesterPasid = e.getKey();
            GuestStage1.Stage1 stage1 = e.getValue();
            if (stage1.bypass()) {
                for (Mapping m : stage2) {
                    add(out, u, d, requesterPasid, m.iova(), m.size(), m.pa(), m.permissions());
                }
                continue;
            }
            List<GuestStage1.Range> s1 = new ArrayList<>(stage1.ranges());
            s1.sort(Comparator.comparingLong(GuestStage1.Range::va));
            for (GuestStage1.Range r : s1) {
                compose(out, u, d, requesterPasid, r, stage2);
            }
        }
    }

    /** The parts of one guest range whose guest-physical addresses stage 2 maps, permissions intersected. */
    private static void compose(List<ReachableRange> out, Unit u, Device d, int pasid, GuestStage1.Range r, List<Mapping> stage2) {
        long gpaEnd = r.gpa() + r.size();
        for (Mapping m : stage2) {
            long start = Math.max(r.gpa(), m.iova());
            long end = Math.min(gpaEnd, m.iova() + m.size());
            if (Long.compareUnsigned(start, end) >= 0) {
                continue;
            }
            add(out, u, d, pasid, r.va() + (start - r.gpa()), end - start, m.pa() + (start - m.iova()), r.permissions() & m.permissions());
        }
    }

    private static void add(List<ReachableRange> out, Unit u, Device d, int pasid, long iova, long size, long pa, int permissions) {
        boolean read = (permissions & Permissions.READ) != 0;
        boolean write = (permissions & Permissions.WRITE) != 0;
        if (read || write) {
            out.add(new ReachableRange(u.name(), d.rid().value(), pasid, false, iova, size, pa, read, write));
        }
    }

    private static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }
}
