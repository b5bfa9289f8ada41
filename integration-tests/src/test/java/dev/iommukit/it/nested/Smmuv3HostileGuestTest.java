package dev.iommukit.it.nested;

import static dev.iommukit.it.nested.HostileGuestSupport.PAGE;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.NestedDomain;
import dev.iommukit.api.Process;
import dev.iommukit.guest.Guest;
import dev.iommukit.guest.GuestContextTable;
import dev.iommukit.guest.GuestPageTable;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.SmmuContextTableConfig.DefaultSubstream;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A hostile SMMUv3 guest, randomized with a fixed seed and budget: it writes garbage and wild
 * pointers into its CD table, its AArch64 tables and the rest of its RAM, attaches its CD table
 * again with wild STE fields of its own (S1ContextPtr, S1Fmt, S1CDMax, S1DSS), and sends random
 * CFGI_CD / TLBI_NH_* through the container, while the device DMAs at random addresses and
 * substreams. No exception may escape, every translation must land in the guest's stage 2, every
 * fault must carry the SMMUv3 event record (or the PCIe response ending an ATS transfer), and an event's S2 bit must agree with the fault's
 * stage. Afterwards the unit still translates a well-formed guest exactly, and nothing is left.
 */
class Smmuv3HostileGuestTest {
    private static final long SEED = HostileGuestSupport.seed(0x5A17_2026L);
    private static final int STEPS = HostileGuestSupport.steps(4000);
    private static final int CONCURRENT_STEPS = STEPS / 2;
    private static final long RAM = 128L << 10;
    private static final int DATA_PAGES = 8;
    private static final int CD_BITS = 3;
    private static final Set<String> TRANSLATION_EVENTS = Set.of("F_TRANSLATION", "F_ADDR_SIZE", "F_ACCESS", "F_PERMISSION");
    private static final Set<String> CONFIGURATION_EVENTS = Set.of("C_BAD_STREAMID", "C_BAD_STE", "C_BAD_SUBSTREAMID", "C_BAD_CD",
            "F_STREAM_DISABLED", "F_STE_FETCH", "F_CD_FETCH", "F_BAD_ATS_TREQ", "F_TRANSL_FORBIDDEN");

