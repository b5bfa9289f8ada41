package dev.iommukit.cli.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * Seeded random tables: leaves of every allowed size at random places, written with the tests' own writer, must
 * come back from the walkers exactly (same coverage, output and permissions; nothing more).
 */
class RandomTablesTest {
    private record Leaf(long va, long size, long pa, boolean write) {}

    private static List<Leaf> place(Random random, int count, long inputTop, int[] sizeBits, long paBase) {
        List<Leaf> leaves = new ArrayList<>();
        while (leaves.size() < count) {
            int bits = sizeBits[random.nextInt(sizeBits.length)];
            long size = 1L << bits;
            long va = (random.nextLong() & (inputTop - 1)) & -size;
            boolean overlaps = leaves.stream().anyMatch(l -> va < l.va + l.size && l.va < va + size);
            if (!overlaps) {
                long pa = paBase + ((random.nextLong() & 0xF_FFFF_FFFFL) & -size);
                leaves.add(new Leaf(va, size, pa, random.nextBoolean()));
            }
        }
        return leaves;
    }

    /** Every leaf is covered by a walked range with its PA and permission, and the walk covers nothing else. */
    private static void assertWalkMatches(WalkResult r, List<Leaf> leaves) {
        long total = 0;
        for (Leaf l : leaves) {
            total += l.size;
            Mapping m = r.ranges().stream()
                    .filter(x -> Long.compareUnsigned(x.iova(), l.va) <= 0
                            && Long.compareUnsigned(l.va + l.size - 1, x.lastIova()) <= 0)
                    .findFirst().orElseThrow(() -> new AssertionError("no range covers " + l));
            assertThat(m.pa() + (l.va - m.iova())).as("PA of %s", l).isEqualTo(l.pa);
            assertThat(m.read()).isTrue();
            assertThat(m.write()).as("write of %s", l).isEqualTo(l.write);
        }
        assertThat(r.ranges().stream().mapToLong(Mapping::size).sum()).isEqualTo(total);
    }

    @Test
    void vmsaStage1_allGranules_randomLeaves_sec7_sec8() {
        Random random = new Random(0x5EED);
        int[][] cases = {{12, 16}, {12, 25}, {14, 16}, {14, 20}, {16, 16}, {16, 22}};
        for (int[] c : cases) {
            int g = c[0];
            int t0sz = c[1];
            int ia = 64 - t0sz;
            int start = VmsaWalker.stage1StartLevel(g, ia);
            int stride = g - 3;
            int[] sizes = g == 12 ? new int[] {12, 21, 30} : new int[] {g, g + stride};
            SmmuFixture f = SmmuFixture.linear(8);
            long ttb = f.dump.alloc(1L << g);
            List<Leaf> leaves = place(random, 40, 1L << ia, sizes, 0x1_0000_0000L);
            for (Leaf l : leaves) {
                int level = 3 - (Long.numberOfTrailingZeros(l.size) - g) / stride;
                f.dump.vmsaMap(g, start, ia, ttb, l.va, l.pa, level, SmmuFixture.s1(true, !l.write));
            }
            long cd = f.dump.alloc(64);
            int tg0 = g == 12 ? 0 : g == 16 ? 1 : 2;
            f.dump.write(cd, SmmuFixture.cd0(t0sz, tg0, 5, 1), SmmuFixture.cd1(ttb));
            f.steLinear(3, SmmuFixture.ste0(0b101, 0, cd, 0), 0);
            assertWalkMatches(SmmuFixture.walk(f.build(3), 3, Requester.NO_PASID), leaves);
        }
    }

    @Test
    void vtdSecondLevel_4and5Levels_randomLeaves_sec8() {
        Random random = new Random(0xD0D0);
        for (int aw : new int[] {2, 3}) {
            VtdFixture f = new VtdFixture();
            f.registers.put("CAP_REG", VtdFixture.CAP | 0b01000L << 8 | 56L << 16); // 57-bit SAGAW and MGAW
            int levels = aw + 2;
            long sl = f.dump.alloc(4096);
            List<Leaf> leaves = place(random, 60, 1L << (30 + 9 * aw), new int[] {12, 21, 30}, 0x2_0000_0000L);
            for (Leaf l : leaves) {
                int level = 1 + (Long.numberOfTrailingZeros(l.size) - 12) / 9;
                f.dump.intelMap(levels, sl, l.va, l.pa, level, VtdFixture.SL_RW, l.write ? 0b11 : 0b01);
            }
            long dir = f.context(0x20, false, 0, 0);
            f.pasidEntry(dir, 0, VtdFixture.pe0(aw, 0b010, sl), VtdFixture.pe1(1, true), 0);
            assertWalkMatches(VtdFixture.walk(f.build(0x20), 0x20, Requester.NO_PASID), leaves);
        }
    }
}
