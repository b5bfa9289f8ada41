package dev.iommukit.cli.dump;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.iommukit.api.BackendRegistry;
import dev.iommukit.api.Device;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.cli.fake.FakeBackend;
import dev.iommukit.spi.domain.Permissions;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pins the iommukit-dump/1 format: every field, parsed back with Jackson. */
class StateDumpWriterTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private Machine machine;

    @BeforeEach
    void machine() {
        machine = Machine.builder().backends(BackendRegistry.of(new FakeBackend(), new FakeBackend("other")))
                .ram(0x8000_0000L, 1L << 30)
                .unit("iommu0", "fake").unit("iommu1", "other")
                .device("iommu0", "00:03.0", 8).device("iommu0", "00:04.0", 8).device("iommu0", "00:05.0", 0)
                .device("iommu1", "01:00.1", 0)
                .build();
    }

    @AfterEach
    void close() {
        machine.close();
    }

    private JsonNode dump() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        StateDumpWriter.write(machine, out);
        return JSON.readTree(out.toByteArray());
    }

    /** 00:03.0: 4K rw + 2M r-; 00:04.0: identity without PASID, 1G rw at PASID 5; 00:05.0 and 01:00.1 blocked. */
    private void program() {
        PagingDomain a = machine.unit("iommu0").newPagingDomain();
        a.map(0x10_0000, 0x8000_0000L, 0x1000, Permissions.READ_WRITE);
        a.map(0x20_0000, 0x8020_0000L, 0x20_0000, Permissions.READ);
        machine.device("00:03.0").attach(a);
        PagingDomain b = machine.unit("iommu0").newPagingDomain();
        b.map(0x40_0000_0000L, 0x8000_0000L, 1L << 30, Permissions.READ_WRITE);
        Device d4 = machine.device("00:04.0");
        d4.attach(machine.unit("iommu0").identityDomain());
        d4.attachPasid(5, b);
        machine.device("00:05.0").attach(machine.unit("iommu0").blockedDomain());
    }

    @Test
    void topLevelHasExactlyTheFourFields() throws IOException {
        JsonNode d = dump();
        assertThat(fieldNames(d)).containsExactly("format", "units", "memory", "expect");
        assertThat(d.get("format").textValue()).isEqualTo("iommukit-dump/1");
    }

    @Test
    void unitsCarryNameBackendRegistersAsHexStringsAndEveryDevice() throws IOException {
        program();
        JsonNode units = dump().get("units");
        assertThat(units).hasSize(2);
        JsonNode u = units.get(0);
        assertThat(fieldNames(u)).containsExactly("name", "backend", "registers", "devices");
        assertThat(u.get("name").textValue()).isEqualTo("iommu0");
        assertThat(u.get("backend").textValue()).isEqualTo("fake");
        Map<String, String> registers = new LinkedHashMap<>();
        u.get("registers").properties().forEach(e -> registers.put(e.getKey(), e.getValue().textValue()));
        Map<String, String> expected = new LinkedHashMap<>();
        machine.unit("iommu0").registers().forEach((k, v) -> expected.put(k, "0x" + Long.toHexString(v)));
        assertThat(registers).containsExactlyEntriesOf(expected);
        assertThat(registers).containsEntry("FAKE_ID", "0x46414b45").containsEntry("FAKE_CAP", "0xfedcba9876543210")
                .containsEntry("FAKE_CONTEXTS", "0x4");
        assertThat(u.get("devices")).hasSize(3);
        assertThat(fieldNames(u.get("devices").get(0))).containsExactly("name", "rid");
        assertThat(u.get("devices").get(0).get("name").textValue()).isEqualTo("0000:00:03.0");
        assertThat(u.get("devices").get(0).get("rid").textValue()).isEqualTo("0x18");
        assertThat(u.get("devices").get(1).get("rid").textValue()).isEqualTo("0x20");
        assertThat(u.get("devices").get(2).get("name").textValue()).as("blocked devices are listed too").isEqualTo("0000:00:05.0");
        assertThat(u.get("devices").get(2).get("rid").textValue()).isEqualTo("0x28");
        JsonNode other = units.get(1);
        assertThat(other.get("name").textValue()).isEqualTo("iommu1");
        assertThat(other.get("backend").textValue()).isEqualTo("other");
        assertThat(other.get("devices").get(0).get("name").textValue()).isEqualTo("0000:01:00.1");
        assertThat(other.get("devices").get(0).get("rid").textValue()).isEqualTo("0x101");
    }

    @Test
    void memoryListsEveryNonZeroPageOnceWithItsExactBytes() throws IOException {
        program();
        byte[] hello = "hello".getBytes(StandardCharsets.UTF_8);
        machine.memory().write(0x8000_3ffeL, hello, 0, hello.length);
        machine.memory().write64(0x9000_0000L, 0);
        JsonNode memory = dump().get("memory");
        assertThat(fieldNames(memory)).containsExactly("pageSize", "pages");
        assertThat(memory.get("pageSize").isInt()).isTrue();
        assertThat(memory.get("pageSize").intValue()).isEqualTo(4096);
        Map<Long, byte[]> pages = new TreeMap<>();
        for (JsonNode p : memory.get("pages")) {
            assertThat(fieldNames(p)).containsExactly("pa", "data");
            String pa = p.get("pa").textValue();
            assertThat(pa).matches("0x[0-9a-f]+");
            byte[] data = Base64.getDecoder().decode(p.get("data").textValue());
            assertThat(data).hasSize(4096);
            assertThat(pages.put(Long.parseUnsignedLong(pa.substring(2), 16), data)).as("page %s listed once", pa).isNull();
        }
        Map<Long, byte[]> expected = new TreeMap<>();
        machine.memory().forEachNonZeroPage((pa, words) -> {
            ByteBuffer b = ByteBuffer.allocate(4096).order(ByteOrder.LITTLE_ENDIAN);
            b.asLongBuffer().put(words);
            expected.put(pa, b.array());
        });
        assertThat(pages.keySet()).containsExactlyElementsOf(expected.keySet());
        expected.forEach((pa, bytes) -> assertThat(pages.get(pa)).as("page 0x%x", pa).isEqualTo(bytes));
        assertThat(pages).containsKeys(0x8000_3000L, 0x8000_4000L).doesNotContainKey(0x9000_0000L);
        assertThat(pages.get(0x8000_3000L)[0xffe]).isEqualTo((byte) 'h');
        assertThat(pages.get(0x8000_4000L)[2]).isEqualTo((byte) 'o');
        assertThat(pages.keySet()).as("the page tables of the fake backend live in the table pool")
                .anyMatch(pa -> pa >= Machine.DEFAULT_TABLE_POOL_BASE && pa < Machine.DEFAULT_TABLE_POOL_BASE + Machine.DEFAULT_TABLE_POOL_SIZE);
        for (byte[] page : pages.values()) {
            boolean nonZero = false;
            for (byte x : page) {
                nonZero |= x != 0;
            }
            assertThat(nonZero).isTrue();
        }
    }

    @Test
    void expectListsRangesAndIdentityAsTheSpecShowsThem() throws IOException {
        program();
        JsonNode expect = dump().get("expect");
        List<String> entries = new ArrayList<>();
        for (JsonNode e : expect) {
            entries.add(e.toString());
        }
        assertThat(entries).containsExactlyInAnyOrder(
                "{\"unit\":\"iommu0\",\"rid\":\"0x18\",\"pasid\":null,\"iova\":\"0x100000\",\"size\":\"0x1000\",\"pa\":\"0x80000000\",\"read\":true,\"write\":true}",
                "{\"unit\":\"iommu0\",\"rid\":\"0x18\",\"pasid\":null,\"iova\":\"0x200000\",\"size\":\"0x200000\",\"pa\":\"0x80200000\",\"read\":true,\"write\":false}",
                "{\"unit\":\"iommu0\",\"rid\":\"0x20\",\"pasid\":null,\"identity\":true}",
                "{\"unit\":\"iommu0\",\"rid\":\"0x20\",\"pasid\":5,\"iova\":\"0x4000000000\",\"size\":\"0x40000000\",\"pa\":\"0x80000000\",\"read\":true,\"write\":true}");
        for (JsonNode e : expect) {
            assertThat(e.get("pasid").isNull() || e.get("pasid").isInt()).isTrue();
            assertThat(e.get("rid").isTextual()).isTrue();
        }
    }

    @Test
    void anIdleMachineHasNoExpectationsAndNoPages() throws IOException {
        JsonNode d = dump();
        assertThat(d.get("expect").isArray()).isTrue();
        assertThat(d.get("expect")).isEmpty();
        assertThat(d.get("memory").get("pages")).isEmpty();
    }

    @Test
    void writesToAFileAndLeavesStreamsOpen(@TempDir Path dir) throws IOException {
        program();
        Path file = dir.resolve("state.json");
        StateDumpWriter.write(machine, file);
        assertThat(JSON.readTree(file.toFile()).get("format").textValue()).isEqualTo("iommukit-dump/1");
        ByteArrayOutputStream out = new ByteArrayOutputStream() {
            @Override
            public void close() {
                throw new AssertionError("the writer closed the caller's stream");
            }
        };
        StateDumpWriter.write(machine, out);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo(Files.readString(file)).isEqualTo(StateDumpWriter.toString(machine));
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        node.properties().forEach(e -> {
            names.add(e.getKey());
            seen.add(e.getKey());
        });
        assertThat(seen).hasSameSizeAs(names);
        return names;
    }
}
