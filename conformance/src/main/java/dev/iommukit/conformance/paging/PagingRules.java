package dev.iommukit.conformance.paging;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.PageSizes;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.ResourceExhaustedException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Paging domains: map, translate, page sizes and blocks, overlap, partial unmap, permissions, data placement. */
public abstract class PagingRules extends ConformanceGroup {
    /** The table pool of the machine that runs out of table memory. */
    private static final long SMALL_POOL = 1L << 20;

    protected PagingRules(KitSubject subject) {
        super(subject);
    }

    /** The page sizes of {@code d} the kit can place in its 4 GiB window (up to 1 GiB). */
    private static List<Long> testableSizes(PagingDomain d) {
        return Arrays.stream(PageSizes.format(d.pageSizes()).split(","))
                .map(PageSizes::parseSize).filter(s -> s <= GIB).toList();
    }

    @Test
    @Rule(id = "PAGING-1")
    @DisplayName("a mapped page is reached by reads and writes at the same offset")
    public void mapAndTranslate() {
        PagingDomain d = newPagingDomain();
        long iova = iova(d, 0x10 * PAGE);
        d.map(iova, pa(0x7000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, Pasid.NONE, iova + 0x123, AccessType.READ, pa(0x7123));
        assertReaches(devA, Pasid.NONE, iova + 0xFF8, AccessType.WRITE, pa(0x7FF8));
        assertReaches(devA, Pasid.NONE, iova, AccessType.READ, pa(0x7000));
    }

    @Test
    @Rule(id = "PAGING-2")
    @DisplayName("every advertised page size up to 1 GiB maps one page that translates at its first, middle and last bytes")
    public void everyPageSize() {
        PagingDomain probe = newPagingDomain();
        for (long size : testableSizes(probe)) {
            PagingDomain d = unit.newPagingDomain();
            long iova = iova(d, size >= GIB ? GIB : size * 3);
            long pa = blockPa(size);
            d.map(iova, pa, size, Permissions.READ_WRITE);
            devA.replace(d);
            for (long off : new long[] {0, size / 2 + 0x40, size - 8}) {
                assertReaches(devA, Pasid.NONE, iova + off, AccessType.READ, pa + off);
                assertThat(d.iovaToPhys(iova + off)).as("iovaToPhys in a %s page", PageSizes.formatSize(size)).isEqualTo(pa + off);
            }
            assertFaults(devA, iova + size);
            devA.detach();
            d.close();
        }
    }

    @Test
    @Rule(id = "PAGING-3")
    @DisplayName("a block mapping (each larger page size up to 1 GiB) translates every 4 KiB page inside it and nothing around it")
    public void blockMappings() {
        forEachBlock((d, iova, pa, size) -> {
            assertEveryPageReaches(devA, iova, pa, size);
            assertFaults(devA, iova - PAGE);
            assertFaults(devA, iova + size);
        });
    }

    /** A check run on a fresh domain that maps one page of {@code size} from {@code iova} to {@code pa}, attached to devA. */
    @FunctionalInterface
    private interface BlockCheck {
        void run(PagingDomain d, long iova, long pa, long size);
    }

    /** Runs {@code check} once per testable page size larger than the smallest (skipping when there is none). */
    private void forEachBlock(BlockCheck check) {
        PagingDomain probe = newPagingDomain();
        largestBlock(probe);
        for (long size : testableSizes(probe)) {
            if (size == probe.info().minPageSize()) {
                continue;
            }
            PagingDomain d = unit.newPagingDomain();
            long iova = iova(d, GIB);
            long pa = blockPa(size);
            d.map(iova, pa, size, Permissions.READ_WRITE);
            devA.replace(d);
            check.run(d, iova, pa, size);
            devA.detach();
            d.close();
        }
    }

    @Test
    @Rule(id = "PAGING-4")
    @DisplayName("a range whose physical alignment forbids blocks is still mapped completely, page by page")
    public void misalignedForBlocksStillMaps() {
        PagingDomain d = newPagingDomain();
        long block = largestBlock(d) > 2 * MIB ? 2 * MIB : largestBlock(d);
        long iova = iova(d, 4 * block);
        long size = block + PAGE;
        d.map(iova, pa(PAGE), size, Permissions.READ_WRITE);
        devA.attach(d);
        assertEveryPageReaches(devA, iova, pa(PAGE), size);
        assertFaults(devA, iova + size);
    }

    @Test
    @Rule(id = "PAGING-5")
    @DisplayName("an overlapping map is refused with CONFLICT and leaves the existing mapping intact")
    public void overlapRefused() {
        PagingDomain d = newPagingDomain();
        long iova = iova(d, 0x40 * PAGE);
        d.map(iova, pa(0x10000), 2 * PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        Probe[] probes = {Probe.read(devA, iova), Probe.read(devA, iova + PAGE), Probe.read(devA, iova + 2 * PAGE)};
        State before = state(machine, probes);
        assertRefused(ConflictException.class, ErrorCode.CONFLICT, "iova",
                () -> d.map(iova + PAGE, pa(0x20000), 2 * PAGE, Permissions.READ_WRITE));
        assertUnchanged(machine, before, probes);
        assertReaches(devA, iova + PAGE, pa(0x11000));
        assertFaults(devA, iova + 2 * PAGE);
    }

    @Test
    @Rule(id = "PAGING-6")
    @DisplayName("unmapping one page inside a block keeps every other page of the block mapped")
    public void partialUnmapOfBlock() {
        forEachBlock((d, iova, pa, size) -> {
            long min = d.info().minPageSize();
            long hole = size / 2 + min;
            assertThat(d.unmap(iova + hole, min)).as("bytes unmapped").isEqualTo(min);
            assertDoesNotReach(devA, Pasid.NONE, iova + hole, AccessType.READ, pa + hole);
            assertThat(d.iovaToPhys(iova + hole)).as("iovaToPhys of the unmapped page").isEqualTo(-1);
            assertEveryPageReaches(devA, iova, pa, hole);
            assertEveryPageReaches(devA, iova + hole + min, pa + hole + min, size - hole - min);
        });
    }

    @Test
    @Rule(id = "PAGING-7")
    @DisplayName("iovaToPhys agrees with where DMA goes, and says -1 where DMA faults")
    public void iovaToPhysAgreesWithDma() {
        PagingDomain d = newPagingDomain();
        long iova = iova(d, 0x100 * PAGE);
        d.map(iova, pa(0x30000), 4 * PAGE, Permissions.READ_WRITE);
        d.map(iova + 8 * PAGE, pa(0x90000), PAGE, Permissions.READ);
        devA.attach(d);
        for (long off = 0; off < 10 * PAGE; off += PAGE / 2) {
            long phys = d.iovaToPhys(iova + off);
            DmaResult r = dma(devA, Pasid.NONE, iova + off, AccessType.READ);
            if (phys == -1) {
                assertThat(r.faulted()).as("DMA where iovaToPhys says unmapped (offset 0x%x): %s", off, r).isTrue();
            } else {
                assertThat(r.ok()).as("DMA where iovaToPhys says 0x%x (offset 0x%x): %s", phys, off, r).isTrue();
                assertThat(r.physicalAddress()).as("DMA vs iovaToPhys at offset 0x%x", off).isEqualTo(phys);
            }
        }
        assertThat(d.iovaToPhys(iova + 8 * PAGE + 0x10)).isEqualTo(pa(0x90010));
        assertThat(d.iovaToPhys(iova + 5 * PAGE)).isEqualTo(-1);
    }

    @Test
    @Rule(id = "PAGING-8")
    @DisplayName("a read-only mapping lets reads through and refuses writes")
    public void readOnlyRefusesWrites() {
        PagingDomain d = newPagingDomain();
        long iova = iova(d, 0x200 * PAGE);
        d.map(iova, pa(0x40000), PAGE, Permissions.READ);
        devA.attach(d);
        assertReaches(devA, Pasid.NONE, iova + 0x10, AccessType.READ, pa(0x40010));
        assertFaults(devA, Pasid.NONE, iova + 0x10, AccessType.WRITE);
        byte[] data = {1, 2, 3, 4};
        machine.memory().write(pa(0x40010), new byte[4], 0, 4);
        DmaResult w = devA.write(iova + 0x10, data);
        assertThat(w.faulted()).as("write through a read-only mapping: %s", w).isTrue();
        byte[] after = new byte[4];
        machine.memory().read(pa(0x40010), after, 0, 4);
        assertThat(after).as("memory behind a read-only mapping after a refused write").containsOnly(0);
    }

    @Test
    @Rule(id = "PAGING-9")
    @DisplayName("bytes a device writes and reads across a page boundary land at the mapped physical addresses")
    public void bytesLandAtTheRightAddress() {
        PagingDomain d = newPagingDomain();
        long iova = iova(d, 0x300 * PAGE);
        d.map(iova, pa(0x55000), PAGE, Permissions.READ_WRITE);
        d.map(iova + PAGE, pa(0x33000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        byte[] data = new byte[512];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) (i * 7 + 1);
        }
        DmaResult w = devA.write(iova + 0xF00, data);
        assertThat(w.ok()).as("write: %s", w).isTrue();
        assertThat(w.bytesTransferred()).isEqualTo(512);
        byte[] low = new byte[256];
        byte[] high = new byte[256];
        machine.memory().read(pa(0x55F00), low, 0, 256);
        machine.memory().read(pa(0x33000), high, 0, 256);
        assertThat(low).as("bytes at 0x%x", pa(0x55F00)).isEqualTo(Arrays.copyOfRange(data, 0, 256));
        assertThat(high).as("bytes at 0x%x", pa(0x33000)).isEqualTo(Arrays.copyOfRange(data, 256, 512));
        byte[] pattern = new byte[64];
        Arrays.fill(pattern, (byte) 0x5A);
        machine.memory().write(pa(0x33100), pattern, 0, 64);
        byte[] back = new byte[64];
        DmaResult r = devA.read(iova + PAGE + 0x100, back);
        assertThat(r.ok()).as("read: %s", r).isTrue();
        assertThat(back).isEqualTo(pattern);
    }

    @Test
    @Rule(id = "PAGING-10")
    @DisplayName("two devices attached to one paging domain both see its mappings")
    public void sharedDomain() {
        PagingDomain d = newPagingDomain();
        long iova = iova(d, 0x400 * PAGE);
        d.map(iova, pa(0x60000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        devB.attach(d);
        assertReaches(devA, iova + 8, pa(0x60008));
        assertReaches(devB, iova + 8, pa(0x60008));
        d.map(iova + PAGE, pa(0x70000), PAGE, Permissions.READ_WRITE);
        assertReaches(devB, iova + PAGE, pa(0x70000));
    }

    @Test
    @Rule(id = "PAGING-11")
    @DisplayName("an advertised NESTING_PARENT_DOMAIN maps and translates like a paging domain")
    public void nestingParent() {
        assumeAdvertised(Capability.NESTING_PARENT_DOMAIN);
        PagingDomain d = unit.newPagingDomain(DomainOptions.NESTING_PARENT);
        long iova = iova(d, 0x500 * PAGE);
        d.map(iova, pa(0x80000), 2 * PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, Pasid.NONE, iova + PAGE + 4, AccessType.WRITE, pa(0x81004));
        assertThat(d.iovaToPhys(iova)).isEqualTo(pa(0x80000));
    }

    @Test
    @Rule(id = "PAGING-12")
    @DisplayName("the first and the last page of the aperture can be mapped and reached")
    public void apertureEdges() {
        PagingDomain d = newPagingDomain();
        long min = d.info().minPageSize();
        long first = d.apertureStart();
        long last = d.apertureEnd() - min + 1;
        Assumptions.assumeTrue(d.info().outputBits() >= 32, "output addresses narrower than 32 bits");
        d.map(first, pa(0xA0000), min, Permissions.READ_WRITE);
        d.map(last, pa(0xB0000), min, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, first + 0x18, pa(0xA0018));
        assertReaches(devA, last + min - 8, pa(0xB0000) + min - 8);
    }

    @Test
    @Rule(id = "PAGING-13")
    @DisplayName("a map that runs out of table memory is refused with RESOURCE_EXHAUSTED, leaves nothing of itself mapped and leaks nothing")
    public void exhaustedMapLeavesNothing() {
        assumeAdvertised(Capability.PAGING_DOMAIN);
        Machine small;
        try {
            small = track(subject.newMachineWithTablePool(SMALL_POOL));
        } catch (ResourceExhaustedException e) {
            Assumptions.abort("the backend's unit needs more than a " + SMALL_POOL / KIB + " KiB table pool: " + e.getMessage());
            return;
        }
        Device a = small.device(KitSubject.DEVICE_A);
        PagingDomain d;
        long start;
        try {
            PagingDomain warmUp = small.unit(KitSubject.UNIT).newPagingDomain();
            a.attach(warmUp);
            a.detach();
            warmUp.close();
            start = small.tablePagesInUse();
            d = small.unit(KitSubject.UNIT).newPagingDomain();
        } catch (ResourceExhaustedException e) {
            Assumptions.abort("no table memory left for a paging domain in a " + SMALL_POOL / KIB + " KiB pool");
            return;
        }
        Assumptions.assumeTrue(d.info().minPageSize() == PAGE, "the kit's paging rules use 4 KiB pages");
        long base = iova(d, 0);
        a.attach(d);
        List<Long> done = new ArrayList<>();
        long failedAt = -1;
        for (int k = 0; k < 4096; k++) {
            long at = base + k * GIB + 2 * MIB - PAGE;
            if (Long.compareUnsigned(at + 2 * PAGE - 1, d.apertureEnd()) > 0) {
                break;
            }
            try {
                d.map(at, pa((k % 2048) * 2 * PAGE), 2 * PAGE, Permissions.READ_WRITE);
                done.add(at);
            } catch (ResourceExhaustedException e) {
                failedAt = at;
                break;
            }
        }
        long failed = failedAt;
        Assumptions.assumeTrue(failed != -1, () -> "the backend did not run out of table memory in " + done.size()
                + " two-page maps into a " + SMALL_POOL / KIB + " KiB pool");
        assertThat(d.mappings()).as("mappings after the refused map").hasSize(done.size());
        for (long off : new long[] {0, PAGE}) {
            assertFaults(a, failed + off);
            assertThat(d.iovaToPhys(failed + off)).as("iovaToPhys of a page of the refused map").isEqualTo(-1);
        }
        if (!done.isEmpty()) {
            assertReaches(a, done.get(0) + PAGE, pa(PAGE));
            int last = done.size() - 1;
            assertReaches(a, done.get(last), pa((last % 2048) * 2 * PAGE));
        }
        a.detach();
        d.close();
        assertThat(small.tablePagesInUse()).as("table pages after closing the exhausted domain (%d before it, after a warm-up"
                + " attach that lets per-device structures exist)", start).isEqualTo(start);
    }
}
