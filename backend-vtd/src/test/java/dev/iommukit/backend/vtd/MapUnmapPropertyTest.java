package dev.iommukit.backend.vtd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;

/**
 * Random map and unmap sequences (4 KiB and 2 MiB pages, unmaps that cut 2 MiB pages) against a
 * model: after every step a DMA to each touched page reaches exactly what the model says.
 */
class MapUnmapPropertyTest {
    private static final int PAGES = 2048; // an 8 MiB window of 4 KiB pages

    @Property(tries = 25)
    void secondLevelMatchesModel(@ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 3 * PAGES - 1) Integer> ops) {
        run(ops, "second");
    }

    @Property(tries = 15)
    void firstLevelMatchesModel(@ForAll @Size(min = 1, max = 40) List<@IntRange(min = 0, max = 3 * PAGES - 1) Integer> ops) {
        run(ops, "first");
    }

    private static void run(List<Integer> ops, String level) {
        try (VtdMachine m = new VtdMachine(Map.of("pagingLevel", level))) {
            RequesterId dev = RequesterId.parse("00:04.0");
            m.driver.probeDevice(dev, 0);
            BackendDomain d = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
            m.driver.attach(dev, Pasid.NONE, d);
            Map<Integer, Long> model = new HashMap<>();
            int step = 0;
            for (int op : ops) {
                step++;
                int page = op % PAGES;
                long iova = (long) page << 12;
                switch (op / PAGES) {
                    case 0 -> {
                        if (!model.containsKey(page)) {
                            long pa = 0x1000_0000L + ((long) step << 24) + iova;
                            d.map(iova, pa, 4096, 1, Permissions.READ_WRITE);
                            model.put(page, pa);
                        }
                    }
                    case 1 -> {
                        int first = page & ~511;
                        boolean free = true;
                        for (int i = first; i < first + 512; i++) {
                            free &= !model.containsKey(i);
                        }
                        if (free) {
                            long base = 0x1000_0000L + ((long) step << 24) + ((long) first << 12);
                            d.map((long) first << 12, base, 1L << 21, 1, Permissions.READ_WRITE);
                            for (int i = first; i < first + 512; i++) {
                                model.put(i, base + ((long) (i - first) << 12));
                            }
                        }
                    }
                    default -> {
                        if (model.containsKey(page)) {
                            d.unmap(iova, 4096);
                            model.remove(page);
                        }
                    }
                }
                for (int probe : new int[] {page, page ^ 1, page | 511, page & ~511}) {
                    long expected = model.getOrDefault(probe, -1L);
                    long actual = m.read(dev.value(), ((long) probe << 12) + 8);
                    assertThat(actual).as("page %d after step %d", probe, step).isEqualTo(expected < 0 ? -1 : expected + 8);
                    assertThat(d.iovaToPhys((long) probe << 12)).isEqualTo(expected);
                }
            }
            m.driver.attach(dev, Pasid.NONE, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
            d.free();
            m.driver.releaseDevice(dev);
        }
    }
}
