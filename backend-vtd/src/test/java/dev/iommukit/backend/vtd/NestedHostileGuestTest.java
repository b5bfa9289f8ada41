package dev.iommukit.backend.vtd;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.vtd.arch.FaultReasonCode;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.NestedDomain;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import dev.iommukit.spi.pgtable.x86.X86PagingEntry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A hostile guest with a fixed seed and budget: its second level maps guest RAM page by page
 * with mixed permissions (RW, read-only, write-only, absent); the guest fills its first-level
 * tables with garbage and with plausible entries pointing anywhere (inside RAM, past it, above
 * the GPA limit, above HAW), invalidates or not, and its device sends DMA. Every request either
 * faults with an architectural record or lands on a host page the second level maps with the
 * access asked for; hardware never writes (A/D) into a page the second level does not let it
 * write, nor anywhere outside guest RAM.
 */
class NestedHostileGuestTest {
    private static final RequesterId DEV = RequesterId.parse("00:07.0");
    private static final int SID = DEV.value();
    private static final int PASID = 33;
    private static final long HOST = 0x1000_0000L;
    private static final long RAM = 2L << 20;
    private static final long CANARY = 0x1800_0000L;
    private static final long CANARY_SIZE = 64L << 10;
    private static final int ROUNDS = 4000;
    private static final long SEED = 0x5EED_2026L;

    @Test
    void garbageFirstLevelNeverEscapesTheSecondLevel() {
        Random random = new Random(SEED);
        try (VtdMachine m = new VtdMachine()) {
            m.driver.probeDevice(DEV, 8);
            BackendDomain parent = m.driver.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
            // Pages 0..15 hold the guest's tables and stay RW; the rest get random SL permissions.
            Map<Long, Integer> slPerms = new HashMap<>();
            for (long gpa = 0; gpa < RAM; gpa += 4096) {
                int roll = random.nextInt(10);
                int perms = gpa < 0x10000 || roll < 6 ? Permissions.READ_WRITE
                        : roll < 8 ? Permissions.READ : roll < 9 ? Permissions.WRITE : Permissions.NONE;
                if (perms != Permissions.NONE) {
                    parent.map(gpa, HOST + gpa, 4096, 1, perms);
                }
                slPerms.put(gpa, perms);
            }
            // Garbage everywhere in guest RAM to start with, and a canary outside it.
            for (long a = 0; a < RAM; a += 8) {
                m.memory.write64(HOST + a, garbage(random));
            }
            for (long a = 0; a < CANARY_SIZE; a += 8) {
                m.memory.write64(CANARY + a, 0xC0FF_EE00_0000_0000L | a);
            }
            Map<Long, long[]> frozen = new HashMap<>();
            for (Map.Entry<Long, Integer> e : slPerms.entrySet()) {
                if ((e.getValue() & Permissions.WRITE) == 0) {
                    frozen.put(e.getKey(), page(m, HOST + e.getKey()));
                }
            }
            NestedDomain nested = m.driver.allocateNestedDomain(parent, new VtdFirstLevelConfig(0x1000, 48,
                    Set.of(VtdGuestPasidFlag.SRE)));
            m.driver.attach(DEV, PASID, nested);
            long[] vas = new long[16];
            for (int i = 0; i < vas.length; i++) {
                vas[i] = (random.nextLong() & 0x0000_7FFF_FFFF_F000L) | (i < 4 ? 0xFFFF_8000_0000_0000L : 0);
            }
            int translated = 0;
            Map<FaultReasonCode, Integer> faults = new EnumMap<>(FaultReasonCode.class);
            List<String> escapes = new ArrayList<>();
            TranslationOutcome out = new TranslationOutcome();
            for (int round = 0; round < ROUNDS; round++) {
                long va = vas[random.nextInt(vas.length)];
                // The guest writes plausible entries along the walk of va, or garbage, into its writable pages.
                long table = random.nextInt(8) == 0 ? random.nextInt(16) * 4096L : 0x1000;
                for (int shift = 39; shift >= 12; shift -= 9) {
                    long slot = table + ((va >>> shift) & 0x1FF) * 8;
                    long entry = random.nextInt(8) == 0 ? garbage(random) : plausible(random, shift);
                    if ((slPerms.get(slot & ~0xFFFL) & Permissions.WRITE) != 0 && random.nextInt(4) != 0) {
                        m.memory.write64(HOST + slot, entry);
                    }
                    long next = m.memory.read64(HOST + (slot & ~7L)) & X86PagingEntry.ADDRESS_MASK;
                    if (next >= RAM) {
                        break;
                    }
                    table = next;
                }
                if (random.nextInt(4) != 0) {
                    nested.invalidate(List.of(random.nextBoolean() ? CacheInvalidation.pasid(PASID, CacheInvalidation.Cache.IOTLB)
                            : CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB, CacheInvalidation.Cache.PASID)));
                }
                boolean write = random.nextBoolean();
                long address = va | random.nextInt(4096) & ~3;
                DmaRequest request = new DmaRequest(SID, PASID, address, 4, write ? AccessType.WRITE : AccessType.READ, false,
                        random.nextBoolean());
                m.hw.dmaPort().translate(request, out);
                if (out.isTranslated()) {
                    translated++;
                    long pa = out.physicalAddress();
                    long gpa = (pa & ~0xFFFL) - HOST;
                    Integer perms = pa >= HOST && gpa < RAM ? slPerms.get(gpa) : null;
                    if (perms == null || (perms & (write ? Permissions.WRITE : Permissions.READ)) == 0) {
                        escapes.add(String.format("%s 0x%x -> 0x%x (SL perms %s)", request.access(), address, pa, perms));
                    }
                } else {
                    FaultReasonCode code = FaultReasonCode.of(out.fault().record().code());
                    assertThat(code).as("architectural fault code").isNotNull();
                    assertThat(out.fault().stage()).isIn(FaultStage.STAGE_1, FaultStage.STAGE_2, FaultStage.NONE);
                    faults.merge(code, 1, Integer::sum);
                }
                nested.iovaToPhys(address);
            }
            assertThat(escapes).as("translations outside the SL mapping or its permissions").isEmpty();
            assertThat(translated).as("some requests succeed").isGreaterThan(ROUNDS / 50);
            assertThat(faults.keySet()).as("faults of both stages occur").contains(FaultReasonCode.SFS_2, FaultReasonCode.SSS_2);
            for (Map.Entry<Long, long[]> e : frozen.entrySet()) {
                assertThat(page(m, HOST + e.getKey())).as("SL read-only/absent page 0x%x unchanged", e.getKey()).isEqualTo(e.getValue());
            }
            for (long a = 0; a < CANARY_SIZE; a += 8) {
                assertThat(m.memory.read64(CANARY + a)).isEqualTo(0xC0FF_EE00_0000_0000L | a);
            }
            m.driver.attach(DEV, PASID, m.driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
            nested.free();
            m.driver.releaseDevice(DEV);
            parent.free();
        }
    }

