package dev.iommukit.conformance.nesting;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Process;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.guest.Guest;
import dev.iommukit.guest.GuestContextTable;
import dev.iommukit.guest.GuestPageTable;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * The base of the rule groups with a guest: a VMM process of the kit's machine owns a nesting
 * container ({@link ContainerType#TYPE1_NESTING}) whose domains are the guest's stage 2 (its RAM
 * mapped at IOVA = guest-physical address), and the guest writes its own tables into that RAM
 * with the guest model. Nothing here reads a backend's structures: every check is a DMA.
 */
public abstract class GuestGroup extends ConformanceGroup {
    /** Guest RAM of every kit guest. */
    static final long RAM = 4L << 20;
    /** A guest virtual address valid for both x86-64 4-level (canonical, lower half) and AArch64 48-bit TTB0. */
    static final long GVA = 0x0000_7f00_1234_0000L;
    /** Guest-physical data pages, well below the guest allocator's tables at the top of RAM. */
    static final long DATA = 0x10_0000L;
    static final long OTHER = 0x18_0000L;
    static final int ASID = 7;
    /** The substream the SMMUv3 kind binds its table at. */
    static final int SSID = 1;

    private MdevCore core;

    GuestGroup(KitSubject subject) {
        super(subject);
    }

    /** The machine's mdev bus (one per machine). */
    final MdevCore core() {
        if (core == null || core.machine() != machine) {
            core = new MdevCore(machine);
        }
        return core;
    }

    static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 23 + i * 7 + (i >> 8) + 3);
        }
        return b;
    }

    /** A VMM process owning a nesting container holding {@code devices}, with a guest of {@link #RAM} in it. */
    final class Rig {
        final Process vmm;
        final Container container;
        final Guest guest;

        Rig(String name, Device... devices) {
            this(name, List.of(devices), List.of());
        }

        /** With {@code mdevs} attached to the container too, before the guest's RAM is mapped. */
        Rig(String name, List<Device> devices, List<Mdev> mdevs) {
            vmm = machine.newProcess(name);
            container = core().newContainer(vmm, ContainerType.TYPE1_NESTING);
            for (Device d : devices) {
                container.attach(d);
            }
            for (Mdev m : mdevs) {
                container.attach(m);
            }
            guest = Guest.create(container, RAM);
        }

        long hpa(long gpa) {
            long pa = guest.hostPhysical(gpa);
            assertThat(pa).as("host-physical address of guest-physical 0x%x", gpa).isNotNegative();
            return pa;
        }
    }

    /** The kinds of guest stage 1, each bound its own way. */
    enum Kind {
        /** A VT-d guest first level bound at a guest PASID of the container. */
        VTD(VtdFirstLevelConfig.STAGE1, Capability.GUEST_PASID_BIND, GuestPageTable.Format.X86_64_4LEVEL),
        /** An SMMUv3 guest CD table attached to the whole device, the table at substream {@link #SSID}. */
        SMMU(SmmuContextTableConfig.STAGE1, Capability.PASID_TABLE_BIND, GuestPageTable.Format.AARCH64_4K_48BIT);

        final String stage1;
        final Capability bind;
        final GuestPageTable.Format format;

        Kind(String stage1, Capability bind, GuestPageTable.Format format) {
            this.stage1 = stage1;
            this.bind = bind;
            this.format = format;
        }
    }

    /** The kind of stage 1 the unit nests with its bind capability; skips, saying why, when none. */
    final Kind assumeNestingKind() {
        assumeAdvertised(Capability.NESTING);
        List<String> stage1 = NestedConfigs.stage1(caps());
        for (Kind k : Kind.values()) {
            if (stage1.contains(k.stage1) && caps().has(k.bind)) {
                return k;
            }
        }
        Assumptions.abort("backend " + backendId() + " advertises NESTING with stage1 " + stage1
                + " but no stage 1 kind the kit knows together with its bind capability");
        return null;
    }

    /** Skips, saying why, unless the unit advertises {@code kind} with its bind capability. */
    final void assumeKind(Kind kind) {
        assumeAdvertised(kind.bind);
        assumeAdvertised(Capability.NESTING);
        Assumptions.assumeTrue(NestedConfigs.stage1(caps()).contains(kind.stage1),
                () -> "backend " + backendId() + " advertises " + kind.bind + " but NESTING without stage1 " + kind.stage1);
    }

    /** A binding of a guest table for one device: the PASID its DMA carries. */
    record Binding(Kind kind, Device device, int pasid, GuestContextTable cds) {}

    /** Binds {@code table} for {@code d} the way {@code kind} does. */
    final Binding bind(Kind kind, Rig rig, Device d, GuestPageTable table) {
        if (kind == Kind.VTD) {
            int pasid = rig.container.allocateGuestPasid();
            rig.container.bindGuestPasid(d, pasid, NestedConfigs.vtd(caps(), table.root()));
            return new Binding(kind, d, pasid, null);
        }
        GuestContextTable cds = rig.guest.newContextTable(2);
        cds.writeContextDescriptor(SSID, table, ASID);
        rig.container.attachPasidTable(d, cds.config(SmmuContextTableConfig.DefaultSubstream.TERMINATE));
        return new Binding(kind, d, SSID, cds);
    }

    /** Invalidates everything the guest owns for {@code b}: IOTLB and PASID (CD) caches, domain-wide. */
    static void invalidateAll(Rig rig, Binding b) {
        InvalidationBatchResult r = rig.container.invalidateGuestCaches(b.device(),
                List.of(CacheInvalidation.domain(CacheInvalidation.Cache.IOTLB, CacheInvalidation.Cache.PASID)));
        assertThat(r.isComplete()).as("a domain-wide invalidation of the IOTLB and PASID caches: %s", r).isTrue();
    }

    /** Asserts that {@code d} at {@code pasid} faults at {@code va} in stage 2 and returns the fault. */
    static Fault assertStage2Fault(Device d, int pasid, long va, AccessType access) {
        Fault f = assertFaults(d, pasid, va, access);
        assertThat(f.stage()).as("stage of the fault of %s: %s", describe(d, pasid, va, access), f).isEqualTo(FaultStage.STAGE_2);
        assertThat(f.secondStage()).isTrue();
        return f;
    }

    /** Asserts that {@code d} at {@code pasid} faults at {@code va} in stage 1 (the guest's) and returns the fault. */
    static Fault assertStage1Fault(Device d, int pasid, long va, AccessType access) {
        Fault f = assertFaults(d, pasid, va, access);
        assertThat(f.stage()).as("stage of the fault of %s: %s", describe(d, pasid, va, access), f).isEqualTo(FaultStage.STAGE_1);
        return f;
    }

    /** Asserts that DMA reads at {@code va} what the guest wrote and the guest then reads what DMA wrote. */
    static void assertSharesGuestMemory(Rig rig, Device d, int pasid, long va, long gpa, int length, int seed) {
        byte[] written = pattern(seed, length);
        rig.guest.memory().write(gpa, written);
        byte[] seen = new byte[length];
        DmaResult r = d.read(va, seen, DmaAttributes.pasid(pasid));
        assertThat(r.ok()).withFailMessage("a read of %d bytes from %s pasid %d at 0x%x faulted: %s", length, d.name(), pasid, va, r.fault())
                .isTrue();
        assertThat(seen).as("bytes read through pasid %d at GVA 0x%x, as the guest wrote them at GPA 0x%x", pasid, va, gpa)
                .isEqualTo(written);
        byte[] back = pattern(seed + 1, length);
        DmaResult w = d.write(va, back, DmaAttributes.pasid(pasid));
        assertThat(w.ok()).withFailMessage("a write of %d bytes from %s pasid %d at 0x%x faulted: %s", length, d.name(), pasid, va, w.fault())
                .isTrue();
        assertThat(rig.guest.memory().read(gpa, length)).as("what the guest reads at GPA 0x%x after the DMA write", gpa).isEqualTo(back);
    }
}
