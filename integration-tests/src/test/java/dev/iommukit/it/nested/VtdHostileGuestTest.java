package dev.iommukit.it.nested;

import static dev.iommukit.it.nested.HostileGuestSupport.PAGE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.guest.Guest;
import dev.iommukit.guest.GuestPageTable;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.mdev.MdevTypeSpec;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A hostile VT-d guest, randomized with a fixed seed and budget: it writes garbage and wild
 * pointers into its first-level tables and the rest of its RAM, rebinds its guest PASIDs with
 * wild first-level pointers, widths and flags, and invalidates at random, while a whole device and
 * an mdev DMA at random addresses and PASIDs. No exception may escape, every translation must land
 * in the guest's stage 2, every fault must carry the VT-d fault record, and the fault reason codes
 * of a second-level translation must be reported as stage-2 faults. Afterwards the unit still
 * translates a well-formed guest exactly, and nothing is left once everything is closed.
 */
class VtdHostileGuestTest {
    private static final long SEED = HostileGuestSupport.seed(0x1F0F_2026L);
    private static final int STEPS = HostileGuestSupport.steps(4000);
    private static final int CONCURRENT_STEPS = STEPS / 2;
    private static final long RAM = 128L << 10;
    private static final int DATA_PAGES = 8;
    /** FRCD.FR codes of a second-level translation (SFS.6-8, SSS.1-6, SGN.5, SGN.7). */
    private static final Set<Integer> SECOND_LEVEL = Set.of(0x75, 0x76, 0x77, 0x78, 0x79, 0x7A, 0x7B, 0x7C, 0x7D, 0x84, 0x86);
    /** FRCD.FR codes of the guest's first level (SFS.2-3, SGN.1-3). */
    private static final Set<Integer> FIRST_LEVEL = Set.of(0x71, 0x72, 0x80, 0x81, 0x82);

