package dev.iommukit.mdev;

import dev.iommukit.api.Device;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;

/**
 * The mdev bus of one machine: parents with their types, the mdevs created on them by UUID, and
 * the VFIO-style containers processes open to give devices and mdevs DMA into their memory.
 * Knows no backend: everything goes through the vendor-neutral API. Control operations of the
 * bus and of all its containers are serialised on one lock; DMA of mdevs runs alongside.
 */
public final class MdevCore {
    final Object lock = new Object();
    private final Machine machine;
    private final Map<Device, MdevParent> parents = new LinkedHashMap<>();
    private final Map<UUID, Mdev> mdevs = new LinkedHashMap<>();
    private final Map<Device, Container> deviceOwners = new HashMap<>();
    private final Set<Container> containers = new LinkedHashSet<>();
    private int nextContainerId = 1;
    /** Guest PASID quota per owner (absent: {@link #DEFAULT_GUEST_PASID_QUOTA}) and PASIDs held now. */
    private final Map<Process, Integer> guestPasidQuotas = new HashMap<>();
    private final Map<Process, Integer> guestPasidsHeld = new HashMap<>();

    /** How many guest PASIDs an owner may hold across all its containers unless set otherwise. */
    public static final int DEFAULT_GUEST_PASID_QUOTA = 64;

    public MdevCore(Machine machine) {
        this.machine = Objects.requireNonNull(machine, "machine");
    }

    public Machine machine() {
        return machine;
    }

    /**
     * Registers {@code device} as an mdev parent offering {@code types}. Refused with
     * {@link ConflictException} when the device is registered already, and with an invalid-argument
     * error for a device of another machine, no type, or two types of one name.
     */
    public MdevParent registerParent(Device device, List<MdevTypeSpec> types) {
        synchronized (lock) {
            checkDevice(device);
            Objects.requireNonNull(types, "types");
            if (types.isEmpty()) {
                throw IommuException.invalid("types", "a parent registers at least one mdev type");
            }
            Set<String> names = new LinkedHashSet<>();
            for (MdevTypeSpec t : types) {
                Objects.requireNonNull(t, "types contains null");
                if (!names.add(t.name())) {
                    throw IommuException.invalid("types", "type names are unique per parent; '" + t.name() + "' appears twice");
                }
            }
            if (parents.containsKey(device)) {
                throw new ConflictException("device: " + device + " is already registered as an mdev parent");
            }
            MdevParent parent = new MdevParent(this, device, types);
            parents.put(device, parent);
            return parent;
        }
    }

    /** The registered parents, in registration order. */
    public List<MdevParent> parents() {
        synchronized (lock) {
            return List.copyOf(parents.values());
        }
    }

    /** The parent registered for {@code device}; {@link NotFoundException} otherwise. */
    public MdevParent parent(Device device) {
        synchronized (lock) {
            MdevParent p = parents.get(device);
            if (p == null) {
                throw new NotFoundException("device: " + device + " is not a registered mdev parent");
            }
            return p;
        }
    }

    /** The mdev with {@code uuid}; {@link NotFoundException} otherwise. */
    public Mdev mdev(UUID uuid) {
        synchronized (lock) {
            Mdev m = mdevs.get(Objects.requireNonNull(uuid, "uuid"));
            if (m == null) {
                throw new NotFoundException("uuid: no mdev " + uuid + " on this bus");
            }
            return m;
        }
    }

    /** The mdevs alive now, in creation order. */
    public List<Mdev> mdevs() {
        synchronized (lock) {
            return List.copyOf(mdevs.values());
        }
    }

    /** Opens an empty {@link ContainerType#TYPE1} container owned by {@code owner}, a live process of this machine. */
    public Container newContainer(Process owner) {
        return newContainer(owner, ContainerType.TYPE1);
    }

    /**
     * Opens an empty container of {@code type} owned by {@code owner}, a live process of this
     * machine. A {@link ContainerType#TYPE1_NESTING} container allocates its domains as nesting
     * parents, which needs {@link dev.iommukit.spi.cap.Capability#NESTING_PARENT_DOMAIN} on the
     * units of the devices attached to it (checked at attach).
     */
    public Container newContainer(Process owner, ContainerType type) {
        synchronized (lock) {
            Objects.requireNonNull(owner, "owner");
            Objects.requireNonNull(type, "type");
            if (!owner.isAlive()) {
                throw new ClosedException("owner: " + owner + " has exited; a container needs a live owner");
            }
            if (!machine.processes().contains(owner)) {
                throw IommuException.invalid("owner", owner + " is not a process of this machine");
            }
            Container c = new Container(this, owner, nextContainerId++, type);
            containers.add(c);
            return c;
        }
    }

