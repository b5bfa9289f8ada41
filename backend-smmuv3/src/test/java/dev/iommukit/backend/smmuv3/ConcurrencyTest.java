package dev.iommukit.backend.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.FaultReason;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Translations on many threads while the driver maps, unmaps and re-attaches. */
class ConcurrencyTest {
    private static final int PAGES = 8;
    private static final int GENERATIONS = 250;

    @Test
    void noRequestStartedAfterUnmapReachesTheOldPage() throws Exception {
        TestMachine m = new TestMachine();
        m.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        AtomicIntegerArray unmapped = new AtomicIntegerArray(PAGES);
        for (int i = 0; i < PAGES; i++) {
            unmapped.set(i, -1);
            d.map(iova(i), pa(0, i), 0x1000, 1, Permissions.READ_WRITE);
        }
        AtomicBoolean done = new AtomicBoolean();
        AtomicReference<String> violation = new AtomicReference<>();
        List<Thread> readers = new ArrayList<>();
        int[] translated = new int[4];
        for (int t = 0; t < 4; t++) {
            int id = t;
            Thread r = new Thread(() -> {
                TranslationOutcome out = new TranslationOutcome();
                int page = id;
                while (!done.get()) {
                    page = (page + 1) % PAGES;
                    int before = unmapped.get(page);
                    m.unit.dmaPort().translate(DmaRequest.of(TestMachine.DEV.value(), Pasid.NONE, iova(page) + 8, 4, AccessType.READ), out);
                    if (out.isTranslated()) {
                        translated[id]++;
                        long g = (out.physicalAddress() - TestMachine.RAM) / 0x1000 / PAGES;
                        if (g <= before) {
                            violation.compareAndSet(null, "page " + page + " reached generation " + g + " after unmap of " + before);
                        }
                    } else if (out.fault().reason() != FaultReason.NOT_MAPPED) {
                        violation.compareAndSet(null, "unexpected fault " + out.fault());
                    }
                }
            });
            readers.add(r);
            r.start();
        }
        for (int g = 0; g < GENERATIONS; g++) {
            for (int i = 0; i < PAGES; i++) {
                d.unmap(iova(i), 0x1000);
                unmapped.set(i, g);
                d.map(iova(i), pa(g + 1, i), 0x1000, 1, Permissions.READ_WRITE);
            }
        }
        done.set(true);
        for (Thread r : readers) {
            r.join();
        }
        assertThat(violation.get()).isNull();
        assertThat(translated[0] + translated[1] + translated[2] + translated[3]).isPositive();
    }

    private static long iova(int page) {
        return 0x10_0000L + page * 0x1000L;
    }

    private static long pa(int generation, int page) {
        return TestMachine.RAM + ((long) generation * PAGES + page) * 0x1000L;
    }

    @Test
    void replacingTheRidDomainNeverShowsATornSte() throws Exception {
        TestMachine m = new TestMachine();
        m.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain a = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        BackendDomain b = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.NESTING_PARENT);
        BackendDomain id = m.unit.allocateDomain(DomainType.IDENTITY, DomainOptions.DEFAULT);
        a.map(0x4000, TestMachine.RAM + 0xA000, 0x1000, 1, Permissions.READ);
        b.map(0x4000, TestMachine.RAM + 0xB000, 0x1000, 1, Permissions.READ);
        Set<String> seen = ConcurrentHashMap.newKeySet();
        AtomicBoolean done = new AtomicBoolean();
        Thread reader = new Thread(() -> {
            TranslationOutcome out = new TranslationOutcome();
            while (!done.get()) {
                m.unit.dmaPort().translate(DmaRequest.of(TestMachine.DEV.value(), Pasid.NONE, 0x4000, 4, AccessType.READ), out);
                seen.add(out.isTranslated() ? Long.toHexString(out.physicalAddress()) : out.fault().record().name());
            }
        });
        reader.start();
        BackendDomain[] cycle = {a, b, id, a, id, b};
        for (int i = 0; i < 300; i++) {
            m.unit.attach(TestMachine.DEV, Pasid.NONE, cycle[i % cycle.length]);
        }
        done.set(true);
        reader.join();
        assertThat(seen).isSubsetOf(Long.toHexString(TestMachine.RAM + 0xA000), Long.toHexString(TestMachine.RAM + 0xB000), "4000",
                "STE_ABORT", "F_TRANSLATION");
        assertThat(m.faults).as("no event: transitions are silent").isEmpty();
    }

    @Test
    void replacingOneStage1DomainByAnotherIsHitless() throws Exception {
        TestMachine m = new TestMachine();
        m.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain a = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        BackendDomain c = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        a.map(0x4000, TestMachine.RAM + 0xA000, 0x1000, 1, Permissions.READ);
        c.map(0x4000, TestMachine.RAM + 0xC000, 0x1000, 1, Permissions.READ);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, a);
        long pages = m.allocator.allocatedPages();
        Set<String> seen = ConcurrentHashMap.newKeySet();
        AtomicBoolean done = new AtomicBoolean();
        Thread reader = new Thread(() -> {
            TranslationOutcome out = new TranslationOutcome();
            while (!done.get()) {
                m.unit.dmaPort().translate(DmaRequest.of(TestMachine.DEV.value(), Pasid.NONE, 0x4000, 4, AccessType.READ), out);
                seen.add(out.isTranslated() ? Long.toHexString(out.physicalAddress()) : out.fault().record().name());
            }
        });
        reader.start();
        for (int i = 0; i < 300; i++) {
            m.unit.attach(TestMachine.DEV, Pasid.NONE, i % 2 == 0 ? c : a);
        }
        done.set(true);
        reader.join();
        assertThat(seen).isSubsetOf(Long.toHexString(TestMachine.RAM + 0xA000), Long.toHexString(TestMachine.RAM + 0xC000));
        assertThat(m.allocator.allocatedPages()).as("retired CD tables freed").isEqualTo(pages);
    }
}
