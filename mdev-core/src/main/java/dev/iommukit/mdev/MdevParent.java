package dev.iommukit.mdev;

import dev.iommukit.api.Device;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;

/**
 * A physical device registered as an mdev parent with its types. It creates mdevs by UUID and
 * type while the type has instances available; it unregisters only once none of its mdevs remains.
 */
public final class MdevParent {
    private final MdevCore core;
    private final Device device;
    private final Map<String, MdevType> types = new LinkedHashMap<>();
    private final List<Mdev> mdevs = new ArrayList<>();
    private boolean registered = true;
    /** Whether the bus enabled aux domains on the device (and so disables them once unused). */
    boolean auxEnabledByCore;

    MdevParent(MdevCore core, Device device, List<MdevTypeSpec> specs) {
        this.core = core;
        this.device = device;
        for (MdevTypeSpec s : specs) {
            types.put(s.name(), new MdevType(this, s));
        }
    }

    MdevCore core() {
        return core;
    }

    public Device device() {
        return device;
    }

    /** The types, in registration order. */
    public List<MdevType> types() {
        return List.copyOf(types.values());
    }

    /** The type named {@code name}; {@link NotFoundException} otherwise. */
    public MdevType type(String name) {
        MdevType t = types.get(name);
        if (t == null) {
            throw new NotFoundException("type: parent " + device.name() + " has no mdev type '" + name + "'; types: " + types.keySet());
        }
        return t;
    }

    /**
     * Creates an mdev of type {@code typeName} named {@code uuid}. Refused with a conflict for a
     * UUID already in use on the bus, and with {@link ResourceExhaustedException} when the type has
     * no instance available.
     */
    public Mdev create(UUID uuid, String typeName) {
        synchronized (core.lock) {
            checkRegistered();
            Objects.requireNonNull(uuid, "uuid");
            MdevType type = type(typeName);
            core.checkUuidFree(uuid);
            if (!type.hasRoom()) {
                throw new ResourceExhaustedException("type: mdev type '" + typeName + "' of " + device.name()
                        + " has no instance available (all " + type.maxInstances() + " in use)");
            }
            Mdev m = new Mdev(core, uuid, type);
            type.instanceCreated();
            mdevs.add(m);
            core.mdevCreated(m);
            return m;
        }
    }

    /** The mdevs of this parent alive now, in creation order. */
    public List<Mdev> mdevs() {
        synchronized (core.lock) {
            return List.copyOf(mdevs);
        }
    }

    public boolean isRegistered() {
        synchronized (core.lock) {
            return registered;
        }
    }

    /** Unregisters the parent; refused with {@link BusyException} while any of its mdevs exists. */
    public void unregister() {
        synchronized (core.lock) {
            checkRegistered();
            if (!mdevs.isEmpty()) {
                throw new BusyException("parent " + device.name() + " still has " + mdevs.size() + " mdev(s) "
                        + mdevs.stream().map(m -> m.uuid().toString()).toList() + "; remove them first");
            }
            registered = false;
            core.parentUnregistered(this);
        }
    }

    void mdevRemoved(Mdev m) {
        mdevs.remove(m);
        m.type().instanceRemoved();
        core.mdevRemoved(m);
    }

    private void checkRegistered() {
        if (!registered) {
            throw new ClosedException("parent: " + device.name() + " was unregistered as an mdev parent");
        }
    }

    @Override
    public String toString() {
        return "mdev parent " + device.name();
    }
}
