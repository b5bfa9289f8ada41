package dev.iommukit.backend.smmuv3;

import static dev.iommukit.backend.smmuv3.NestedGuest.GUEST_PA;
import static dev.iommukit.backend.smmuv3.NestedGuest.GUEST_RAM;
import static dev.iommukit.backend.smmuv3.NestedGuest.LEAF;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.smmuv3.arch.EventRecord;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.NestedDomain;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.SmmuContextTableConfig.DefaultSubstream;
import dev.iommukit.spi.nested.SmmuContextTableConfig.Format;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * A hostile guest with a PASID-table bind (fixed seed, fixed budget): random CD table placements
 * and formats, garbage and half-valid CDs, L1CDs, table descriptors and pointers inside and outside
 * its stage 2, then random DMA. Every request either translates to a PA its stage 2 maps, or ends
 * in an architectural event; nothing throws and nothing escapes.
 */
class HostileGuestTest {
    private static final long SEED = 0x5EED_0F_6E57L;
    private static final int ROUNDS = 80;
    private static final int WRITES_PER_ROUND = 64;
    private static final int REQUESTS_PER_ROUND = 150;

    private final TestMachine m = new TestMachine();
    private final NestedGuest g;
    private final Random rnd = new Random(SEED);
    private final List<Long> roots = new ArrayList<>();
    private final List<Long> vas = new ArrayList<>();

    HostileGuestTest() {
        m.unit.probeDevice(TestMachine.DEV, 20);
        g = new NestedGuest(m);
    }

    private long guestIpa(int align) {
        return (rnd.nextLong() & (GUEST_RAM - 1)) & -align;
    }

    /** An IPA: mostly inside guest RAM, sometimes just outside, sometimes anywhere in 48 or 64 bits. */
    private long pointer(int align) {
        return switch (rnd.nextInt(8)) {
            case 0 -> (GUEST_RAM + (rnd.nextLong() & 0xFF_FFFFL)) & -align;
            case 1 -> (rnd.nextLong() & 0xFFFF_FFFF_FFFFL) & -align;
            case 2 -> rnd.nextLong() & -align;
            default -> guestIpa(align);
        };
    }

    /** A real guest mapping now and then, so that some requests do translate. */
    private void mapSomething() {
        if (roots.isEmpty() || rnd.nextInt(4) == 0) {
            roots.add(g.page());
        }
        long root = roots.get(rnd.nextInt(roots.size()));
        long va = (rnd.nextLong() & 0xFFFF_FFFF_F000L);
        long attrs = rnd.nextInt(4) == 0 ? rnd.nextLong() & 0xFFF0_0000_0000_0FFFL : LEAF;
        g.map(root, va, guestIpa(4096), attrs | 1);
        vas.add(va);
    }

    private long[] cd(SmmuContextTableConfig cfg) {
        long ttb = switch (rnd.nextInt(4)) {
            case 0 -> pointer(16);
            default -> roots.isEmpty() ? pointer(4096) : roots.get(rnd.nextInt(roots.size()));
        };
        long[] cd = NestedGuest.cd(rnd.nextInt(4), ttb);
        int mutations = rnd.nextInt(4);
        for (int i = 0; i < mutations; i++) {
            int word = rnd.nextInt(4);
            cd[word] ^= 1L << rnd.nextInt(64);
        }
        if (rnd.nextInt(8) == 0) {
            for (int i = 0; i < 8; i++) {
                cd[i] = rnd.nextLong();
            }
        }
        return cd;
    }

    private void garbage(SmmuContextTableConfig cfg) {
        long table = cfg.contextTableAddress();
        for (int i = 0; i < WRITES_PER_ROUND; i++) {
            int what = rnd.nextInt(6);
            int ssid = rnd.nextInt(1 << Math.min(cfg.cdMaxBits(), 6));
            long at;
            switch (what) {
                case 0 -> mapSomething();
                case 1 -> { // a CD (linear) or an L1CD + leaf CD (2-level)
                    if (table >= GUEST_RAM - 0x1000) {
                        continue;
                    }
                    if (cfg.format() == Format.LINEAR || cfg.cdMaxBits() == 0) {
                        at = table + 64L * ssid;
                        if (at + 64 <= GUEST_RAM) {
                            g.writeCd(at, cd(cfg));
                        }
                    } else {
                        int split = cfg.format() == Format.TWO_LEVEL_4K ? 6 : 10;
                        long leaf = rnd.nextInt(4) == 0 ? pointer(4096) : guestIpa(1 << (split + 6));
                        g.write(table + 8L * (ssid >>> split), (leaf & 0x000F_FFFF_FFFF_F000L) | (rnd.nextInt(5) == 0 ? 0 : 1)
                                | (rnd.nextInt(8) == 0 ? rnd.nextLong() & 0xFFE : 0));
                        long cdAt = (leaf & 0x000F_FFFF_FFFF_F000L) + 64L * (ssid & ((1 << split) - 1));
                        if (cdAt + 64 <= GUEST_RAM) {
                            g.writeCd(cdAt, cd(cfg));
                        }
                    }
                }
                case 2 -> { // a table descriptor to anywhere in an existing table
                    if (!roots.isEmpty()) {
                        long root = roots.get(rnd.nextInt(roots.size()));
                        g.write(root + 8L * rnd.nextInt(512), pointer(4096) | 3);
                    }
                }
                case 3 -> g.write(guestIpa(8), rnd.nextLong()); // anything anywhere in guest RAM
                case 4 -> { // flip a bit of a live leaf
                    if (!vas.isEmpty() && !roots.isEmpty()) {
                        long root = roots.get(rnd.nextInt(roots.size()));
                        long slot = root + 8L * ((vas.get(rnd.nextInt(vas.size())) >>> 39) & 511);
                        g.write(slot, g.read(slot) ^ 1L << rnd.nextInt(64));
                    }
                }
                default -> g.write(table & (GUEST_RAM - 1) & -8, rnd.nextLong());
            }
        }
    }