    private static long[] page(VtdMachine m, long pa) {
        long[] words = new long[512];
        for (int i = 0; i < 512; i++) {
            words[i] = m.memory.read64(pa + 8L * i);
        }
        return Arrays.copyOf(words, words.length);
    }

    /** Anything at all. */
    private static long garbage(Random random) {
        return random.nextLong();
    }

    /** A present entry with random flags pointing somewhere: mostly inside guest RAM, sometimes past it or far above. */
    private static long plausible(Random random, int shift) {
        long flags = X86PagingEntry.P | (random.nextInt(8) == 0 ? 0 : X86PagingEntry.US) | (random.nextInt(5) == 0 ? 0 : X86PagingEntry.RW)
                | (random.nextInt(4) == 0 ? X86PagingEntry.A : 0) | (random.nextInt(6) == 0 ? X86PagingEntry.D : 0)
                | ((shift == 21 || shift == 30) && random.nextInt(5) == 0 ? X86PagingEntry.PS : 0);
        long target = switch (random.nextInt(12)) {
            case 0 -> RAM + random.nextInt(1 << 20) * 4096L;            // past guest RAM
            case 1 -> (random.nextLong() & 0x000F_FFFF_FFFF_F000L);      // anywhere, above X and HAW too
            case 2 -> (1L << 47) | random.nextInt(512) * 4096L;          // below HAW, near the limit
            case 3, 4, 5 -> random.nextInt((int) (RAM / 4096)) * 4096L;  // any page of guest RAM
            default -> shift == 12 ? random.nextInt((int) (RAM / 4096)) * 4096L
                    : random.nextInt(16) * 4096L;                        // one of the guest's table pages
        };
        return target | flags;
    }
}
