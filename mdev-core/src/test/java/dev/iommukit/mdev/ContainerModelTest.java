package dev.iommukit.mdev;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.mdev.TestSupport.Usage;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.TreeMap;
import java.util.UUID;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Seeded random sequences of MAP_DMA, UNMAP_DMA, attach and detach against a plain model of the
 * container: after every step the mappings, the pinned bytes and what every attached device and
 * mdev reaches at every page must match the model, and refused steps must change nothing.
 */
class ContainerModelTest {
    private static final long PAGE = 4096;
    private static final long IOVA = 0x40_0000L;
    private static final int IOVA_PAGES = 32;
    private static final int VA_PAGES = 32;

    /** One modelled mapping: first IOVA page, page count, first VA page, permissions. */
    private record Model(int page, int pages, int vaPage, int permissions) {
        DmaMapping mapping(long va) {
            return new DmaMapping(IOVA + page * PAGE, pages * PAGE, va + vaPage * PAGE, permissions);
        }
    }

    @ParameterizedTest
    @CsvSource({"vtd,1", "vtd,2", "vtd,3", "smmuv3,1", "smmuv3,2"})
    void randomStepsAgreeWithTheModel(String backend, long seed) {
        try (Machine m = Machine.preset(backend).build()) {
            MdevCore bus = new MdevCore(m);
            Device parentDevice = m.device("00:03.0");
            Device dev = m.device("00:04.0");
            boolean withMdev = parentDevice.capabilities().has(Capability.AUX_DOMAIN);
            Mdev mdev = bus.registerParent(parentDevice, List.of(new MdevTypeSpec("t", "vfio-pci", 1))).create(UUID.randomUUID(), "t");
            Process vmm = m.newProcess("vmm");
            long va = vmm.mmap(VA_PAGES * PAGE, Permissions.READ_WRITE);
            vmm.setLockedMemoryLimit(24 * PAGE);
            Usage start = Usage.of(m);
            Container c = bus.newContainer(vmm);
            TreeMap<Integer, Model> model = new TreeMap<>();
            boolean devIn = false;
            boolean mdevIn = false;
            Random rnd = new Random(seed);
            for (int step = 0; step < 100; step++) {
                int op = rnd.nextInt(10);
                if (op < 5) {
                    int page = rnd.nextInt(IOVA_PAGES - 4);
                    int pages = 1 + rnd.nextInt(Math.min(6, IOVA_PAGES - page));
                    int vaPage = rnd.nextInt(VA_PAGES - pages + 1);
                    int perms = rnd.nextBoolean() ? Permissions.READ : Permissions.READ_WRITE;
                    Model want = new Model(page, pages, vaPage, perms);
                    DmaMapping d = want.mapping(va);
                    boolean overlaps = model.values().stream().anyMatch(x -> x.page < page + pages && page < x.page + x.pages);
                    long locked = model.values().stream().mapToLong(x -> x.pages * PAGE).sum();
                    if (overlaps) {
                        assertThatThrownBy(() -> c.mapDma(d.vaddr(), d.iova(), d.size(), d.permissions())).isInstanceOf(ConflictException.class);
                    } else if (locked + d.size() > 24 * PAGE) {
                        assertThatThrownBy(() -> c.mapDma(d.vaddr(), d.iova(), d.size(), d.permissions())).isInstanceOf(ResourceExhaustedException.class);
                    } else {
                        c.mapDma(d.vaddr(), d.iova(), d.size(), d.permissions());
                        model.put(page, want);
                    }
                } else if (op < 8) {
                    int page = rnd.nextInt(IOVA_PAGES);
                    int pages = 1 + rnd.nextInt(Math.min(12, IOVA_PAGES - page));
                    List<Model> inside = new ArrayList<>();
                    boolean splits = false;
                    for (Model x : model.values()) {
                        boolean overlap = x.page < page + pages && page < x.page + x.pages;
                        boolean whole = x.page >= page && x.page + x.pages <= page + pages;
                        splits |= overlap && !whole;
                        if (whole) {
                            inside.add(x);
                        }
                    }
                    if (splits) {
                        assertThatThrownBy(() -> c.unmapDma(IOVA + page * PAGE, pages * PAGE)).isInstanceOf(InvalidArgumentException.class);
                    } else {
                        assertThat(c.unmapDma(IOVA + page * PAGE, pages * PAGE)).isEqualTo(inside.stream().mapToLong(x -> x.pages * PAGE).sum());
                        inside.forEach(x -> model.remove(x.page));
                    }
                } else if (op == 8) {
                    if (devIn) {
                        c.detach(dev);
                    } else {
                        c.attach(dev);
                    }
                    devIn = !devIn;
                } else if (withMdev) {
                    if (mdevIn) {
                        c.detach(mdev);
                    } else {
                        c.attach(mdev);
                    }
                    mdevIn = !mdevIn;
                }
                check(c, vmm, va, model, dev, devIn, withMdev ? mdev : null, mdevIn, "seed " + seed + " step " + step);
            }
            c.close();
            assertThat(vmm.lockedBytes()).isZero();
            assertThat(m.pasidsInUse()).isZero();
            assertThat(m.processPagesInUse()).isEqualTo(start.processPages());
        }
    }

    private static void check(Container c, Process vmm, long va, TreeMap<Integer, Model> model, Device dev, boolean devIn,
                              Mdev mdev, boolean mdevIn, String when) {
        assertThat(c.mappings()).as(when).isEqualTo(model.values().stream().map(x -> x.mapping(va)).toList());
        assertThat(vmm.lockedBytes()).as(when).isEqualTo(model.values().stream().mapToLong(x -> x.pages * PAGE).sum());
        for (int page = 0; page < IOVA_PAGES; page++) {
            Model at = model.floorEntry(page) == null ? null : model.floorEntry(page).getValue();
            if (at != null && page >= at.page + at.pages) {
                at = null;
            }
            long expected = at == null ? -1 : vmm.resolve(va + (at.vaPage + page - at.page) * PAGE);
            boolean writable = at != null && (at.permissions & Permissions.WRITE) != 0;
            long iova = IOVA + page * PAGE;
            if (devIn) {
                expectReach(dev.translate(iova, AccessType.READ), dev.translate(iova, AccessType.WRITE), expected, writable, when + " device page " + page);
            } else {
                assertThat(dev.translate(iova, AccessType.READ).ok()).as(when + " detached device").isFalse();
            }
            if (mdev != null) {
                if (mdevIn) {
                    expectReach(mdev.translate(iova, AccessType.READ), mdev.translate(iova, AccessType.WRITE), expected, writable, when + " mdev page " + page);
                } else {
                    assertThat(mdev.translate(iova, AccessType.READ).ok()).as(when + " detached mdev").isFalse();
                }
            }
        }
    }

    private static void expectReach(DmaResult read, DmaResult write, long expected, boolean writable, String what) {
        if (expected < 0) {
            assertThat(read.ok()).as(what + " unmapped").isFalse();
            return;
        }
        assertThat(read.ok()).as(what + " " + read).isTrue();
        assertThat(read.physicalAddress()).as(what).isEqualTo(expected);
        assertThat(write.ok()).as(what + " write " + write).isEqualTo(writable);
    }
}
