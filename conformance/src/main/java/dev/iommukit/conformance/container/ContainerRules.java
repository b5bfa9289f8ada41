package dev.iommukit.conformance.container;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Domain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerInfo;
import dev.iommukit.mdev.DmaMapping;
import dev.iommukit.mdev.IovaRange;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.mdev.MdevParent;
import dev.iommukit.mdev.MdevTypeSpec;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import dev.iommukit.spi.fault.FaultReason;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Containers (VFIO type1 style, from the mdev core): a process owns one, MAP_DMA pins its memory
 * and maps it for every PCI device and mdev in the container, UNMAP_DMA takes it back, and close
 * undoes everything. Everything is seen through DMA from the devices and mdevs, the owner's
 * memory, its locked bytes, and the machine's counts of table pages, process pages and PASIDs.
 * Rules with a whole PCI device need PAGING_DOMAIN; rules with an mdev need its parent (device A)
 * to advertise AUX_DOMAIN, and skip saying so otherwise.
 */
public abstract class ContainerRules extends ConformanceGroup {
    private static final String TYPE = "kit-mdev";
    private static final UUID MDEV_1 = UUID.fromString("c0ffee00-0000-4000-8000-000000000001");
    private static final UUID MDEV_2 = UUID.fromString("c0ffee00-0000-4000-8000-000000000002");
    private MdevCore core;
    private final Map<Device, MdevParent> parents = new HashMap<>();

    protected ContainerRules(KitSubject subject) {
        super(subject);
    }

    // ------------------------------------------------------------------ fixtures

    private MdevCore core() {
        if (core == null || core.machine() != machine) {
            core = new MdevCore(machine);
            parents.clear();
        }
        return core;
    }

    /** The first IOVA of the kit's window; skips, saying why, without 4 KiB paging domains or room for the window. */
    private long window() {
        PagingDomain probe = newPagingDomain();
        try {
            return iova(probe, 0);
        } finally {
            probe.close();
        }
    }

    /** A live process of the current machine. */
    private Process owner(String name) {
        return machine.newProcess(name);
    }

    /** Maps {@code pages} pages of fresh read-write memory in {@code p}, writes a pattern of {@code seed} into them, returns their address. */
    private long memory(Process p, long pages, int seed) {
        long va = p.mmap(pages * PAGE, Permissions.READ_WRITE);
        poke(p, va, pattern(seed, (int) (pages * PAGE)));
        return va;
    }

    private Mdev mdevOn(Device parent, UUID uuid) {
        MdevCore bus = core();
        MdevParent mp = parents.computeIfAbsent(parent, d -> bus.registerParent(d, List.of(new MdevTypeSpec(TYPE, "vfio-pci", 4))));
        return mp.create(uuid, TYPE);
    }

    /** An mdev of device A; skips, saying why, when device A does not advertise AUX_DOMAIN. */
    private Mdev mdev(UUID uuid) {
        Assumptions.assumeTrue(devA.capabilities().has(Capability.AUX_DOMAIN), () -> "device " + devA.name() + " of backend "
                + backendId() + " does not advertise AUX_DOMAIN, so IOMMU-aware mdevs cannot get an aux domain on it");
        return mdevOn(devA, uuid);
    }

