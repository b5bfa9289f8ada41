package dev.iommukit.it.mdev;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.api.Unit;

/** Helpers of the mdev integration tests: bytes in a process's memory and the accounting of a clean machine. */
final class MdevFixtures {
    static final long PAGE = 4096;

    private MdevFixtures() {}

    static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 31 + i * 7 + (i >> 8));
        }
        return b;
    }

    static void poke(Machine m, Process p, long va, byte[] data) {
        p.write(va, data);
    }

    static byte[] peek(Machine m, Process p, long va, int length) {
        return p.read(va, length);
    }

    /** Table pages, process pages and PASIDs in use at one moment. */
    record Usage(long tablePages, long processPages, int pasids) {
        static Usage of(Machine m) {
            return new Usage(m.tablePagesInUse(), m.processPagesInUse(), m.pasidsInUse());
        }
    }

    /** No paging domain on any unit, no PASID, and usage as {@code expected}. */
    static void assertClean(Machine m, Usage expected, String when) {
        for (Unit u : m.units()) {
            assertThat(u.pagingDomains()).as(when + ": paging domains left on " + u.name()).isEmpty();
        }
        assertThat(m.pasidsInUse()).as(when + ": PASIDs in use").isZero();
        assertThat(Usage.of(m)).as(when + ": table pages, process pages, PASIDs").isEqualTo(expected);
    }
}
