package dev.iommukit.cli.dump;

import com.fasterxml.jackson.core.JsonEncoding;
import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import dev.iommukit.api.Device;
import dev.iommukit.api.Machine;
import dev.iommukit.api.ReachableRange;
import dev.iommukit.api.Unit;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;

/**
 * Writes the state of a {@link Machine} as an {@code iommukit-dump/1} document
 * ({@code shared/spec/dump-format.md}): each unit's architectural registers and devices, every
 * non-zero 4 KiB page of physical memory, and the ranges the API says each requester can reach.
 * Values that may exceed 2^53 are {@code "0x..."} strings; an outside tool needs nothing else to
 * walk the structures and compare.
 */
public final class StateDumpWriter {
    /** The value of the document's {@code format} field. */
    public static final String FORMAT = "iommukit-dump/1";
    private static final JsonFactory JSON = new JsonFactory();

    private StateDumpWriter() {}

    /** Writes the dump of {@code machine} to {@code file}, replacing it. */
    public static void write(Machine machine, Path file) throws IOException {
        try (OutputStream out = Files.newOutputStream(file)) {
            write(machine, out);
        }
    }

    /** Writes the dump of {@code machine} to {@code out} as UTF-8 JSON; {@code out} stays open. */
    public static void write(Machine machine, OutputStream out) throws IOException {
        try (JsonGenerator g = JSON.createGenerator(out, JsonEncoding.UTF8)) {
            g.disable(JsonGenerator.Feature.AUTO_CLOSE_TARGET);
            g.setPrettyPrinter(new DefaultPrettyPrinter().withObjectIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.withLinefeed("\n"))
                    .withArrayIndenter(DefaultIndenter.SYSTEM_LINEFEED_INSTANCE.withLinefeed("\n")));
            g.writeStartObject();
            g.writeStringField("format", FORMAT);
            writeUnits(g, machine);
            writeMemory(g, machine.memory());
            writeExpect(g, machine);
            g.writeEndObject();
            g.writeRaw('\n');
        }
    }

    /** The dump of {@code machine} as a string. */
    public static String toString(Machine machine) {
        var out = new java.io.ByteArrayOutputStream();
        try {
            write(machine, out);
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

    private static void writeExpect(JsonGenerator g, Machine machine) throws IOException {
        g.writeArrayFieldStart("expect");
        for (ReachableRange r : machine.reachableRanges()) {
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

    private static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }
}