    private SmmuContextTableConfig config() {
        Format format = Format.values()[rnd.nextInt(3)];
        int cdMax = rnd.nextInt(3) == 0 ? rnd.nextInt(21) : rnd.nextInt(7);
        long address = rnd.nextInt(6) == 0 ? pointer(64) & 0xFFFF_FFFF_FFC0L : guestIpa(4096);
        return new SmmuContextTableConfig(address, format, cdMax, DefaultSubstream.values()[rnd.nextInt(3)]);
    }

    private List<CacheInvalidation> invalidations() {
        List<CacheInvalidation> batch = new ArrayList<>();
        batch.add(CacheInvalidation.domain(CacheInvalidation.Cache.PASID, CacheInvalidation.Cache.IOTLB));
        for (int i = rnd.nextInt(4); i > 0; i--) {
            batch.add(switch (rnd.nextInt(4)) {
                case 0 -> CacheInvalidation.pasid(rnd.nextInt(1 << 20), CacheInvalidation.Cache.PASID);
                case 1 -> CacheInvalidation.asid(rnd.nextInt(1 << 16));
                case 2 -> CacheInvalidation.asidRange(rnd.nextInt(4), rnd.nextLong() & 0xFFFF_FFFF_F000L, 4096, 1 + rnd.nextInt(100), rnd.nextBoolean());
                default -> CacheInvalidation.range(rnd.nextInt(1 << 20), rnd.nextLong() & 0xFFFF_FFE0_0000L, 2L << 20, 1 + rnd.nextInt(3), false);
            });
        }
        return batch;
    }

    private long address() {
        return switch (rnd.nextInt(5)) {
            case 0 -> rnd.nextLong();
            case 1 -> guestIpa(1);
            default -> vas.isEmpty() ? rnd.nextLong() : vas.get(rnd.nextInt(vas.size())) + rnd.nextInt(4096);
        };
    }

    @Test
    void garbageInTheGuestsStructuresGivesArchitecturalFaultsNeverAnEscape() {
        for (int i = 0; i < 8; i++) {
            mapSomething();
        }
        NestedDomain current = null;
        int translated = 0;
        Set<String> events = new TreeSet<>();
        Set<FaultStage> stages = new TreeSet<>();
        TranslationOutcome out = new TranslationOutcome();
        for (int round = 0; round < ROUNDS; round++) {
            SmmuContextTableConfig cfg = config();
            NestedDomain next = g.nest(cfg);
            m.unit.attach(TestMachine.DEV, Pasid.NONE, next);
            if (current != null) {
                current.free();
            }
            current = next;
            garbage(cfg);
            assertThat(current.invalidate(invalidations()).isComplete()).isTrue();
            for (int r = 0; r < REQUESTS_PER_ROUND; r++) {
                int pasid = rnd.nextInt(3) == 0 ? Pasid.NONE : rnd.nextInt(4) == 0 ? rnd.nextInt(1 << 20) : rnd.nextInt(1 << Math.min(6, Math.max(1, cfg.cdMaxBits())));
                AccessType access = rnd.nextBoolean() ? AccessType.READ : AccessType.WRITE;
                DmaRequest req = new DmaRequest(TestMachine.DEV.value(), pasid, address(), 4, access, rnd.nextInt(8) == 0, rnd.nextInt(4) == 0);
                m.unit.dmaPort().translate(req, out);
                if (out.isTranslated()) {
                    translated++;
                    assertThat(out.physicalAddress()).as("round %d request %s", round, req)
                            .isBetween(GUEST_PA, GUEST_PA + GUEST_RAM - 1);
                } else {
                    Fault f = out.fault();
                    assertThat(f.record().format()).isEqualTo(EventRecord.FORMAT);
                    assertThat(f.record().words()).as("an event record, not a model error: %s", f).hasSize(4);
                    events.add(f.record().name());
                    stages.add(f.stage());
                }
            }
            m.faults.clear();
        }
        assertThat(translated).as("some requests translate").isGreaterThan(50);
        assertThat(events).contains("C_BAD_CD", "F_TRANSLATION", "C_BAD_SUBSTREAMID");
        assertThat(stages).contains(FaultStage.STAGE_1, FaultStage.STAGE_2);
    }
}