    /** The open container numbered {@code id}; {@link NotFoundException} otherwise. */
    public Container container(int id) {
        synchronized (lock) {
            for (Container c : containers) {
                if (c.id() == id) {
                    return c;
                }
            }
            throw new NotFoundException("id: no open container " + id + " on this bus");
        }
    }

    /** The containers not yet closed, in opening order. */
    public List<Container> containers() {
        synchronized (lock) {
            return List.copyOf(containers);
        }
    }

    /**
     * Sets how many guest PASIDs {@code owner} may hold at once across all its containers (default
     * {@value #DEFAULT_GUEST_PASID_QUOTA}). A quota below what the owner holds now keeps those
     * PASIDs and refuses new ones until enough are freed.
     */
    public void setGuestPasidQuota(Process owner, int quota) {
        synchronized (lock) {
            Objects.requireNonNull(owner, "owner");
            if (quota < 0) {
                throw IommuException.invalid("quota", "a guest PASID quota cannot be negative, was " + quota);
            }
            guestPasidQuotas.put(owner, quota);
        }
    }

    /** The guest PASID quota of {@code owner}. */
    public int guestPasidQuota(Process owner) {
        synchronized (lock) {
            return guestPasidQuotas.getOrDefault(Objects.requireNonNull(owner, "owner"), DEFAULT_GUEST_PASID_QUOTA);
        }
    }

    /** The guest PASIDs {@code owner} holds now across all its containers. */
    public int guestPasidsHeld(Process owner) {
        synchronized (lock) {
            return guestPasidsHeld.getOrDefault(Objects.requireNonNull(owner, "owner"), 0);
        }
    }

    // ---------------------------------------------------------------- bookkeeping, under lock

    /** Counts one more guest PASID for {@code owner}; refused over its quota before any change. */
    void chargeGuestPasid(Process owner) {
        int held = guestPasidsHeld.getOrDefault(owner, 0);
        int quota = guestPasidQuotas.getOrDefault(owner, DEFAULT_GUEST_PASID_QUOTA);
        if (held >= quota) {
            throw new ResourceExhaustedException("owner: " + owner + " holds " + held + " guest PASID(s) across its containers,"
                    + " its whole quota of " + quota + "; free one or raise the quota (setGuestPasidQuota)");
        }
        guestPasidsHeld.put(owner, held + 1);
    }

    void refundGuestPasid(Process owner) {
        int held = guestPasidsHeld.getOrDefault(owner, 0);
        if (held <= 1) {
            guestPasidsHeld.remove(owner);
        } else {
            guestPasidsHeld.put(owner, held - 1);
        }
    }


    void checkDevice(Device device) {
        Objects.requireNonNull(device, "device");
        if (!machine.devices().contains(device)) {
            throw IommuException.invalid("device", device + " is not a device of this bus's machine");
        }
    }

    void checkUuidFree(UUID uuid) {
        if (mdevs.containsKey(uuid)) {
            throw new ConflictException("uuid: an mdev " + uuid + " already exists (of type " + mdevs.get(uuid).type().name()
                    + " on " + mdevs.get(uuid).parent().device() + ")");
        }
    }

    void mdevCreated(Mdev m) {
        mdevs.put(m.uuid(), m);
    }

    void mdevRemoved(Mdev m) {
        mdevs.remove(m.uuid());
    }

    void parentUnregistered(MdevParent p) {
        parents.remove(p.device());
    }

    Container ownerOf(Device device) {
        return deviceOwners.get(device);
    }

    void deviceAssigned(Device device, Container c) {
        deviceOwners.put(device, c);
    }

    void deviceReleased(Device device) {
        deviceOwners.remove(device);
    }

    void containerClosed(Container c) {
        containers.remove(c);
    }

    @Override
    public String toString() {
        return "mdev bus (" + parents.size() + " parents, " + mdevs.size() + " mdevs)";
    }
}
