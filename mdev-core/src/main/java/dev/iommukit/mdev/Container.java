package dev.iommukit.mdev;

import dev.iommukit.api.Device;
import dev.iommukit.api.Domain;
import dev.iommukit.api.Machine;
import dev.iommukit.api.NestedDomain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.PasidLease;
import dev.iommukit.api.Process;
import dev.iommukit.api.Unit;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * A VFIO-type1-style container owned by a process: whole PCI devices (one paging domain per unit,
 * shared by the container's devices behind it) and mdevs (an aux domain each on its parent) share
 * one IOVA space. MAP_DMA pins the owner's pages for the mapping's life and maps them in every
 * domain; UNMAP_DMA removes whole mappings and unpins. A failed call leaves no partial state;
 * {@link #close} detaches everything, frees aux domains and their PASIDs, and unpins every page.
 *
 * <p>A {@link ContainerType#TYPE1_NESTING} container's domains are nesting parents: the stage 2
 * of a guest whose RAM is the owner's memory mapped with MAP_DMA at IOVA = guest-physical address.
 * It hands out guest PASIDs (counted against the owner's quota), binds a guest first level at one
 * of them on a whole device or an mdev (VT-d), attaches a guest CD table to a whole device
 * (SMMUv3), and passes the guest's cache invalidations through. Every such call checks that the
 * PASID and the binding belong to this container; closing it unbinds everything it bound first.
 */
public final class Container implements AutoCloseable {
    private static final long PAGE = 4096;
    private final MdevCore core;
    private final Process owner;
    private final int id;
    private final Map<Unit, UnitDomain> unitDomains = new LinkedHashMap<>();
    private final Map<Mdev, PagingDomain> auxDomains = new LinkedHashMap<>();
    private final TreeMap<Long, PinnedMapping> mappings = new TreeMap<>(Long::compareUnsigned);
    private final ContainerType type;
    /** Guest PASIDs this container allocated (each holds one reference in the machine's PASID space). */
    /** Guest PASIDs this container holds, with the lease on each. */
    private final TreeMap<Integer, PasidLease> guestPasids = new TreeMap<>();
    /** Guest stage 1s installed through this container, in bind order. */
    private final List<GuestBinding> bindings = new ArrayList<>();
    private boolean closed;

    /** The paging domain of one unit and the container's PCI devices behind that unit. */
    private static final class UnitDomain {
        final PagingDomain domain;
        final Set<Device> devices = new LinkedHashSet<>();

        UnitDomain(PagingDomain domain) {
            this.domain = domain;
        }
    }

    Container(MdevCore core, Process owner, int id, ContainerType type) {
        this.core = core;
        this.owner = owner;
        this.id = id;
        this.type = type;
    }

    /** The IOMMU model the container offers, fixed when it was opened. */
    public ContainerType type() {
        return type;
    }

    /** The machine of the container's mdev bus. */
    public Machine machine() {
        return core.machine();
    }

    /** The process whose memory MAP_DMA pins. */
    public Process owner() {
        return owner;
    }

    /** A number unique on the bus. */
    public int id() {
        return id;
    }

    public boolean isClosed() {
        synchronized (core.lock) {
            return closed;
        }
    }

    /** The PCI devices attached whole, by unit then attach order. */
    public List<Device> devices() {
        synchronized (core.lock) {
            checkOpen();
            List<Device> list = new ArrayList<>();
            for (UnitDomain u : unitDomains.values()) {
                list.addAll(u.devices);
            }
            return list;
        }
    }

    /** The mdevs attached, in attach order. */
    public List<Mdev> mdevs() {
        synchronized (core.lock) {
            checkOpen();
            return List.copyOf(auxDomains.keySet());
        }
    }

    // ---------------------------------------------------------------- attach / detach

    /**
     * Attaches a whole PCI device: it joins the container's paging domain for its unit (made, with
     * every DMA mapping replayed, for the first device of that unit). Refused with a conflict when
     * the device is in a container already; the core's refusals (another domain attached, aux
     * domains attached) come through unchanged.
     */
    public void attach(Device device) {
        synchronized (core.lock) {
            checkOpen();
            core.checkDevice(device);
            Container other = core.ownerOf(device);
            if (other != null) {
                throw new ConflictException("device: " + device + " is already attached to " + other);
            }
            UnitDomain ud = unitDomains.get(device.unit());
            PagingDomain fresh = ud == null ? newDomain(device.unit(), "device " + device) : null;
            try {
                device.attach(fresh != null ? fresh : ud.domain);
            } catch (RuntimeException e) {
                if (fresh != null) {
                    closeQuietly(fresh, e);
                }
                throw e;
            }
            if (fresh != null) {
                ud = new UnitDomain(fresh);
                unitDomains.put(device.unit(), ud);
            }
            ud.devices.add(device);
            core.deviceAssigned(device, this);
        }
    }

    /**
     * Attaches an mdev: enables aux domains on its parent when needed (the parent must advertise
     * {@link Capability#AUX_DOMAIN}, else {@link NotSupportedException} before any change), makes a
     * paging domain on the parent's unit with every DMA mapping replayed, and attaches it as an aux
     * domain; the mdev's DMA carries the PASID that attach returned from then on.
     */
    public void attach(Mdev mdev) {
        synchronized (core.lock) {
            checkOpen();
            checkMdev(mdev);
            if (mdev.attachedContainer() != null) {
                throw new ConflictException("mdev: " + mdev + " is already attached to " + mdev.attachedContainer());
            }
            Device parent = mdev.iommuDevice();
            Container whole = core.ownerOf(parent);
            if (whole != null) {
                throw new BusyException("mdev: its parent " + parent + " is attached whole to " + whole
                        + "; an mdev attaches only while its parent is not assigned");
            }
            if (!parent.capabilities().has(Capability.AUX_DOMAIN)) {
                throw new NotSupportedException("mdev: its parent " + parent
                        + " does not advertise AUX_DOMAIN, so an IOMMU-aware mdev cannot get an aux domain");
            }
            boolean enabled = false;
            PagingDomain domain = null;
            int pasid;
            try {
                if (!parent.auxDomainsEnabled()) {
                    parent.enableAuxDomains();
                    enabled = true;
                }
                domain = newDomain(parent.unit(), mdev.toString());
                pasid = parent.attachAuxDomain(domain);
            } catch (RuntimeException e) {
                if (domain != null) {
                    closeQuietly(domain, e);
                }
                if (enabled) {
                    try {
                        parent.disableAuxDomains();
                    } catch (RuntimeException undo) {
                        e.addSuppressed(undo);
                    }
                }
                throw e;
            }
            if (enabled) {
                mdev.parent().auxEnabledByCore = true;
            }
            auxDomains.put(mdev, domain);
            mdev.attached(this, pasid);
        }
    }

    /** Detaches a PCI device; the unit's domain is closed with its last device. */
    public void detach(Device device) {
        synchronized (core.lock) {
            checkOpen();
            Objects.requireNonNull(device, "device");
            UnitDomain ud = unitDomains.get(device.unit());
            if (ud == null || !ud.devices.contains(device)) {
                throw new NotFoundException("device: " + device + " is not attached to " + this);
            }
            List<GuestBinding> held = bindingsOf(device, null);
            if (!held.isEmpty()) {
                throw new BusyException("device: " + device + " still has guest bindings made through " + this + ": " + held
                        + "; unbind them (unbindGuestPasid / detachPasidTable) first");
            }
            if (device.domain() == ud.domain) {
                device.detach();
            }
            ud.devices.remove(device);
            core.deviceReleased(device);
            if (ud.devices.isEmpty()) {
                ud.domain.close();
                unitDomains.remove(device.unit());
            }
        }
    }

    /**
     * Detaches an mdev: its PASID is withdrawn (waiting for its DMAs in flight), its aux domain is
     * detached and closed, and the PASID goes back to the machine.
     */
    public void detach(Mdev mdev) {
        synchronized (core.lock) {
            checkOpen();
            Objects.requireNonNull(mdev, "mdev");
            PagingDomain domain = auxDomains.get(mdev);
            if (domain == null) {
                throw new NotFoundException("mdev: " + mdev + " is not attached to " + this);
            }
            List<GuestBinding> held = bindingsOf(null, mdev);
            if (!held.isEmpty()) {
                throw new BusyException("mdev: " + mdev + " still has guest PASIDs bound through " + this + ": " + held
                        + "; unbind them (unbindGuestPasid) first");
            }
            Device parent = mdev.iommuDevice();
            int pasid = mdev.pasid().orElseThrow();
            mdev.revokePasid();
            try {
                parent.detachAuxDomain(domain);
            } catch (RuntimeException e) {
                mdev.restorePasid(pasid);
                throw e;
            }
            mdev.awaitDmaQuiet(pasid);
            forgetMdev(mdev, domain);
            domain.close();
        }
    }

    private void forgetMdev(Mdev mdev, PagingDomain domain) {
        auxDomains.remove(mdev);
        mdev.detached();
        MdevParent p = mdev.parent();
        Device parent = p.device();
        if (p.auxEnabledByCore && parent.auxDomains().isEmpty()) {
            parent.disableAuxDomains();
            p.auxEnabledByCore = false;
        }
    }

    // ---------------------------------------------------------------- MAP_DMA / UNMAP_DMA

    /**
     * MAP_DMA: maps {@code [iova, iova + size)} to the owner's memory at {@code vaddr} with
     * {@code permissions} in every domain of the container. Arguments are checked first (4 KiB
     * alignment, positive size, no overflow, inside every domain's aperture, no overlap with a DMA
     * mapping: {@link ConflictException}); then the pages are pinned through the owner (its
     * refusals: unmapped address, permissions, locked-memory limit) and mapped. All or nothing.
     */
    public void mapDma(long vaddr, long iova, long size, int permissions) {
        synchronized (core.lock) {
            checkOpen();
            Permissions.check(permissions);
            checkAlignedRange("iova", iova, size);
            if ((vaddr & (PAGE - 1)) != 0) {
                throw IommuException.invalid("vaddr", "must be 4 KiB aligned, was 0x" + Long.toHexString(vaddr));
            }
            if (vaddr < 0 || vaddr + size < vaddr) {
                throw IommuException.invalid("vaddr", "range 0x" + Long.toHexString(vaddr) + "+0x" + Long.toHexString(size)
                        + " overflows the address space");
            }
            for (PagingDomain d : domains()) {
                checkInDomain(d, iova, size, "iova");
            }
            PinnedMapping clash = firstOverlap(iova, iova + size - 1);
            if (clash != null) {
                throw new ConflictException("iova: range 0x" + Long.toHexString(iova) + "+0x" + Long.toHexString(size)
                        + " overlaps the DMA mapping " + clash.mapping() + " of " + this);
            }
            long[] pages = owner.pin(vaddr, size, permissions);
            PinnedMapping pinned = new PinnedMapping(new DmaMapping(iova, size, vaddr, permissions), pages);
            List<PagingDomain> done = new ArrayList<>();
            try {
                for (PagingDomain d : domains()) {
                    pinned.mapInto(d);
                    done.add(d);
                }
            } catch (RuntimeException e) {
                for (PagingDomain d : done) {
                    try {
                        pinned.unmapFrom(d);
                    } catch (RuntimeException undo) {
                        e.addSuppressed(undo);
                    }
                }
                owner.unpin(pages);
                throw e;
            }
            mappings.put(iova, pinned);
        }
    }

    /**
     * UNMAP_DMA: removes every DMA mapping inside {@code [iova, iova + size)} from every domain and
     * unpins its pages; returns the bytes unmapped (0 when the range held none). A range that would
     * split a mapping is refused, as VFIO type1 v2 refuses it, and nothing is unmapped.
     */
    public long unmapDma(long iova, long size) {
        synchronized (core.lock) {
            checkOpen();
            checkAlignedRange("iova", iova, size);
            long last = iova + size - 1;
            List<PinnedMapping> hit = new ArrayList<>();
            Map.Entry<Long, PinnedMapping> floor = mappings.floorEntry(iova);
            Long from = floor != null && Long.compareUnsigned(floor.getValue().last(), iova) >= 0 ? floor.getKey() : Long.valueOf(iova);
            for (PinnedMapping m : mappings.tailMap(from, true).values()) {
                if (Long.compareUnsigned(m.mapping().iova(), last) > 0) {
                    break;
                }
                if (Long.compareUnsigned(m.mapping().iova(), iova) < 0 || Long.compareUnsigned(m.last(), last) > 0) {
                    throw IommuException.invalid("size", "range 0x" + Long.toHexString(iova) + "+0x" + Long.toHexString(size)
                            + " would split the DMA mapping " + m.mapping() + "; UNMAP_DMA removes whole mappings only (VFIO type1 v2)");
                }
                hit.add(m);
            }
            long total = 0;
            for (PinnedMapping m : hit) {
                for (PagingDomain d : domains()) {
                    m.unmapFrom(d);
                }
                mappings.remove(m.mapping().iova());
                owner.unpin(m.pages());
                total += m.mapping().size();
            }
            return total;
        }
    }

    /** The DMA mappings, lowest IOVA first. */
    public List<DmaMapping> mappings() {
        synchronized (core.lock) {
            checkOpen();
            List<DmaMapping> list = new ArrayList<>(mappings.size());
            for (PinnedMapping m : mappings.values()) {
                list.add(m.mapping());
            }
            return list;
        }
    }

    /**
     * What the container offers now: the page sizes of all its domains (4 KiB alone while it has
     * none), the IOVA range all their apertures share (the whole 64-bit space while it has none),
     * and PASID support when it holds at least one device and every device in it (whole PCI
     * devices, parents of mdevs) advertises PASID attach, with the narrowest width among them.
     * Changes nothing.
     */
    public ContainerInfo info() {
        synchronized (core.lock) {
            checkOpen();
            long pageSizes = -PAGE;
            long start = 0;
            long end = -1;
            List<PagingDomain> domains = domains();
            for (PagingDomain d : domains) {
                pageSizes &= d.pageSizes();
                start = Long.compareUnsigned(d.apertureStart(), start) > 0 ? d.apertureStart() : start;
                end = Long.compareUnsigned(d.apertureEnd(), end) < 0 ? d.apertureEnd() : end;
            }
            if (domains.isEmpty()) {
                pageSizes = PAGE;
            }
            List<IovaRange> ranges = Long.compareUnsigned(start, end) <= 0 ? List.of(new IovaRange(start, end)) : List.of();
            List<Device> pasidDevices = new ArrayList<>();
            for (UnitDomain u : unitDomains.values()) {
                pasidDevices.addAll(u.devices);
            }
            for (Mdev m : auxDomains.keySet()) {
                pasidDevices.add(m.iommuDevice());
            }
            boolean pasidSupport = !pasidDevices.isEmpty();
            int pasidBits = pasidDevices.isEmpty() ? 0 : Integer.MAX_VALUE;
            for (Device d : pasidDevices) {
                pasidSupport &= d.capabilities().has(Capability.PASID_ATTACH) && d.pasidBits() > 0;
                pasidBits = Math.min(pasidBits, d.pasidBits());
            }
            return new ContainerInfo(pageSizes, ranges, pasidSupport, pasidSupport ? pasidBits : 0);
        }
    }

    // ---------------------------------------------------------------- guest PASIDs and nesting

    /**
     * Allocates a guest PASID: a PASID of the machine's space, below the narrowest PASID width of
     * the container's devices and mdev parents (20 bits while it holds none), owned by this
     * container until {@link #freeGuestPasid} or {@link #close}. Counted against the owner's quota
     * ({@link MdevCore#setGuestPasidQuota}) across all its containers.
     *
     * @throws NotSupportedException for a {@link ContainerType#TYPE1} container, or when a device
     *     in it has no PASID support
     * @throws dev.iommukit.spi.error.ResourceExhaustedException over the owner's quota, or when no
     *     PASID of that width is free
     */
    public int allocateGuestPasid() {
        synchronized (core.lock) {
            checkOpen();
            checkNesting("allocateGuestPasid");
            int width = Pasid.MAX_WIDTH;
            for (Device d : pasidDevices()) {
                if (d.pasidBits() == 0) {
                    throw new NotSupportedException("container " + id + ": device " + d + " has no PASID support, so no guest PASID"
                            + " can be used by every device of the container");
                }
                width = Math.min(width, d.pasidBits());
            }
            core.chargeGuestPasid(owner);
            PasidLease lease;
            try {
                lease = core.machine().allocatePasid(width, "guest PASID of " + this);
            } catch (RuntimeException e) {
                core.refundGuestPasid(owner);
                throw e;
            }
            guestPasids.put(lease.pasid(), lease);
            return lease.pasid();
        }
    }

    /**
     * Frees a guest PASID of this container. Refused with {@link NotFoundException} for a PASID this
     * container did not allocate, and with {@link BusyException} while it is bound anywhere.
     */
    public void freeGuestPasid(int pasid) {
        synchronized (core.lock) {
            checkOpen();
            checkNesting("freeGuestPasid");
            checkOwned(pasid);
            List<GuestBinding> held = new ArrayList<>();
            for (GuestBinding b : bindings) {
                if (b.pasid() == pasid) {
                    held.add(b);
                }
            }
            if (!held.isEmpty()) {
                throw new BusyException("pasid: guest PASID " + pasid + " of " + this + " is still bound: " + held + "; unbind it first");
            }
            guestPasids.remove(pasid).close();
            core.refundGuestPasid(owner);
        }
    }

    /** The guest PASIDs this container holds, ascending. */
    public List<Integer> guestPasids() {
        synchronized (core.lock) {
            checkOpen();
            return List.copyOf(guestPasids.keySet());
        }
    }

    /** The guest bindings made through this container and not yet undone, in bind order. */
    public List<GuestBinding> guestBindings() {
        synchronized (core.lock) {
            checkOpen();
            return List.copyOf(bindings);
        }
    }

    /**
     * Binds a guest first level (VT-d guest PASID bind) at guest PASID {@code pasid} of a whole PCI
     * device of this container: a nested domain with {@code config} as stage 1 on the container's
     * domain for the device's unit (its RID_PASID domain) as stage 2, attached at {@code pasid}.
     * The guest's later changes to its tables need {@link #invalidateGuestCaches(Device, List)}.
     *
     * @throws NotSupportedException for a {@link ContainerType#TYPE1} container, or when the unit
     *     does not advertise guest PASID bind with this config
     * @throws NotFoundException when the device is not attached whole to this container, or the
     *     PASID was not allocated by it
     * @throws ConflictException when the PASID is bound on this device already
     */
    public GuestBinding bindGuestPasid(Device device, int pasid, VtdFirstLevelConfig config) {
        synchronized (core.lock) {
            checkOpen();
            checkNesting("bindGuestPasid");
            Objects.requireNonNull(config, "config");
            UnitDomain ud = wholeDevice(device);
            checkOwned(pasid);
            for (GuestBinding b : bindingsOf(device, null)) {
                if (b.pasid() == pasid) {
                    throw new ConflictException("pasid: guest PASID " + pasid + " is already bound on " + device + " (" + b + ")");
                }
            }
            NestedDomain nested = device.unit().newNestedDomain(ud.domain, config);
            try {
                device.attachPasid(pasid, nested);
            } catch (RuntimeException e) {
                closeQuietly(nested, e);
                throw e;
            }
            GuestBinding b = new GuestBinding(device, Optional.empty(), pasid, nested);
            bindings.add(b);
            return b;
        }
    }

    /**
     * Binds a guest first level at guest PASID {@code pasid} for an mdev of this container: a
     * nested domain on the mdev's aux domain as stage 2, attached at {@code pasid} on the mdev's
     * parent. The mdev's DMA may carry {@code pasid} from then on.
     *
     * @throws NotSupportedException for a {@link ContainerType#TYPE1} container, or when the unit
     *     does not advertise guest PASID bind with this config
     * @throws NotFoundException when the mdev is not attached to this container, or the PASID was
     *     not allocated by it
     * @throws ConflictException when the PASID is bound for this mdev already
     */
    public GuestBinding bindGuestPasid(Mdev mdev, int pasid, VtdFirstLevelConfig config) {
        synchronized (core.lock) {
            checkOpen();
            checkNesting("bindGuestPasid");
            Objects.requireNonNull(config, "config");
            PagingDomain aux = attachedMdev(mdev);
            checkOwned(pasid);
            for (GuestBinding b : bindingsOf(null, mdev)) {
                if (b.pasid() == pasid) {
                    throw new ConflictException("pasid: guest PASID " + pasid + " is already bound for " + mdev + " (" + b + ")");
                }
            }
            Device parent = mdev.iommuDevice();
            NestedDomain nested = parent.unit().newNestedDomain(aux, config);
            try {
                parent.attachPasid(pasid, nested);
            } catch (RuntimeException e) {
                closeQuietly(nested, e);
                throw e;
            }
            GuestBinding b = new GuestBinding(parent, Optional.of(mdev), pasid, nested);
            bindings.add(b);
            mdev.guestPasidBound(pasid);
            return b;
        }
    }

    /**
     * Undoes {@link #bindGuestPasid(Device, int, VtdFirstLevelConfig)}:
     * the PASID is detached from the device (its page requests drained by the core) and the nested
     * domain closed; the guest PASID stays allocated.
     */
    public void unbindGuestPasid(Device device, int pasid) {
        synchronized (core.lock) {
            checkOpen();
            checkNesting("unbindGuestPasid");
            wholeDevice(device);
            checkOwned(pasid);
            GuestBinding b = find(bindingsOf(device, null), pasid, "on " + device);
            teardown(b);
            bindings.remove(b);
        }
    }

    /** Undoes {@link #bindGuestPasid(Mdev, int, VtdFirstLevelConfig)}; the mdev's DMA can no longer carry the PASID. */
    public void unbindGuestPasid(Mdev mdev, int pasid) {
        synchronized (core.lock) {
            checkOpen();
            checkNesting("unbindGuestPasid");
            attachedMdev(mdev);
            checkOwned(pasid);
            GuestBinding b = find(bindingsOf(null, mdev), pasid, "for " + mdev);
            teardown(b);
            bindings.remove(b);
        }
    }

    /**
     * Attaches a guest CD table (SMMUv3 PASID-table bind) to a whole PCI device of this container:
     * its attach without PASID is replaced by a nested domain with {@code config} as stage 1 on the
     * container's domain for its unit as stage 2. Every substream of the device then belongs to
     * the guest.
     *
     * @throws NotSupportedException for a {@link ContainerType#TYPE1} container, or when the unit
     *     does not advertise PASID-table bind with this config
     * @throws NotFoundException when the device is not attached whole to this container
     * @throws ConflictException when the device has a guest PASID table attached already
     * @throws BusyException when guest PASIDs are bound on the device (the core's refusal)
     */
    public GuestBinding attachPasidTable(Device device, SmmuContextTableConfig config) {
        synchronized (core.lock) {
            checkOpen();
            checkNesting("attachPasidTable");
            Objects.requireNonNull(config, "config");
            UnitDomain ud = wholeDevice(device);
            for (GuestBinding b : bindingsOf(device, null)) {
                if (b.isPasidTable()) {
                    throw new ConflictException("device: " + device + " already has a guest PASID table attached (" + b
                            + "); detachPasidTable first");
                }
            }
            NestedDomain nested = device.unit().newNestedDomain(ud.domain, config);
            try {
                device.replace(nested);
            } catch (RuntimeException e) {
                closeQuietly(nested, e);
                throw e;
            }
            GuestBinding b = new GuestBinding(device, Optional.empty(), Pasid.NONE, nested);
            bindings.add(b);
            return b;
        }
    }

    /** Undoes {@link #attachPasidTable}: the device is back on the container's stage 2 alone, and the nested domain closed. */
    public void detachPasidTable(Device device) {
        synchronized (core.lock) {
            checkOpen();
            checkNesting("detachPasidTable");
            wholeDevice(device);
            GuestBinding b = find(bindingsOf(device, null), Pasid.NONE, "on " + device);
            teardown(b);
            bindings.remove(b);
        }
    }

    /**
     * Passes a guest's cache invalidations for a whole device through to its nested domains, in
     * order. With a PASID table attached every invalidation goes to it (PASIDs are the guest's own
     * substreams, {@code archId} its ASIDs). Otherwise (VT-d guest PASIDs) an invalidation naming
     * a PASID needs a guest PASID of this container bound on the device and goes to that binding;
     * one without a PASID goes to every guest PASID bound on the device. The batch stops at the
     * first invalidation that fails these checks (or that the backend refuses): the result counts
     * those carried out before it and gives the refusal.
     *
     * @throws NotSupportedException for a {@link ContainerType#TYPE1} container
     * @throws NotFoundException when the device is not attached whole to this container or has no
     *     guest binding made through it
     */
    public InvalidationBatchResult invalidateGuestCaches(Device device, List<CacheInvalidation> batch) {
        synchronized (core.lock) {
            checkOpen();
            checkNesting("invalidateGuestCaches");
            wholeDevice(device);
            return invalidate(bindingsOf(device, null), device.toString(), batch);
        }
    }

    /** As {@link #invalidateGuestCaches(Device, List)} for the guest PASIDs bound for an mdev of this container. */
    public InvalidationBatchResult invalidateGuestCaches(Mdev mdev, List<CacheInvalidation> batch) {
        synchronized (core.lock) {
            checkOpen();
            checkNesting("invalidateGuestCaches");
            attachedMdev(mdev);
            return invalidate(bindingsOf(null, mdev), mdev.toString(), batch);
        }
    }

    private InvalidationBatchResult invalidate(List<GuestBinding> targets, String what, List<CacheInvalidation> batch) {
        Objects.requireNonNull(batch, "batch");
        for (int i = 0; i < batch.size(); i++) {
            Objects.requireNonNull(batch.get(i), "batch[" + i + "]");
        }
        if (targets.isEmpty()) {
            throw new NotFoundException("device: " + what + " has no guest binding made through " + this);
        }
        GuestBinding table = null;
        for (GuestBinding b : targets) {
            if (b.isPasidTable()) {
                table = b;
            }
        }
        // the container's checks first: each invalidation's targets, up to the first refusal
        List<List<GuestBinding>> routes = new ArrayList<>();
        IommuException refusal = null;
        for (int i = 0; i < batch.size() && refusal == null; i++) {
            CacheInvalidation inv = batch.get(i);
            if (table != null) {
                routes.add(List.of(table));
            } else if (!inv.hasPasid()) {
                routes.add(targets);
            } else if (!guestPasids.containsKey(inv.pasid())) {
                refusal = new NotFoundException("batch[" + i + "].pasid: " + inv.pasid() + " is not a guest PASID of " + this);
            } else {
                GuestBinding hit = null;
                for (GuestBinding b : targets) {
                    if (b.pasid() == inv.pasid()) {
                        hit = b;
                    }
                }
                if (hit == null) {
                    refusal = new NotFoundException("batch[" + i + "].pasid: guest PASID " + inv.pasid() + " is not bound on " + what);
                } else {
                    routes.add(List.of(hit));
                }
            }
        }
        // then the nested domains, runs of consecutive invalidations with one target at a time
        int done = 0;
        while (done < routes.size()) {
            List<GuestBinding> route = routes.get(done);
            int end = done + 1;
            if (route.size() == 1) {
                while (end < routes.size() && routes.get(end).equals(route)) {
                    end++;
                }
            }
            List<CacheInvalidation> run = batch.subList(done, end);
            for (GuestBinding b : route) {
                InvalidationBatchResult r = b.domain().invalidate(run);
                if (!r.isComplete()) {
                    return InvalidationBatchResult.stoppedAt(done + r.completed(), batch.size(), r.refusal().orElseThrow());
                }
            }
            done = end;
        }
        return refusal == null ? InvalidationBatchResult.all(batch.size())
                : InvalidationBatchResult.stoppedAt(done, batch.size(), refusal);
    }

    /** Undoes one guest binding: withdraws the PASID from the mdev, detaches, closes the nested domain. */
    private void teardown(GuestBinding b) {
        Device device = b.device();
        if (b.isPasidTable()) {
            UnitDomain ud = unitDomains.get(device.unit());
            device.replace(ud.domain);
        } else {
            b.mdev().ifPresent(m -> m.revokeGuestPasid(b.pasid()));
            try {
                device.detachPasid(b.pasid());
            } catch (RuntimeException e) {
                if (b.mdev().isPresent() && !(e instanceof ClosedException)) {
                    b.mdev().get().guestPasidBound(b.pasid());
                }
                throw e;
            }
            b.mdev().ifPresent(m -> m.awaitDmaQuiet(b.pasid()));
        }
        b.domain().close();
    }

    private List<GuestBinding> bindingsOf(Device device, Mdev mdev) {
        List<GuestBinding> list = new ArrayList<>();
        for (GuestBinding b : bindings) {
            if (mdev != null ? b.mdev().orElse(null) == mdev : b.mdev().isEmpty() && b.device() == device) {
                list.add(b);
            }
        }
        return list;
    }

    private GuestBinding find(List<GuestBinding> list, int pasid, String where) {
        for (GuestBinding b : list) {
            if (b.pasid() == pasid) {
                return b;
            }
        }
        if (pasid == Pasid.NONE) {
            throw new NotFoundException("device: no guest PASID table is attached " + where + " through " + this);
        }
        throw new NotFoundException("pasid: guest PASID " + pasid + " is not bound " + where + " through " + this);
    }

    private void checkNesting(String operation) {
        if (type != ContainerType.TYPE1_NESTING) {
            throw new NotSupportedException("container " + id + ": " + operation + " needs a " + ContainerType.TYPE1_NESTING
                    + " container, this one is " + type);
        }
    }

    private void checkOwned(int pasid) {
        if (!guestPasids.containsKey(pasid)) {
            throw new NotFoundException("pasid: " + pasid + " is not a guest PASID of " + this
                    + " (allocate it with allocateGuestPasid); its guest PASIDs: " + guestPasids.keySet());
        }
    }

    private UnitDomain wholeDevice(Device device) {
        Objects.requireNonNull(device, "device");
        UnitDomain ud = unitDomains.get(device.unit());
        if (ud == null || !ud.devices.contains(device)) {
            throw new NotFoundException("device: " + device + " is not attached whole to " + this);
        }
        return ud;
    }

    private PagingDomain attachedMdev(Mdev mdev) {
        Objects.requireNonNull(mdev, "mdev");
        PagingDomain aux = auxDomains.get(mdev);
        if (aux == null) {
            throw new NotFoundException("mdev: " + mdev + " is not attached to " + this);
        }
        return aux;
    }

    /** Whole PCI devices and parents of mdevs: the devices whose PASIDs the container's guest uses. */
    private List<Device> pasidDevices() {
        List<Device> list = new ArrayList<>();
        for (UnitDomain u : unitDomains.values()) {
            list.addAll(u.devices);
        }
        for (Mdev m : auxDomains.keySet()) {
            list.add(m.iommuDevice());
        }
        return list;
    }

    // ---------------------------------------------------------------- close

    /**
     * Unbinds every guest binding made through this container (a guest PASID's page requests are
     * drained by the core as it is detached; a PASID table gives way to the stage 2 again), closes
     * their nested domains and frees the guest PASIDs; then detaches every mdev (their aux domains
     * closed, their PASIDs released) and every PCI device, closes every domain, and unpins every
     * page, also after the owner exited. Idempotent; every later call but this one and
     * {@link #isClosed} is refused with {@link ClosedException}.
     */
    @Override
    public void close() {
        synchronized (core.lock) {
            if (closed) {
                return;
            }
            closed = true;
            RuntimeException failure = null;
            for (GuestBinding b : List.copyOf(bindings)) {
                failure = attempt(failure, () -> teardown(b));
                bindings.remove(b);
            }
            for (PasidLease lease : List.copyOf(guestPasids.values())) {
                failure = attempt(failure, lease::close);
                core.refundGuestPasid(owner);
            }
            guestPasids.clear();
            for (Map.Entry<Mdev, PagingDomain> e : List.copyOf(auxDomains.entrySet())) {
                Mdev mdev = e.getKey();
                int auxPasid = mdev.pasid().orElse(Pasid.NONE);
                mdev.revokePasid();
                failure = attempt(failure, () -> mdev.iommuDevice().detachAuxDomain(e.getValue()));
                mdev.awaitDmaQuiet(auxPasid);
                failure = attempt(failure, () -> forgetMdev(mdev, e.getValue()));
                auxDomains.remove(mdev);
                mdev.detached();
                failure = attempt(failure, e.getValue()::close);
            }
            for (UnitDomain u : List.copyOf(unitDomains.values())) {
                for (Device d : u.devices) {
                    failure = attempt(failure, () -> {
                        if (d.domain() == u.domain) {
                            d.detach();
                        }
                    });
                    core.deviceReleased(d);
                }
                failure = attempt(failure, u.domain::close);
            }
            unitDomains.clear();
            for (PinnedMapping m : mappings.values()) {
                failure = attempt(failure, () -> owner.unpin(m.pages()));
            }
            mappings.clear();
            core.containerClosed(this);
            if (failure != null) {
                throw failure;
            }
        }
    }

    /**
     * Runs one teardown step; a {@link ClosedException} means the machine was closed and tore the
     * step down itself, anything else is kept (the first, with later ones suppressed) and rethrown
     * once every step ran.
     */
    private static RuntimeException attempt(RuntimeException failure, Runnable step) {
        try {
            step.run();
        } catch (ClosedException machineGone) {
            // the machine's own shutdown already detached and freed it
        } catch (RuntimeException e) {
            if (failure == null) {
                return e;
            }
            failure.addSuppressed(e);
        }
        return failure;
    }

    // ---------------------------------------------------------------- helpers, under the core's lock

    private List<PagingDomain> domains() {
        List<PagingDomain> list = new ArrayList<>(unitDomains.size() + auxDomains.size());
        for (UnitDomain u : unitDomains.values()) {
            list.add(u.domain);
        }
        list.addAll(auxDomains.values());
        return list;
    }

    /** A new paging domain on {@code unit} holding every DMA mapping; closed again when that fails. */
    private PagingDomain newDomain(Unit unit, String forWhat) {
        PagingDomain d = unit.newPagingDomain(type == ContainerType.TYPE1_NESTING
                ? DomainOptions.NESTING_PARENT : DomainOptions.DEFAULT);
        try {
            for (PinnedMapping m : mappings.values()) {
                checkInDomain(d, m.mapping().iova(), m.mapping().size(), forWhat);
            }
            for (PinnedMapping m : mappings.values()) {
                m.mapInto(d);
            }
        } catch (RuntimeException e) {
            closeQuietly(d, e);
            throw e;
        }
        return d;
    }

    private static void closeQuietly(Domain d, RuntimeException cause) {
        try {
            d.close();
        } catch (RuntimeException undo) {
            cause.addSuppressed(undo);
        }
    }

    private void checkInDomain(PagingDomain d, long iova, long size, String argument) {
        long min = Long.lowestOneBit(d.pageSizes());
        if (((iova | size) & (min - 1)) != 0) {
            throw IommuException.invalid(argument, "range 0x" + Long.toHexString(iova) + "+0x" + Long.toHexString(size)
                    + " is not aligned to the smallest page size 0x" + Long.toHexString(min) + " of " + d + " in " + this);
        }
        if (!new IovaRange(d.apertureStart(), d.apertureEnd()).contains(iova, size)) {
            throw IommuException.invalid(argument, "range 0x" + Long.toHexString(iova) + "+0x" + Long.toHexString(size)
                    + " is outside the aperture 0x" + Long.toHexString(d.apertureStart()) + "..0x"
                    + Long.toHexString(d.apertureEnd()) + " of " + d + " in " + this);
        }
    }

    private static void checkAlignedRange(String argument, long iova, long size) {
        if (size <= 0 || (size & (PAGE - 1)) != 0) {
            throw IommuException.invalid("size", "must be a positive multiple of 4 KiB, was 0x" + Long.toHexString(size));
        }
        if ((iova & (PAGE - 1)) != 0) {
            throw IommuException.invalid(argument, "must be 4 KiB aligned, was 0x" + Long.toHexString(iova));
        }
        if (Long.compareUnsigned(iova + size - 1, iova) < 0) {
            throw IommuException.invalid("size", argument + " 0x" + Long.toHexString(iova) + " + size 0x" + Long.toHexString(size) + " overflows");
        }
    }

    private PinnedMapping firstOverlap(long iova, long last) {
        Map.Entry<Long, PinnedMapping> floor = mappings.floorEntry(iova);
        if (floor != null && Long.compareUnsigned(floor.getValue().last(), iova) >= 0) {
            return floor.getValue();
        }
        Map.Entry<Long, PinnedMapping> ceiling = mappings.ceilingEntry(iova);
        if (ceiling != null && Long.compareUnsigned(ceiling.getKey(), last) <= 0) {
            return ceiling.getValue();
        }
        return null;
    }

    private void checkMdev(Mdev mdev) {
        Objects.requireNonNull(mdev, "mdev");
        if (mdev.parent().core() != core) {
            throw IommuException.invalid("mdev", mdev + " belongs to another mdev bus");
        }
        if (mdev.removedFlag()) {
            throw new NotFoundException("mdev: " + mdev.uuid() + " was removed");
        }
    }

    private void checkOpen() {
        if (closed) {
            throw new ClosedException("container " + id + " was closed");
        }
    }

    @Override
    public String toString() {
        return "container " + id + " of " + owner;
    }
}