    @Test
    void aHostileGuestGetsArchitecturalFaultsAndNeverEscapesItsStageTwo() {
        try (Machine m = Machine.smmuv3().build()) {
            MdevCore bus = new MdevCore(m);
            Device whole = m.device("00:04.0");
            Device neighbour = m.device("00:03.0");
            Process canary = m.newProcess("canary");
            long canaryVa = canary.mmap(4 * PAGE, Permissions.READ_WRITE);
            canary.write(canaryVa, NestedFixtures.pattern(98, (int) (4 * PAGE)));
            Process vmm = m.newProcess("vmm");
            Container c = bus.newContainer(vmm, ContainerType.TYPE1_NESTING);
            c.attach(whole);
            Guest guest = Guest.create(c, RAM);
            HostileGuestSupport h = new HostileGuestSupport(SEED, guest, "smmuv3-event");
            h.allowStage2((dev.iommukit.api.PagingDomain) whole.domain());
            dev.iommukit.api.Registration requests = HostileGuestSupport.answerPageRequests(whole);

            var caps = whole.unit().capabilities();
            List<SmmuContextTableConfig.Format> formats = new ArrayList<>();
            for (String f : caps.parameter(Capability.PASID_TABLE_BIND, "formats").orElseThrow().split(",")) {
                formats.add(SmmuContextTableConfig.Format.valueOf(f.trim()));
            }
            int maxCdBits = Integer.parseInt(caps.parameter(Capability.PASID_TABLE_BIND, "cdMaxBits").orElseThrow());
            List<Long> gvas = new ArrayList<>();
            for (int i = 0; i < DATA_PAGES; i++) {
                gvas.add(0x40_0000_0000L + i * 0x20_1000L);
            }
            GuestPageTable[] tables = new GuestPageTable[2];
            GuestContextTable[] cds = new GuestContextTable[1];
            Runnable reboot = () -> {
                if (whole.domain() instanceof NestedDomain) {
                    c.detachPasidTable(whole);
                }
                for (int i = 0; i < 2; i++) {
                    if (tables[i] != null) {
                        tables[i].free();
                    }
                    tables[i] = guest.newPageTable(GuestPageTable.Format.AARCH64_4K_48BIT);
                }
                if (cds[0] != null) {
                    cds[0].free();
                }
                cds[0] = guest.newContextTable(CD_BITS);
                for (int i = 0; i < DATA_PAGES; i++) {
                    tables[0].map(gvas.get(i), i * PAGE, PAGE, i % 3 == 0 ? Permissions.READ : Permissions.READ_WRITE);
                    tables[1].map(gvas.get(i), (DATA_PAGES - 1 - i) * PAGE, PAGE, Permissions.READ_WRITE);
                }
                for (int ssid = 0; ssid < 1 << CD_BITS; ssid++) {
                    cds[0].writeContextDescriptor(ssid, tables[ssid % 2], 1 + ssid % 3);
                }
                c.attachPasidTable(whole, cds[0].config(DefaultSubstream.SUBSTREAM_0));
            };
            reboot.run();

            java.util.function.DoubleConsumer guestAction = r -> {
                if (r < 0.015) {
                    h.control("the guest rebuilds its tables and attaches them again", reboot);
                } else if (r < 0.2) {
                    long tablesFrom = RAM - guest.allocatedPages() * PAGE;
                    long gpa;
                    if (h.chance(0.35)) {
                        // a CD: dword 0 with V=1 most of the time, or its TTB0, or any dword
                        long cd = cds[0].address() + 64L * h.rnd.nextInt(1 << CD_BITS);
                        int dword = h.chance(0.5) ? 0 : h.chance(0.6) ? 1 : h.rnd.nextInt(8);
                        gpa = cd + 8L * dword;
                    } else {
                        gpa = h.chance(0.8) ? tablesFrom + (h.rnd.nextLong(RAM - tablesFrom) & -8L) : h.rnd.nextLong(RAM) & -8L;
                    }
                    long value = h.garbage() | (h.chance(0.5) ? 1L << 31 : 0);
                    h.control("write64 gpa 0x" + Long.toHexString(gpa) + " = 0x" + Long.toHexString(value),
                            () -> guest.memory().write64(gpa, value));
                } else if (r < 0.3) {
                    List<CacheInvalidation> batch = randomBatch(h);
                    h.control("invalidate " + batch, () -> c.invalidateGuestCaches(whole, batch));
                } else if (r < 0.32) {
                    long address = h.chance(0.5) ? cds[0].address() : h.pointer() & ~0x3FL & Long.MAX_VALUE;
                    SmmuContextTableConfig.Format format = h.chance(0.9) ? h.pick(formats) : h.pick(List.of(SmmuContextTableConfig.Format.values()));
                    int bits = h.rnd.nextInt(Math.min(maxCdBits, 20) + 1);
                    DefaultSubstream dss = h.pick(List.of(DefaultSubstream.values()));
                    h.control("reattach table 0x" + Long.toHexString(address) + " " + format + " cdMax " + bits + " " + dss, () -> {
                        if (whole.domain() instanceof NestedDomain) {
                            c.detachPasidTable(whole);
                        }
                        c.attachPasidTable(whole, new SmmuContextTableConfig(address, format, bits, dss));
                    });
                }
            };
            for (h.step = 0; h.step < STEPS; h.step++) {
                double r = h.rnd.nextDouble();
                if (r < 0.32) {
                    guestAction.accept(r);
                } else {
                    dmaStep(h, whole, neighbour, gvas);
                }
            }
            assertThat(h.translations).as("some DMA succeeded: the run exercised translations").isPositive();
            assertThat(h.faults).as("some DMA faulted").isPositive();

            // DMA on other threads while the guest goes on: walks racing with the guest's writes and invalidations
            List<HostileGuestSupport> workers = List.of(h.worker(0), h.worker(1));
            h.concurrently(workers, CONCURRENT_STEPS, w -> dmaStep(w, whole, neighbour, gvas),
                    () -> guestAction.accept(h.rnd.nextDouble() * 0.32));
            assertThat(workers.get(0).translations + workers.get(1).translations).as("concurrent DMA succeeded too").isPositive();

            // the unit still translates a well-formed guest exactly
            for (long gpa = 0; gpa < DATA_PAGES * PAGE; gpa += PAGE) {
                guest.memory().write(gpa, NestedFixtures.pattern((int) gpa, (int) PAGE));
            }
            reboot.run();
            c.invalidateGuestCaches(whole, List.of(CacheInvalidation.domain(CacheInvalidation.Cache.PASID, CacheInvalidation.Cache.IOTLB)));
            byte[] seen = new byte[(int) PAGE];
            DmaResult ok = whole.read(gvas.get(2), seen, DmaAttributes.pasid(1));
            assertThat(ok.physicalAddress()).as(ok.toString()).isEqualTo(guest.hostPhysical((DATA_PAGES - 3) * PAGE));
            assertThat(seen).isEqualTo(NestedFixtures.pattern((int) ((DATA_PAGES - 3) * PAGE), (int) PAGE));
            assertThat(whole.translate(gvas.get(2), AccessType.READ).physicalAddress()).isEqualTo(guest.hostPhysical(2 * PAGE));
            assertThat(canary.read(canaryVa, (int) (4 * PAGE))).as("memory outside the guest untouched")
                    .isEqualTo(NestedFixtures.pattern(98, (int) (4 * PAGE)));

            requests.close();
            whole.disablePageRequests();
            c.close();
            guest.close();
            vmm.exit();
            canary.exit();
            assertThat(m.pasidsInUse()).isZero();
            assertThat(m.processPagesInUse()).isZero();
            assertThat(m.unit("smmu0").nestedDomains()).isEmpty();
            assertThat(m.unit("smmu0").pagingDomains()).isEmpty();
        }
    }