    @Test
    void aHostileGuestGetsArchitecturalFaultsAndNeverEscapesItsStageTwo() {
        try (Machine m = Machine.vtd().build()) {
            MdevCore bus = new MdevCore(m);
            Device whole = m.device("00:04.0");
            Device parentDevice = m.device("00:03.0");
            Mdev mdev = bus.registerParent(parentDevice, List.of(new MdevTypeSpec("vgpu", "vfio-pci", 1))).create(UUID.randomUUID(), "vgpu");
            Process canary = m.newProcess("canary");
            long canaryVa = canary.mmap(4 * PAGE, Permissions.READ_WRITE);
            canary.write(canaryVa, NestedFixtures.pattern(99, (int) (4 * PAGE)));
            Process vmm = m.newProcess("vmm");
            Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
            c.attach(whole);
            c.attach(mdev);
            Guest guest = Guest.create(c, RAM);
            HostileGuestSupport h = new HostileGuestSupport(SEED, guest, "vtd-frcd");
            h.allowStage2((PagingDomain) whole.domain());
            h.allowStage2(parentDevice.auxDomains().keySet().stream().map(PagingDomain.class::cast).findFirst().orElseThrow());
            dev.iommukit.api.Registration requests = HostileGuestSupport.answerPageRequests(whole);

            var caps = whole.unit().capabilities();
            List<Integer> widths = new ArrayList<>();
            for (String w : caps.parameter(Capability.GUEST_PASID_BIND, "addressWidths").orElseThrow().split(",")) {
                widths.add(Integer.parseInt(w.trim()));
            }
            List<Long> gvas = new ArrayList<>();
            for (int i = 0; i < DATA_PAGES; i++) {
                gvas.add(0x7f00_0000_0000L + i * 0x20_1000L);
            }
            int devicePasid = c.allocateGuestPasid();
            int mdevPasid = c.allocateGuestPasid();
            int spare = c.allocateGuestPasid();
            GuestPageTable[] tables = new GuestPageTable[2];
            Runnable reboot = () -> {
                for (int i = 0; i < 2; i++) {
                    if (tables[i] != null) {
                        tables[i].free();
                    }
                    tables[i] = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
                }
                for (int i = 0; i < DATA_PAGES; i++) {
                    tables[0].map(gvas.get(i), i * PAGE, PAGE, i % 3 == 0 ? Permissions.READ : Permissions.READ_WRITE);
                    tables[1].map(gvas.get(i), (DATA_PAGES - 1 - i) * PAGE, PAGE, Permissions.READ_WRITE);
                }
                if (whole.domainAt(devicePasid) != null) {
                    c.unbindGuestPasid(whole, devicePasid);
                }
                if (mdev.guestPasids().contains(mdevPasid)) {
                    c.unbindGuestPasid(mdev, mdevPasid);
                }
                c.bindGuestPasid(whole, devicePasid, new VtdFirstLevelConfig(tables[0].root(), 48, Set.of(VtdGuestPasidFlag.SRE)));
                c.bindGuestPasid(mdev, mdevPasid, new VtdFirstLevelConfig(tables[1].root(), 48, Set.of()));
            };
            reboot.run();
            int auxPasid = mdev.pasid().getAsInt();
            List<Integer> pasids = List.of(devicePasid, mdevPasid, spare, auxPasid);

            java.util.function.DoubleConsumer guestAction = r -> {
                if (r < 0.015) {
                    h.control("the guest rebuilds its tables and binds them again", reboot);
                } else if (r < 0.2) {
                    // the guest writes into its tables (the top of RAM, where its allocator put them) or anywhere in its RAM
                    long tablesFrom = RAM - guest.allocatedPages() * PAGE;
                    long gpa = h.chance(0.75) ? tablesFrom + (h.rnd.nextLong(RAM - tablesFrom) & -8L) : h.rnd.nextLong(RAM) & -8L;
                    long value = h.garbage();
                    h.control("write64 gpa 0x" + Long.toHexString(gpa) + " = 0x" + Long.toHexString(value),
                            () -> guest.memory().write64(gpa, value));
                } else if (r < 0.3) {
                    List<CacheInvalidation> batch = randomBatch(h, pasids);
                    boolean onMdev = h.chance(0.3);
                    h.control("invalidate " + (onMdev ? "mdev " : "device ") + batch, () -> {
                        if (onMdev) {
                            c.invalidateGuestCaches(mdev, batch);
                        } else {
                            c.invalidateGuestCaches(whole, batch);
                        }
                    });
                } else if (r < 0.32) {
                    long flptr = h.pointer() & ~0xFFFL & Long.MAX_VALUE;
                    int width = h.chance(0.9) ? h.pick(widths) : 57;
                    Set<VtdGuestPasidFlag> flags = EnumSet.noneOf(VtdGuestPasidFlag.class);
                    for (VtdGuestPasidFlag f : VtdGuestPasidFlag.values()) {
                        if (h.chance(0.3)) {
                            flags.add(f);
                        }
                    }
                    boolean onMdev = h.chance(0.3);
                    int pasid = onMdev ? mdevPasid : h.chance(0.5) ? devicePasid : spare;
                    h.control("rebind pasid " + pasid + (onMdev ? " (mdev)" : "") + " flptr 0x" + Long.toHexString(flptr) + " aw " + width
                            + " " + flags, () -> {
                        if (onMdev) {
                            if (mdev.guestPasids().contains(pasid)) {
                                c.unbindGuestPasid(mdev, pasid);
                            }
                            c.bindGuestPasid(mdev, pasid, new VtdFirstLevelConfig(flptr, width, flags));
                        } else {
                            if (whole.domainAt(pasid) != null) {
                                c.unbindGuestPasid(whole, pasid);
                            }
                            c.bindGuestPasid(whole, pasid, new VtdFirstLevelConfig(flptr, width, flags));
                        }
                    });
                }
            };
            for (h.step = 0; h.step < STEPS; h.step++) {
                double r = h.rnd.nextDouble();
                if (r < 0.32) {
                    guestAction.accept(r);
                } else {
                    dmaStep(h, whole, parentDevice, mdev, gvas, pasids);
                }
            }
            assertThat(h.translations).as("some DMA succeeded: the run exercised translations").isPositive();
            assertThat(h.faults).as("some DMA faulted").isPositive();

            // DMA on other threads while the guest goes on: walks racing with the guest's writes and invalidations
            List<HostileGuestSupport> workers = List.of(h.worker(0), h.worker(1));
            h.concurrently(workers, CONCURRENT_STEPS, w -> dmaStep(w, whole, parentDevice, mdev, gvas, pasids),
                    () -> guestAction.accept(h.rnd.nextDouble() * 0.32));
            assertThat(workers.get(0).translations + workers.get(1).translations).as("concurrent DMA succeeded too").isPositive();

            // the unit still translates a well-formed guest exactly
            for (int pasid : List.of(devicePasid, mdevPasid, spare)) {
                try {
                    if (pasid == mdevPasid) {
                        c.unbindGuestPasid(mdev, pasid);
                    } else if (whole.domainAt(pasid) != null) {
                        c.unbindGuestPasid(whole, pasid);
                    }
                } catch (dev.iommukit.spi.error.NotFoundException notBound) {
                    // a refused rebind left it unbound
                }
            }
            for (long gpa = 0; gpa < DATA_PAGES * PAGE; gpa += PAGE) {
                guest.memory().write(gpa, NestedFixtures.pattern((int) gpa, (int) PAGE));
            }
            for (GuestPageTable t : tables) {
                t.free();
            }
            GuestPageTable clean = guest.newPageTable(GuestPageTable.Format.X86_64_4LEVEL);
            clean.map(gvas.get(1), PAGE, PAGE, Permissions.READ_WRITE);
            c.bindGuestPasid(whole, devicePasid, new VtdFirstLevelConfig(clean.root(), 48, Set.of()));
            c.bindGuestPasid(mdev, mdevPasid, new VtdFirstLevelConfig(clean.root(), 48, Set.of()));
            byte[] seen = new byte[(int) PAGE];
            DmaResult ok = whole.read(gvas.get(1), seen, DmaAttributes.pasid(devicePasid));
            assertThat(ok.physicalAddress()).as(ok.toString()).isEqualTo(guest.hostPhysical(PAGE));
            assertThat(seen).isEqualTo(NestedFixtures.pattern((int) PAGE, (int) PAGE));
            assertThat(mdev.read(gvas.get(1), seen, DmaAttributes.pasid(mdevPasid)).physicalAddress()).isEqualTo(guest.hostPhysical(PAGE));
            assertThat(mdev.translate(2 * PAGE, AccessType.READ).physicalAddress()).isEqualTo(guest.hostPhysical(2 * PAGE));
            assertThat(canary.read(canaryVa, (int) (4 * PAGE))).as("memory outside the guest untouched")
                    .isEqualTo(NestedFixtures.pattern(99, (int) (4 * PAGE)));

            requests.close();
            whole.disablePageRequests();
            c.close();
            guest.close();
            vmm.exit();
            canary.exit();
            mdev.remove();
            assertThat(m.pasidsInUse()).isZero();
            assertThat(m.processPagesInUse()).isZero();
            assertThat(m.unit("dmar0").nestedDomains()).isEmpty();
            assertThat(m.unit("dmar0").pagingDomains()).isEmpty();
        }
    }

