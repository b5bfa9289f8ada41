package dev.iommukit.backend.smmuv3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.FaultReason;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Random map/unmap sequences through the unit against a page model, checked by DMA after every step. */
class MapUnmapModelPropertiesTest {
    private static final long BLOCK = 0x20_0000L;
    private static final int PAGES = 1024; // two 2 MiB blocks of 4 KiB pages

    /** One step: map a 4K page (block=false) or a 2M block, or unmap a 4K page, at a slot. */
    record Op(boolean map, boolean block, int slot) {}

    @Provide
    Arbitrary<List<Op>> ops() {
        Arbitrary<Op> op = Combinators.combine(Arbitraries.of(true, false), Arbitraries.integers().between(0, 9),
                Arbitraries.integers().between(0, PAGES - 1)).as((map, kind, slot) -> new Op(map, kind == 0, slot));
        return op.list().ofMinSize(1).ofMaxSize(25);
    }

    @Property(tries = 40)
    void dmaAgreesWithTheModel(@ForAll("ops") List<Op> ops, @ForAll("stages") boolean stage2) {
        TestMachine m = new TestMachine();
        m.unit.probeDevice(TestMachine.DEV, 0);
        BackendDomain d = m.unit.allocateDomain(DomainType.PAGING, stage2 ? DomainOptions.NESTING_PARENT : DomainOptions.DEFAULT);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        Map<Integer, Long> model = new HashMap<>();
        // 2 MiB regions that hold a table (4 KiB pages were mapped there, or a block was split): spi PageTable keeps
        // tables until free, so a block cannot be mapped there again (it reports ConflictException)
        java.util.Set<Integer> tabled = new java.util.HashSet<>();
        int step = 0;
        for (Op op : ops) {
            step++;
            long pa = TestMachine.RAM + BLOCK * (step % 8);
            if (op.map && op.block) {
                int first = op.slot & ~511;
                boolean free = true;
                for (int i = first; i < first + 512; i++) {
                    free &= !model.containsKey(i);
                }
                if (free && !tabled.contains(first >> 9)) {
                    d.map((long) first << 12, pa, BLOCK, 1, Permissions.READ_WRITE);
                    for (int i = 0; i < 512; i++) {
                        model.put(first + i, pa + ((long) i << 12));
                    }
                }
            } else if (op.map) {
                if (!model.containsKey(op.slot)) {
                    tabled.add(op.slot >> 9);
                    d.map((long) op.slot << 12, pa, 0x1000, 1, Permissions.READ_WRITE);
                    model.put(op.slot, pa);
                }
            } else {
                if (model.containsKey(op.slot)) {
                    tabled.add(op.slot >> 9);
                    d.unmap((long) op.slot << 12, 0x1000);
                    model.remove(op.slot);
                }
            }
            for (int probe : new int[] {op.slot, op.slot ^ 1, (op.slot + 511) % PAGES, 0}) {
                TranslationOutcome out = m.read(((long) probe << 12) + 0x18);
                Long expected = model.get(probe);
                if (expected == null) {
                    assertThat(out.isTranslated()).as("slot %d after %s", probe, op).isFalse();
                    assertThat(out.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
                } else {
                    assertThat(out.physicalAddress()).as("slot %d after %s", probe, op).isEqualTo(expected + 0x18);
                }
            }
        }
        m.unit.attach(TestMachine.DEV, Pasid.NONE, m.unit.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT));
        d.free();
        m.unit.releaseDevice(TestMachine.DEV);
        m.unit.close();
        assertThat(m.allocator.allocatedPages()).isZero();
    }

    @Provide
    Arbitrary<Boolean> stages() {
        return Arbitraries.of(false, true);
    }
}