    private static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 41 + i * 13 + (i >> 9));
        }
        return b;
    }

    /** Writes {@code data} into {@code p}'s memory at {@code va}, as the process's stores do, through its page tables. */
    private void poke(Process p, long va, byte[] data) {
        p.write(va, data);
    }

    private byte[] peek(Process p, long va, int length) {
        return p.read(va, length);
    }

    /** A DMA requester of a container: a whole PCI device or an mdev. */
    private interface Requester {
        String name();

        DmaResult read(long iova, byte[] into);

        DmaResult write(long iova, byte[] from);

        DmaResult translate(long iova, AccessType access);
    }

    private static Requester of(Device d) {
        return new Requester() {
            @Override
            public String name() {
                return "device " + d.name();
            }

            @Override
            public DmaResult read(long iova, byte[] into) {
                return d.read(iova, into);
            }

            @Override
            public DmaResult write(long iova, byte[] from) {
                return d.write(iova, from);
            }

            @Override
            public DmaResult translate(long iova, AccessType access) {
                return d.translate(iova, access);
            }
        };
    }

    private static Requester of(Mdev m) {
        return new Requester() {
            @Override
            public String name() {
                return m.toString();
            }

            @Override
            public DmaResult read(long iova, byte[] into) {
                return m.read(iova, into);
            }

            @Override
            public DmaResult write(long iova, byte[] from) {
                return m.write(iova, from);
            }

            @Override
            public DmaResult translate(long iova, AccessType access) {
                return m.translate(iova, access);
            }
        };
    }

    /**
     * Asserts that {@code r} reaches the owner's pinned pages of {@code [va, va + size)} at
     * {@code iova}: every page at the physical page the owner's tables give, the bytes the owner
     * wrote read back by DMA, and bytes written by DMA seen by the owner.
     */
    private void assertReachesOwner(Requester r, Process p, long va, long iova, int size, int seed) {
        for (long off = 0; off < size; off += PAGE) {
            DmaResult t = r.translate(iova + off + 0x18, AccessType.READ);
            assertThat(t.ok()).withFailMessage("a read from %s at 0x%x should reach the owner's page of va 0x%x but faulted: %s",
                    r.name(), iova + off, va + off, t.fault()).isTrue();
            assertThat(t.physicalAddress()).as("%s at 0x%x reaches the page the owner's va 0x%x is pinned at", r.name(), iova + off, va + off)
                    .isEqualTo(p.resolve(va + off) + 0x18);
        }
        byte[] written = pattern(seed, size);
        poke(p, va, written);
        byte[] seen = new byte[size];
        DmaResult read = r.read(iova, seen);
        assertThat(read.ok()).withFailMessage("a %d-byte read from %s at 0x%x faulted after %d bytes: %s", size, r.name(), iova,
                read.bytesTransferred(), read.fault()).isTrue();
        assertThat(seen).as("bytes %s read at 0x%x, as the owner wrote them at va 0x%x", r.name(), iova, va).isEqualTo(written);
        byte[] back = pattern(seed + 100, 0x180);
        DmaResult write = r.write(iova + PAGE - 0x80, back);
        assertThat(write.ok()).withFailMessage("a write from %s at 0x%x faulted: %s", r.name(), iova + PAGE - 0x80, write.fault()).isTrue();
        assertThat(peek(p, va + PAGE - 0x80, back.length)).as("bytes %s wrote at 0x%x, seen by the owner at va 0x%x", r.name(),
                iova + PAGE - 0x80, va + PAGE - 0x80).isEqualTo(back);
    }

    private static void assertFaultsAt(Requester r, long iova, long stalePa) {
        for (AccessType access : AccessType.values()) {
            DmaResult t = r.translate(iova, access);
            assertThat(t.ok() && t.physicalAddress() == stalePa)
                    .withFailMessage("%s %s at 0x%x still reaches the old page 0x%x", access, r.name(), iova, stalePa).isFalse();
            assertThat(t.faulted()).withFailMessage("%s %s at 0x%x must fault but reached 0x%x", access, r.name(), iova, t.physicalAddress())
                    .isTrue();
        }
    }

    /** What a refused container call must leave alone. */
    private record ContainerState(State machineState, List<DmaMapping> mappings, long lockedBytes, long processPages, int pasids,
                                  List<Device> devices, List<Mdev> mdevs) {}

    private ContainerState containerState(Container c, Probe... probes) {
        return new ContainerState(state(machine, probes), c.mappings(), c.owner().lockedBytes(), machine.processPagesInUse(),
                machine.pasidsInUse(), c.devices(), c.mdevs());
    }

    private void assertContainerUnchanged(Container c, ContainerState before, Probe... probes) {
        ContainerState now = containerState(c, probes);
        assertThat(now).withFailMessage("a refused container call changed state (it must change nothing):%n before %s%n after  %s",
                before, now).isEqualTo(before);
    }

    /** Counts a closed container must return to. */
    private record Counts(long tablePages, long lockedBytes, int pasids, List<PagingDomain> pagingDomains) {}

    private Counts counts(Process p) {
        return new Counts(machine.tablePagesInUse(), p.lockedBytes(), machine.pasidsInUse(), unit.pagingDomains());
    }

    // ------------------------------------------------------------------ rules

    @Test
    @Rule(id = "CONT-1")
    @DisplayName("a container belongs to a live process, starts empty, refuses an exited owner with CLOSED naming 'owner', and refuses use once closed")
    public void containerBelongsToALiveProcess() {
        Process p = owner("kit-owner");
        Container c = core().newContainer(p);
        assertThat(c.owner()).isSameAs(p);
        assertThat(c.isClosed()).isFalse();
        assertThat(c.devices()).isEmpty();
        assertThat(c.mdevs()).isEmpty();
        assertThat(c.mappings()).isEmpty();
        assertThat(core().containers()).containsExactly(c);
        Process gone = owner("kit-exited");
        gone.exit();
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "owner", () -> core().newContainer(gone));
        assertThat(core().containers()).containsExactly(c);
        c.close();
        c.close();
        assertThat(c.isClosed()).isTrue();
        assertThat(core().containers()).isEmpty();
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "container", () -> c.attach(devB));
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "container", () -> c.mapDma(Process.MMAP_BASE, GIB, PAGE, Permissions.READ));
        assertThat(devB.domain()).isNull();
    }

    @Test
    @Rule(id = "CONT-2")
    @DisplayName("MAP_DMA pins the owner's memory and a PCI device in the container reads what the process wrote there and writes what it reads back")
    public void mapDmaReachesPinnedPagesFromADevice() {
        long x = window();
        Process p = owner("kit-owner");
        long va = memory(p, 4, 1);
        Container c = core().newContainer(p);
        c.attach(devB);
        assertThat(c.devices()).containsExactly(devB);
        c.mapDma(va, x, 4 * PAGE, Permissions.READ_WRITE);
        assertThat(c.mappings()).containsExactly(new DmaMapping(x, 4 * PAGE, va, Permissions.READ_WRITE));
        assertThat(p.lockedBytes()).as("bytes pinned for a 4-page MAP_DMA").isEqualTo(4 * PAGE);
        assertReachesOwner(of(devB), p, va, x, (int) (4 * PAGE), 2);
        assertFaults(devB, Pasid.NONE, x + 4 * PAGE, AccessType.READ);
        assertFaults(devA, Pasid.NONE, x, AccessType.READ);
    }

    @Test
    @Rule(id = "CONT-3")
    @DisplayName("MAP_DMA pins the owner's memory and an mdev in the container reads and writes it through its aux PASID, apart from the parent's own requests")
    public void mapDmaReachesPinnedPagesFromAnMdev() {
        Mdev m = mdev(MDEV_1);
        long x = window();
        Process p = owner("kit-owner");
        long va = memory(p, 4, 3);
        Container c = core().newContainer(p);
        c.attach(m);
        c.mapDma(va, x, 4 * PAGE, Permissions.READ_WRITE);
        assertThat(c.mdevs()).containsExactly(m);
        assertThat(m.pasid()).as("the PASID of an attached mdev").isPresent();
        Map<Domain, Integer> aux = devA.auxDomains();
        assertThat(aux.values()).as("aux domains of the parent").containsExactly(m.pasid().getAsInt());
        assertThat(machine.pasidsInUse()).isEqualTo(1);
        assertReachesOwner(of(m), p, va, x, (int) (4 * PAGE), 4);
        assertFaults(devA, Pasid.NONE, x, AccessType.READ);
        assertFaults(devA, Pasid.NONE, x, AccessType.WRITE);
        assertFaults(devA, m.pasid().getAsInt() + 1, x, AccessType.READ);
        assertFaults(devB, m.pasid().getAsInt(), x, AccessType.READ);
    }

    @Test
    @Rule(id = "CONT-4")
    @DisplayName("UNMAP_DMA makes a PCI device's DMA to the range fault, unpins the pages, and leaves other mappings working")
    public void unmapDmaFaultsAndUnpinsForADevice() {
        long x = window();
        Process p = owner("kit-owner");
        long va = memory(p, 6, 5);
        Container c = core().newContainer(p);
        c.attach(devB);
        c.mapDma(va, x, 4 * PAGE, Permissions.READ_WRITE);
        c.mapDma(va + 4 * PAGE, x + 16 * PAGE, 2 * PAGE, Permissions.READ_WRITE);
        Requester dev = of(devB);
        assertReachesOwner(dev, p, va, x, (int) (4 * PAGE), 6);
        long old = p.resolve(va);
        assertThat(c.unmapDma(x, 4 * PAGE)).as("bytes UNMAP_DMA removed").isEqualTo(4 * PAGE);
        for (long off = 0; off < 4 * PAGE; off += PAGE) {
            assertFaultsAt(dev, x + off, p.resolve(va + off));
        }
        assertFaultsAt(dev, x, old);
        assertThat(p.lockedBytes()).as("bytes pinned after unmapping 4 of 6 pages").isEqualTo(2 * PAGE);
        assertThat(c.mappings()).containsExactly(new DmaMapping(x + 16 * PAGE, 2 * PAGE, va + 4 * PAGE, Permissions.READ_WRITE));
        assertReachesOwner(dev, p, va + 4 * PAGE, x + 16 * PAGE, (int) (2 * PAGE), 7);
        assertThat(c.unmapDma(x, 32 * PAGE)).isEqualTo(2 * PAGE);
        assertFaultsAt(dev, x + 16 * PAGE, p.resolve(va + 4 * PAGE));
        assertThat(p.lockedBytes()).as("bytes pinned once every mapping went").isZero();
    }

    @Test
    @Rule(id = "CONT-5")
    @DisplayName("UNMAP_DMA makes an mdev's DMA to the range fault through its PASID, unpins the pages, and leaves other mappings working")
    public void unmapDmaFaultsAndUnpinsForAnMdev() {
        Mdev m = mdev(MDEV_1);
        long x = window();
        Process p = owner("kit-owner");
        long va = memory(p, 6, 8);
        Container c = core().newContainer(p);
        c.attach(m);
        c.mapDma(va, x, 4 * PAGE, Permissions.READ_WRITE);
        c.mapDma(va + 4 * PAGE, x + 16 * PAGE, 2 * PAGE, Permissions.READ_WRITE);
        Requester r = of(m);
        assertReachesOwner(r, p, va, x, (int) (4 * PAGE), 9);
        int pasid = m.pasid().getAsInt();
        assertThat(c.unmapDma(x, 4 * PAGE)).isEqualTo(4 * PAGE);
        for (long off = 0; off < 4 * PAGE; off += PAGE) {
            assertFaultsAt(r, x + off, p.resolve(va + off));
            assertDoesNotReach(devA, pasid, x + off, AccessType.READ, p.resolve(va + off));
        }
        assertThat(p.lockedBytes()).isEqualTo(2 * PAGE);
        assertReachesOwner(r, p, va + 4 * PAGE, x + 16 * PAGE, (int) (2 * PAGE), 10);
        assertThat(c.unmapDma(x + 16 * PAGE, 2 * PAGE)).isEqualTo(2 * PAGE);
        assertFaultsAt(r, x + 16 * PAGE, p.resolve(va + 4 * PAGE));
        assertThat(p.lockedBytes()).isZero();
    }

    @Test
    @Rule(id = "CONT-6")
    @DisplayName("MAP_DMA beyond the owner's locked-memory limit is refused with RESOURCE_EXHAUSTED naming the limit, pinning and mapping nothing")
    public void lockedMemoryLimitEnforced() {
        long x = window();
        Process p = owner("kit-owner");
        long va = memory(p, 4, 11);
        Container c = core().newContainer(p);
        c.attach(devB);
        if (devA.capabilities().has(Capability.AUX_DOMAIN)) {
            c.attach(mdevOn(devA, MDEV_1));
        }
        p.setLockedMemoryLimit(3 * PAGE);
        c.mapDma(va, x, 2 * PAGE, Permissions.READ_WRITE);
        long y = x + 32 * PAGE;
        Probe[] probes = {Probe.read(devB, x), Probe.read(devB, y), Probe.write(devB, y + PAGE), Probe.read(devA, y)};
        ContainerState before = containerState(c, probes);
        assertRefused(ResourceExhaustedException.class, ErrorCode.RESOURCE_EXHAUSTED, "locked-memory limit",
                () -> c.mapDma(va + 2 * PAGE, y, 2 * PAGE, Permissions.READ_WRITE));
        assertContainerUnchanged(c, before, probes);
        for (Mdev m : c.mdevs()) {
            assertFaultsAt(of(m), y, p.resolve(va + 2 * PAGE));
        }
        assertThat(p.lockedBytes()).isEqualTo(2 * PAGE);
        c.mapDma(va + 2 * PAGE, y, PAGE, Permissions.READ_WRITE);
        assertThat(p.lockedBytes()).as("a MAP_DMA within the limit").isEqualTo(3 * PAGE);
        assertReaches(devB, Pasid.NONE, y, AccessType.READ, p.resolve(va + 2 * PAGE));
    }

    @Test
    @Rule(id = "CONT-7")
    @DisplayName("MAP_DMA overlapping an existing DMA mapping is refused with CONFLICT naming 'iova', changing nothing")
    public void overlappingMapDmaRefused() {
        long x = window();
        Process p = owner("kit-owner");
        long va = memory(p, 8, 12);
        Container c = core().newContainer(p);
        c.attach(devB);
        c.mapDma(va, x + 4 * PAGE, 4 * PAGE, Permissions.READ_WRITE);
        Probe[] probes = {Probe.read(devB, x), Probe.read(devB, x + 4 * PAGE), Probe.write(devB, x + 7 * PAGE), Probe.read(devB, x + 8 * PAGE)};
        ContainerState before = containerState(c, probes);
        assertRefused(ConflictException.class, ErrorCode.CONFLICT, "iova", () -> c.mapDma(va + 4 * PAGE, x + 4 * PAGE, 4 * PAGE, Permissions.READ_WRITE));
        assertRefused(ConflictException.class, ErrorCode.CONFLICT, "iova", () -> c.mapDma(va + 4 * PAGE, x + 2 * PAGE, 4 * PAGE, Permissions.READ_WRITE));
        assertRefused(ConflictException.class, ErrorCode.CONFLICT, "iova", () -> c.mapDma(va + 4 * PAGE, x + 7 * PAGE, 2 * PAGE, Permissions.READ_WRITE));
        assertRefused(ConflictException.class, ErrorCode.CONFLICT, "iova", () -> c.mapDma(va, x, 16 * PAGE / 2, Permissions.READ_WRITE));
        assertRefused(ConflictException.class, ErrorCode.CONFLICT, "iova", () -> c.mapDma(va + 4 * PAGE, x + 5 * PAGE, PAGE, Permissions.READ));
        assertContainerUnchanged(c, before, probes);
        assertReaches(devB, Pasid.NONE, x + 5 * PAGE, AccessType.READ, p.resolve(va + PAGE));
        c.mapDma(va + 4 * PAGE, x + 8 * PAGE, 4 * PAGE, Permissions.READ_WRITE);
        assertReaches(devB, Pasid.NONE, x + 8 * PAGE, AccessType.READ, p.resolve(va + 4 * PAGE));
    }

    @Test
    @Rule(id = "CONT-8")
    @DisplayName("DMA mappings made before a PCI device attaches are replayed to it, and to a second device joining later")
    public void mappingsReplayedToADevice() {
        long x = window();
        Process p = owner("kit-owner");
        long va = memory(p, 4, 13);
        Container c = core().newContainer(p);
        c.mapDma(va, x, 2 * PAGE, Permissions.READ_WRITE);
        c.mapDma(va + 2 * PAGE, x + 8 * PAGE, 2 * PAGE, Permissions.READ);
        assertThat(p.lockedBytes()).as("MAP_DMA pins even with no device attached").isEqualTo(4 * PAGE);
        assertFaults(devB, Pasid.NONE, x, AccessType.READ);
        c.attach(devB);
        assertReachesOwner(of(devB), p, va, x, (int) (2 * PAGE), 14);
        assertReaches(devB, Pasid.NONE, x + 9 * PAGE, AccessType.READ, p.resolve(va + 3 * PAGE));
        assertFaults(devB, Pasid.NONE, x + 9 * PAGE, AccessType.WRITE);
        c.attach(devNoPasid);
        assertReachesOwner(of(devNoPasid), p, va, x, (int) (2 * PAGE), 15);
        assertReaches(devNoPasid, Pasid.NONE, x + 8 * PAGE, AccessType.READ, p.resolve(va + 2 * PAGE));
    }

    @Test
    @Rule(id = "CONT-9")
    @DisplayName("DMA mappings made before an mdev attaches are replayed to its aux domain and reached through its PASID")
    public void mappingsReplayedToAnMdev() {
        Mdev m = mdev(MDEV_1);
        long x = window();
        Process p = owner("kit-owner");
        long va = memory(p, 4, 16);
        Container c = core().newContainer(p);
        c.mapDma(va, x, 2 * PAGE, Permissions.READ_WRITE);
        c.mapDma(va + 2 * PAGE, x + 8 * PAGE, 2 * PAGE, Permissions.READ);
        assertThat(m.translate(x, AccessType.READ).faulted()).as("an mdev outside any container has no DMA").isTrue();
        c.attach(m);
        assertReachesOwner(of(m), p, va, x, (int) (2 * PAGE), 17);
        assertThat(m.translate(x + 9 * PAGE, AccessType.READ).physicalAddress()).isEqualTo(p.resolve(va + 3 * PAGE));
        assertThat(m.translate(x + 9 * PAGE, AccessType.WRITE).faulted()).as("a write to a read-only DMA mapping faults").isTrue();
    }

    @Test
    @Rule(id = "CONT-10")
    @DisplayName("two mdevs of one parent in two processes' containers are isolated: each reaches only its own owner's memory, on its own PASID")
    public void twoMdevsInTwoContainersIsolated() {
        Mdev m1 = mdev(MDEV_1);
        Mdev m2 = mdev(MDEV_2);
        long x = window();
        long y = x + 16 * PAGE;
        Process p1 = owner("kit-owner-1");
        Process p2 = owner("kit-owner-2");
        long va1 = memory(p1, 3, 18);
        long va2 = memory(p2, 2, 19);
        Container c1 = core().newContainer(p1);
        Container c2 = core().newContainer(p2);
        c1.attach(m1);
        c2.attach(m2);
        c1.mapDma(va1, x, 2 * PAGE, Permissions.READ_WRITE);
        c1.mapDma(va1 + 2 * PAGE, y, PAGE, Permissions.READ_WRITE);
        c2.mapDma(va2, x, 2 * PAGE, Permissions.READ_WRITE);
        assertThat(m1.pasid().getAsInt()).as("PASIDs of two mdevs of one parent").isNotEqualTo(m2.pasid().getAsInt());
        byte[] before1 = peek(p1, va1, (int) (3 * PAGE));
        assertReachesOwner(of(m2), p2, va2, x, (int) (2 * PAGE), 20);
        assertThat(peek(p1, va1, (int) (3 * PAGE))).as("owner 1's memory after mdev 2 wrote at the same IOVA").isEqualTo(before1);
        byte[] before2 = peek(p2, va2, (int) (2 * PAGE));
        assertReachesOwner(of(m1), p1, va1, x, (int) (2 * PAGE), 21);
        assertThat(peek(p2, va2, (int) (2 * PAGE))).as("owner 2's memory after mdev 1 wrote at the same IOVA").isEqualTo(before2);
        assertThat(m1.translate(y, AccessType.READ).physicalAddress()).isEqualTo(p1.resolve(va1 + 2 * PAGE));
        assertFaultsAt(of(m2), y, p1.resolve(va1 + 2 * PAGE));
        assertFaults(devA, Pasid.NONE, x, AccessType.READ);
        c1.close();
        assertFaultsAt(of(m1), x, p1.resolve(va1));
        assertReaches(devA, m2.pasid().getAsInt(), x, AccessType.READ, p2.resolve(va2));
    }

    @Test
    @Rule(id = "CONT-11")
    @DisplayName("info() reports the page sizes, IOVA ranges and PASID support of the container's domains and devices, and changes nothing")
    public void infoReportsAndChangesNothing() {
        long x = window();
        Process p = owner("kit-owner");
        long va = memory(p, 2, 22);
        Container c = core().newContainer(p);
        c.attach(devB);
        c.mapDma(va, x, 2 * PAGE, Permissions.READ_WRITE);
        Probe[] probes = {Probe.read(devB, x), Probe.write(devB, x + PAGE), Probe.read(devB, x + 2 * PAGE)};
        ContainerState before = containerState(c, probes);
        ContainerInfo info = c.info();
        assertContainerUnchanged(c, before, probes);
        assertThat(c.info()).as("info() taken twice").isEqualTo(info);
        PagingDomain domain = (PagingDomain) devB.domain();
        assertThat(info.pageSizes() & PAGE).as("4 KiB among the page sizes %s", Long.toHexString(info.pageSizes())).isEqualTo(PAGE);
        assertThat(info.pageSizes() & ~domain.pageSizes()).as("page sizes the container's domain does not map").isZero();
        assertThat(info.iovaRanges()).as("IOVA ranges").isNotEmpty();
        assertThat(info.iovaRanges()).as("an IOVA range holds the mapping").anyMatch(r -> r.contains(x, 2 * PAGE));
        for (IovaRange r : info.iovaRanges()) {
            assertThat(new IovaRange(domain.apertureStart(), domain.apertureEnd()).contains(r.start(), r.end() - r.start() + 1))
                    .as("IOVA range %s lies in the domain's aperture 0x%x..0x%x", r, domain.apertureStart(), domain.apertureEnd()).isTrue();
        }
        boolean pasids = devB.capabilities().has(Capability.PASID_ATTACH) && devB.pasidBits() > 0;
        assertThat(info.pasidSupport()).as("PASID support with %s (PASID_ATTACH advertised: %s)", devB.name(), pasids).isEqualTo(pasids);
        assertThat(info.pasidBits()).as("PASID width").isEqualTo(pasids ? devB.pasidBits() : 0);
        c.attach(devNoPasid);
        ContainerInfo withoutPasid = c.info();
        assertThat(withoutPasid.pasidSupport()).as("PASID support once a device without PASIDs joined").isFalse();
        assertThat(withoutPasid.pasidBits()).isZero();
        assertReachesOwner(of(devB), p, va, x, (int) (2 * PAGE), 23);
    }

    @Test
    @Rule(id = "CONT-12")
    @DisplayName("close() of a container with PCI devices detaches them and leaves no pinned page, no table page and no domain beyond the counts before it")
    public void closeUndoesDevices() {
        long x = window();
        Process warm = owner("kit-warm-up");
        long wva = memory(warm, 2, 24);
        try (Container c = core().newContainer(warm)) {
            c.attach(devB);
            c.attach(devNoPasid);
            c.mapDma(wva, x, 2 * PAGE, Permissions.READ_WRITE);
        }
        Process p = owner("kit-owner");
        long va = memory(p, 4, 25);
        Counts before = counts(p);
        Container c = core().newContainer(p);
        c.attach(devB);
        c.mapDma(va, x, 2 * PAGE, Permissions.READ_WRITE);
        c.attach(devNoPasid);
        c.mapDma(va + 2 * PAGE, x + 8 * PAGE, 2 * PAGE, Permissions.READ);
        assertReachesOwner(of(devNoPasid), p, va, x, (int) (2 * PAGE), 26);
        p.munmap(va, 4 * PAGE);
        long processPagesPinned = machine.processPagesInUse();
        c.close();
        assertThat(devB.domain()).as("%s after close", devB.name()).isNull();
        assertThat(devNoPasid.domain()).as("%s after close", devNoPasid.name()).isNull();
        assertFaultsAt(of(devB), x, -1);
        assertFaultsAt(of(devNoPasid), x + 8 * PAGE, -1);
        assertThat(counts(p)).as("table pages, locked bytes, PASIDs and paging domains after close").isEqualTo(before);
        assertThat(processPagesPinned - machine.processPagesInUse()).as("pinned pages freed by close (the owner had unmapped them)")
                .isEqualTo(4);
    }

    @Test
    @Rule(id = "CONT-13")
    @DisplayName("close() of a container with mdevs detaches their aux domains (their PASIDs fault BLOCKED) and leaves no PASID, no pinned page and no table page beyond the counts before it")
    public void closeUndoesMdevs() {
        Mdev m1 = mdev(MDEV_1);
        Mdev m2 = mdev(MDEV_2);
        long x = window();
        Process warm = owner("kit-warm-up");
        long wva = memory(warm, 2, 27);
        try (Container c = core().newContainer(warm)) {
            c.attach(m1);
            c.attach(m2);
            c.attach(devB);
            c.mapDma(wva, x, 2 * PAGE, Permissions.READ_WRITE);
        }
        Process p = owner("kit-owner");
        long va = memory(p, 4, 28);
        Counts before = counts(p);
        assertThat(before.pasids()).as("PASIDs in use after a closed container").isZero();
        Container c = core().newContainer(p);
        c.attach(m1);
        c.mapDma(va, x, 2 * PAGE, Permissions.READ_WRITE);
        c.attach(m2);
        c.attach(devB);
        c.mapDma(va + 2 * PAGE, x + 8 * PAGE, 2 * PAGE, Permissions.READ_WRITE);
        int pasid1 = m1.pasid().getAsInt();
        int pasid2 = m2.pasid().getAsInt();
        assertReachesOwner(of(m2), p, va, x, (int) (2 * PAGE), 29);
        assertThat(machine.pasidsInUse()).isEqualTo(2);
        p.munmap(va, 4 * PAGE);
        long processPagesPinned = machine.processPagesInUse();
        c.close();
        assertThat(m1.pasid()).as("PASID of an mdev after close").isEmpty();
        assertThat(m1.container()).isEmpty();
        assertThat(devA.auxDomains()).as("aux domains of the parent after close").isEmpty();
        for (int pasid : new int[] {pasid1, pasid2}) {
            assertThat(assertFaults(devA, pasid, x, AccessType.READ).reason()).as("reason of a fault on PASID %d after close", pasid)
                    .isEqualTo(FaultReason.BLOCKED);
            assertThat(assertFaults(devA, pasid, x + 8 * PAGE, AccessType.WRITE).reason())
                    .as("reason of a fault on PASID %d after close", pasid).isEqualTo(FaultReason.BLOCKED);
        }
        assertThat(m2.translate(x, AccessType.READ).faulted()).isTrue();
        assertFaultsAt(of(devB), x, -1);
        assertThat(counts(p)).as("table pages, locked bytes, PASIDs and paging domains after close").isEqualTo(before);
        assertThat(processPagesPinned - machine.processPagesInUse()).as("pinned pages freed by close (the owner had unmapped them)")
                .isEqualTo(4);
        m1.remove();
        m2.remove();
    }

    @Test
    @Rule(id = "CONT-14")
    @DisplayName("an mdev whose parent does not advertise AUX_DOMAIN is refused by a container with NOT_SUPPORTED, changing nothing")
    public void mdevWithoutAuxRefused() {
        Process p = owner("kit-owner");
        Container c = core().newContainer(p);
        List<Mdev> refused = new ArrayList<>(List.of(mdevOn(devNoPasid, MDEV_1)));
        if (!devA.capabilities().has(Capability.AUX_DOMAIN)) {
            refused.add(mdevOn(devA, MDEV_2));
        }
        Probe[] probes = {Probe.read(devNoPasid, 0), Probe.read(devA, 0)};
        ContainerState before = containerState(c, probes);
        for (Mdev m : refused) {
            assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "AUX_DOMAIN", () -> c.attach(m));
            assertThat(m.pasid()).isEmpty();
            assertThat(m.container()).isEmpty();
            assertThat(m.iommuDevice().auxDomainsEnabled()).isFalse();
        }
        assertContainerUnchanged(c, before, probes);
        assertThat(unit.pagingDomains()).as("paging domains after refused mdev attaches").isEmpty();
    }
}