    private static List<CacheInvalidation> randomBatch(HostileGuestSupport h) {
        List<CacheInvalidation> batch = new ArrayList<>();
        int n = 1 + h.rnd.nextInt(3);
        for (int i = 0; i < n; i++) {
            int ssid = h.rnd.nextInt(h.chance(0.8) ? 1 << CD_BITS : 1 << 20);
            int asid = h.chance(0.8) ? 1 + h.rnd.nextInt(3) : h.rnd.nextInt(1 << 16);
            batch.add(switch (h.rnd.nextInt(6)) {
                case 0 -> CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB, CacheInvalidation.Cache.PASID);
                case 1 -> CacheInvalidation.pasid(ssid, CacheInvalidation.Cache.PASID);
                case 2 -> CacheInvalidation.asid(asid);
                case 3 -> CacheInvalidation.asidRange(asid, h.rnd.nextLong(1L << 47) & -PAGE, PAGE, 1 + h.rnd.nextInt(64), h.chance(0.5));
                case 4 -> CacheInvalidation.range(ssid, h.rnd.nextLong(1L << 40) & -PAGE, PAGE, 1 + h.rnd.nextInt(8), true);
                default -> CacheInvalidation.pasid(ssid, CacheInvalidation.Cache.IOTLB, CacheInvalidation.Cache.DEVICE_IOTLB);
            });
        }
        return batch;
    }

    private static void dmaStep(HostileGuestSupport h, Device whole, Device neighbour, List<Long> gvas) {
        Device device = h.chance(0.9) ? whole : neighbour;
        long address = h.chance(0.1) ? h.rnd.nextLong(RAM + (1 << 20)) : h.dmaAddress(gvas);
        AccessType access = h.chance(0.5) ? AccessType.READ : AccessType.WRITE;
        int ssid = h.chance(0.2) ? Pasid.NONE : h.rnd.nextInt(h.chance(0.9) ? 1 << CD_BITS : 1 << 20);
        DmaAttributes attrs = new DmaAttributes(ssid, h.chance(0.1), h.chance(0.15));
        String what = device.name() + " " + access + " 0x" + Long.toHexString(address) + " " + attrs;
        DmaResult r;
        if (h.chance(0.85)) {
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

    /** The event's S2 bit and the fault's stage agree; translation events are some stage's, configuration events none's. */
    private static void checkStage(HostileGuestSupport h, Fault f) {
        List<Long> words = f.record().words();
        if (words.isEmpty()) {
            return;
        }
        boolean s2 = (words.get(1) >>> 39 & 1) != 0;
        String name = f.record().name();
        if (s2 != (f.stage() == FaultStage.STAGE_2)) {
            throw new AssertionError("event S2=" + (s2 ? 1 : 0) + " but stage " + f.stage() + ": " + f + "\n" + h.context());
        }
        if (!s2 && TRANSLATION_EVENTS.contains(name) && f.stage() != FaultStage.STAGE_1) {
            throw new AssertionError("a stage-1 translation event reported as " + f.stage() + ": " + f + "\n" + h.context());
        }
        if (CONFIGURATION_EVENTS.contains(name) && f.stage() != FaultStage.NONE) {
            throw new AssertionError("a configuration event reported as " + f.stage() + ": " + f + "\n" + h.context());
        }
    }
}
