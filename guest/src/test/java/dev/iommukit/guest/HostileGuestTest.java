package dev.iommukit.guest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.SmmuContextTableConfig.DefaultSubstream;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A hostile guest (fixed seeds): it scribbles over its own page tables (and, on SMMUv3, its CD
 * table), invalidates, and lets its device DMA anywhere. Every request either faults or reaches a
 * page of the guest's own RAM: never a Java exception, never a page outside its stage 2.
 */
class HostileGuestTest {
    private static final long RAM = 1L << 20;
    private static final long GVA = 0x4000_0000L;

    /** A word that looks like an entry half of the time: low attribute bits kept, an address in or beyond the RAM. */
    private static long scribble(Random rnd) {
        if (rnd.nextBoolean()) {
            return rnd.nextLong();
        }
        long address = (rnd.nextInt(4) == 0 ? rnd.nextLong() & 0x000F_FFFF_F000L : rnd.nextLong(RAM)) & -4096L;
        return address | (rnd.nextLong() & 0xFFF) | 1 | (rnd.nextBoolean() ? 2 : 0);
    }

    private static Set<Long> ramPages(Guest guest) {
        Set<Long> pages = new HashSet<>();
        for (long gpa = 0; gpa < RAM; gpa += 4096) {
            pages.add(guest.hostPhysical(gpa));
        }
        return pages;
    }

    /** Asserts the request faulted or stayed in the guest's RAM; returns whether it translated. */
    private static int assertConfined(DmaResult r, Set<Long> ram) {
        if (r.ok()) {
            assertThat(ram).as("%s reached outside the guest's RAM", r).contains(r.physicalAddress() & -4096L);
            return 1;
        }
        return 0;
    }

    @ParameterizedTest
    @ValueSource(longs = {1, 2, 3})
    void aVtdGuestScribblingOverItsTablesGetsFaultsOrItsOwnRam(long seed) {
        try (Machine machine = Machine.vtd().build()) {
            MdevCore bus = new MdevCore(machine);
            Container c = bus.newContainer(machine.newProcess("vmm"), ContainerType.TYPE1_NESTING);
            Device dev = machine.device("00:03.0");
            c.attach(dev);
            Guest guest = Guest.create(c, RAM);
            GuestPageTable pt = guest.newPageTable(seed == 3 ? GuestPageTable.Format.X86_64_5LEVEL : GuestPageTable.Format.X86_64_4LEVEL);
            pt.map(GVA, 0, 0x40000, Permissions.READ_WRITE);
            int pasid = c.allocateGuestPasid();
            c.bindGuestPasid(dev, pasid, new VtdFirstLevelConfig(pt.root(), seed == 3 ? 57 : 48, Set.of()));
            Set<Long> ram = ramPages(guest);
            assertThat(dev.translate(GVA + 0x1000, AccessType.WRITE, DmaAttributes.pasid(pasid)).physicalAddress())
                    .as("before the scribbling").isEqualTo(guest.hostPhysical(0x1000));
            Random rnd = new Random(seed);
            int translated = 0;
            for (int round = 0; round < 4; round++) {
                long tables = (long) pt.tablePages() * 4096;
                for (int i = 0; i < 200; i++) {
                    guest.memory().write64(RAM - tables + (rnd.nextLong(tables) & -8L), scribble(rnd));
                }
                c.invalidateGuestCaches(dev, List.of(CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB, CacheInvalidation.Cache.PASID)));
                for (int i = 0; i < 300; i++) {
                    long va = rnd.nextBoolean() ? GVA + rnd.nextLong(0x40000) : rnd.nextLong() & 0x0000_FFFF_FFFF_F000L;
                    AccessType access = rnd.nextBoolean() ? AccessType.READ : AccessType.WRITE;
                    translated += assertConfined(dev.translate(va, access, DmaAttributes.pasid(pasid)), ram);
                }
            }
            assertThat(translated).as("the scribbles break translations").isLessThan(4 * 300);
        }
    }

    @ParameterizedTest
    @ValueSource(longs = {11, 12, 13})
    void anSmmuGuestScribblingOverItsTablesAndCdsGetsFaultsOrItsOwnRam(long seed) {
        try (Machine machine = Machine.smmuv3().build()) {
            MdevCore bus = new MdevCore(machine);
            Container c = bus.newContainer(machine.newProcess("vmm"), ContainerType.TYPE1_NESTING);
            Device dev = machine.device("00:03.0");
            c.attach(dev);
            Guest guest = Guest.create(c, RAM);
            GuestContextTable cds = guest.newContextTable(3);
            GuestPageTable pt = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
            pt.map(GVA, 0, 0x40000, Permissions.READ_WRITE);
            for (int ssid = 0; ssid < 8; ssid++) {
                cds.writeContextDescriptor(ssid, pt, ssid + 1);
            }
            c.attachPasidTable(dev, cds.config(DefaultSubstream.values()[(int) (seed % 3)]));
            Set<Long> ram = ramPages(guest);
            assertThat(dev.translate(GVA + 0x1000, AccessType.WRITE, DmaAttributes.pasid(1)).physicalAddress())
                    .as("before the scribbling").isEqualTo(guest.hostPhysical(0x1000));
            Random rnd = new Random(seed);
            int translated = 0;
            for (int round = 0; round < 4; round++) {
                long tables = (long) pt.tablePages() * 4096;
                for (int i = 0; i < 150; i++) {
                    guest.memory().write64(RAM - 4096 - tables + (rnd.nextLong(tables) & -8L), scribble(rnd));
                }
                for (int i = 0; i < 6; i++) {
                    guest.memory().write64(cds.address() + (rnd.nextLong(8 * 64) & -8L), rnd.nextBoolean() ? rnd.nextLong() : scribble(rnd));
                }
                c.invalidateGuestCaches(dev, List.of(CacheInvalidation.domain(CacheInvalidation.Cache.PASID, CacheInvalidation.Cache.IOTLB)));
                for (int i = 0; i < 300; i++) {
                    long va = rnd.nextBoolean() ? GVA + rnd.nextLong(0x40000) : rnd.nextLong() & 0x0000_FFFF_FFFF_F000L;
                    int ssid = rnd.nextInt(10) - 1;
                    AccessType access = rnd.nextBoolean() ? AccessType.READ : AccessType.WRITE;
                    translated += assertConfined(dev.translate(va, access, ssid < 0 ? DmaAttributes.DEFAULT : DmaAttributes.pasid(ssid)), ram);
                }
            }
            assertThat(translated).as("the scribbles break translations").isLessThan(4 * 300);
        }
    }
}
