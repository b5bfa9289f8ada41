package dev.iommukit.mdev;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.api.Unit;

/** Shared helpers: bytes in a process's memory, and the accounting a clean teardown returns to. */
final class TestSupport {
    static final long PAGE = 4096;

    private TestSupport() {}

    /** {@code length} bytes that name {@code seed}, different for every seed. */
    static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 31 + i * 7 + (i >> 8));
        }
        return b;
    }

    /** Writes {@code data} into the process's memory at {@code va}, page by page through its page tables. */
    static void poke(Machine m, Process p, long va, byte[] data) {
        p.write(va, data);
    }

    /** Reads {@code length} bytes of the process's memory at {@code va}. */
    static byte[] peek(Machine m, Process p, long va, int length) {
        return p.read(va, length);
    }

    /** What a machine holds at one moment: table pages, process pages, PASIDs. */
    record Usage(long tablePages, long processPages, int pasids) {
        static Usage of(Machine m) {
            return new Usage(m.tablePagesInUse(), m.processPagesInUse(), m.pasidsInUse());
        }
    }

    /** Asserts that nothing the mdev bus made is left: no paging domain, no PASID, usage as {@code expected}. */
    static void assertClean(Machine m, Usage expected) {
        for (Unit u : m.units()) {
            assertThat(u.pagingDomains()).as("paging domains left on " + u.name()).isEmpty();
        }
        assertThat(m.pasidsInUse()).as("PASIDs in use").isZero();
        assertThat(Usage.of(m)).isEqualTo(expected);
    }
}