    private static List<CacheInvalidation> randomBatch(HostileGuestSupport h, List<Integer> pasids) {
        List<CacheInvalidation> batch = new ArrayList<>();
        int n = 1 + h.rnd.nextInt(3);
        for (int i = 0; i < n; i++) {
            int pasid = h.chance(0.8) ? h.pick(pasids) : 1 + h.rnd.nextInt((1 << 20) - 1);
            batch.add(switch (h.rnd.nextInt(5)) {
                case 0 -> CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB, CacheInvalidation.Cache.PASID);
                case 1 -> CacheInvalidation.pasid(pasid, CacheInvalidation.Cache.IOTLB);
                case 2 -> CacheInvalidation.pasid(pasid, CacheInvalidation.Cache.PASID, CacheInvalidation.Cache.DEVICE_IOTLB);
                case 3 -> CacheInvalidation.range(pasid, h.rnd.nextLong(1L << 47) & -PAGE, PAGE, 1 + h.rnd.nextInt(64), h.chance(0.5));
                default -> CacheInvalidation.range(pasid, h.rnd.nextLong(1L << 38) & -(2L << 20), 2L << 20, 1 + h.rnd.nextInt(4), false);
            });
        }
        return batch;
    }

    private static void dmaStep(HostileGuestSupport h, Device whole, Device parentDevice, Mdev mdev, List<Long> gvas, List<Integer> pasids) {
        long address = h.dmaAddress(gvas);
        AccessType access = h.chance(0.5) ? AccessType.READ : AccessType.WRITE;
        int who = h.rnd.nextInt(10);
        Device device = who < 6 ? whole : parentDevice;
        int pasid = h.chance(0.6) ? (device == whole ? pasids.get(0) : pasids.get(1))
                : h.chance(0.7) ? h.pick(pasids) : h.chance(0.5) ? Pasid.NONE : h.rnd.nextInt(1 << 20);
        DmaAttributes attrs = new DmaAttributes(pasid, h.chance(0.1), h.chance(0.15));
        String what = device.name() + " " + access + " 0x" + Long.toHexString(address) + " " + attrs;
        DmaResult r;
        if (who == 9) {
            long iova = h.rnd.nextLong(RAM + (1 << 20));
            r = h.dma("mdev own pasid " + access + " 0x" + Long.toHexString(iova), () -> mdev.translate(iova, access));
        } else if (h.chance(0.85)) {
            r = h.dma("translate " + what, () -> device.translate(address, access, attrs));
        } else {
            int size = 1 + h.rnd.nextInt(64);
            long start = Math.min(address, (address | (PAGE - 1)) - size + 1);
            byte[] buf = new byte[size];
            r = h.dma("transfer " + size + " " + what, () -> access == AccessType.READ
                    ? device.read(start, buf, attrs) : device.write(start, buf, attrs));
        }
        if (r.faulted()) {
            checkStage(h, r.fault());
        }
    }

    /** The fault reason codes of the second level are stage-2 faults, those of the guest's first level stage-1 faults. */
    private static void checkStage(HostileGuestSupport h, Fault f) {
        int code = f.record().code();
        if (SECOND_LEVEL.contains(code) && f.stage() != FaultStage.STAGE_2) {
            throw new AssertionError("a second-level fault reported as " + f.stage() + ": " + f + "\n" + h.context());
        }
        if (FIRST_LEVEL.contains(code) && f.stage() != FaultStage.STAGE_1) {
            throw new AssertionError("a first-level fault reported as " + f.stage() + ": " + f + "\n" + h.context());
        }
        if (code >= 0x30 && code <= 0x5D && f.stage() != FaultStage.NONE) {
            throw new AssertionError("a structure fault reported as " + f.stage() + ": " + f + "\n" + h.context());
        }
    }
}
