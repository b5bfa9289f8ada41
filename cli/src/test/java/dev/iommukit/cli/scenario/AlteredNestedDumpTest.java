package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.iommukit.api.BackendRegistry;
import dev.iommukit.cli.dump.StateDumpWriter;
import dev.iommukit.cli.inspect.DumpChecker;
import dev.iommukit.cli.inspect.DumpReader;
import dev.iommukit.cli.inspect.Mismatch;
import dev.iommukit.cli.inspect.Requester;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Base64;
import java.util.List;
import java.util.function.LongPredicate;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.Test;

/**
 * The dumps of the shipped nested scenarios, altered by hand in the guest's own page tables (guest RAM, reached only
 * through stage 2): the independent walker catches the change at the guest PASID or substream, because
 * {@code expect} comes from the guest's bookkeeping, not from the tables.
 */
class AlteredNestedDumpTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long ADDRESS_MASK = 0x000F_FFFF_FFFF_F000L;

    private static String dumpOf(String scenario) throws IOException {
        Scenario s = ScenarioParser.parse(Path.of("..", "scenarios", scenario));
        BackendRegistry registry = BackendRegistry.discover();
        assumeTrue(s.machine().units().stream().allMatch(u -> registry.find(u.backend()).isPresent()));
        StringWriter out = new StringWriter();
        String[] dump = new String[1];
        RunResult r = new ScenarioRunner(registry, new PrintWriter(out)).run(s, (m, guests) -> dump[0] = StateDumpWriter.toString(m, guests));
        assertThat(r.failures()).as(out.toString()).isEmpty();
        assertThat(new DumpChecker().check(new DumpReader().read(dump[0])).ok()).as("the unaltered dump passes").isTrue();
        return dump[0];
    }

    /** Rewrites every 64-bit word of the dump's memory that {@code match} accepts; returns the altered dump and the count. */
    private static Object[] alter(String dump, LongPredicate match, LongUnaryOperator change) throws IOException {
        JsonNode root = JSON.readTree(dump);
        int altered = 0;
        for (JsonNode page : root.get("memory").get("pages")) {
            ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(page.get("data").textValue())).order(ByteOrder.LITTLE_ENDIAN);
            boolean changed = false;
            for (int i = 0; i < 4096; i += 8) {
                long word = bytes.getLong(i);
                if (match.test(word)) {
                    bytes.putLong(i, change.applyAsLong(word));
                    changed = true;
                    altered++;
                }
            }
            if (changed) {
                ((ObjectNode) page).put("data", Base64.getEncoder().encodeToString(bytes.array()));
            }
        }
        return new Object[] {JSON.writeValueAsString(root), altered};
    }

    private static List<Mismatch> check(String dump) {
        return new DumpChecker().check(new DumpReader().read(dump)).mismatches();
    }

    @Test
    void vtdGuestLeafRedirectedInGuestRam_isCaughtAtTheGuestPasid() throws IOException {
        String dump = dumpOf("vtd-gpasid.json");
        // The nic's guest maps VA 0x400000 to GPA 0x100000: an x86-64 leaf (P=1) naming 0x100000, found only in guest RAM.
        Object[] altered = alter(dump, w -> (w & 1) == 1 && (w & ADDRESS_MASK) == 0x10_0000L,
                w -> (w & ~ADDRESS_MASK) | 0x30_0000L);
        assertThat(altered[1]).isEqualTo(1);
        List<Mismatch> mismatches = check((String) altered[0]);
        assertThat(mismatches).isNotEmpty().allSatisfy(m -> {
            assertThat(m.requester()).isEqualTo(new Requester(0x18, 2));
            assertThat(m.iova()).isEqualTo(0x40_0000L);
        });
        assertThat(mismatches).extracting(Mismatch::kind).contains(Mismatch.Kind.ISOLATION, Mismatch.Kind.FUNCTIONAL);
    }

    @Test
    void vtdGuestReadOnlyLeafMadeWritableInGuestRam_isAnIsolationError() throws IOException {
        String dump = dumpOf("vtd-gpasid.json");
        Object[] altered = alter(dump, w -> (w & 0b11) == 0b01 && (w & ADDRESS_MASK) == 0x10_2000L, w -> w | 0b10);
        assertThat(altered[1]).isEqualTo(1);
        assertThat(check((String) altered[0])).singleElement().satisfies(m -> {
            assertThat(m.kind()).isEqualTo(Mismatch.Kind.ISOLATION);
            assertThat(m.requester()).isEqualTo(new Requester(0x18, 2));
            assertThat(m.iova()).isEqualTo(0x40_2000L);
        });
    }

    @Test
    void smmuGuestLeafRedirectedInGuestRam_isCaughtAtTheSubstream() throws IOException {
        String dump = dumpOf("smmuv3-pasid-table.json");
        // Substream 1's tables (shared by the gpu's CD 1) map VA 0x7f0000000000 to IPA 0x100000: a VMSAv8-64 page descriptor.
        Object[] altered = alter(dump, w -> (w & 0b11) == 0b11 && (w & 0x0000_FFFF_FFFF_F000L) == 0x10_0000L && (w & 1L << 10) != 0,
                w -> (w & ~0x0000_FFFF_FFFF_F000L) | 0x30_0000L);
        assertThat(altered[1]).isEqualTo(1);
        List<Mismatch> mismatches = check((String) altered[0]);
        assertThat(mismatches).extracting(Mismatch::requester).containsOnly(new Requester(0x18, 1), new Requester(0x20, 1));
        assertThat(mismatches).extracting(Mismatch::kind).contains(Mismatch.Kind.ISOLATION, Mismatch.Kind.FUNCTIONAL);
    }
}
