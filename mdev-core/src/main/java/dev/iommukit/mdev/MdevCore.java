package dev.iommukit.mdev;

import dev.iommukit.api.Device;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import java.util.ArrayList;
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

    /** Opens an empty container owned by {@code owner}, a live process of this machine. */
    public Container newContainer(Process owner) {
        synchronized (lock) {
            Objects.requireNonNull(owner, "owner");
            if (!owner.isAlive()) {
                throw new ClosedException("owner: " + owner + " has exited; a container needs a live owner");
            }
            if (!machine.processes().contains(owner)) {
                throw IommuException.invalid("owner", owner + " is not a process of this machine");
            }
            Container c = new Container(this, owner, nextContainerId++);
            containers.add(c);
            return c;
        }
    }

    /** The containers not yet closed, in opening order. */
    public List<Container> containers() {
        synchronized (lock) {
            return List.copyOf(containers);
        }
    }

    // ---------------------------------------------------------------- bookkeeping, under lock

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

    List<Container> openContainers() {
        return new ArrayList<>(containers);
    }

    @Override
    public String toString() {
        return "mdev bus (" + parents.size() + " parents, " + mdevs.size() + " mdevs)";
    }
}
