package dev.iommukit.mdev;

/**
 * One mdev type a parent offers: its name, the device API its instances present, and how many
 * more instances can be created now ({@code maxInstances} less the mdevs of this type alive).
 */
public final class MdevType {
    private final MdevParent parent;
    private final String name;
    private final String deviceApi;
    private final int maxInstances;
    private int instances;

    MdevType(MdevParent parent, MdevTypeSpec spec) {
        this.parent = parent;
        this.name = spec.name();
        this.deviceApi = spec.deviceApi();
        this.maxInstances = spec.maxInstances();
    }

    public String name() {
        return name;
    }

    public String deviceApi() {
        return deviceApi;
    }

    /** How many instances the type holds at most. */
    public int maxInstances() {
        return maxInstances;
    }

    /** How many more instances can be created now. */
    public int availableInstances() {
        synchronized (parent.core().lock) {
            return maxInstances - instances;
        }
    }

    public MdevParent parent() {
        return parent;
    }

    /** Under the core's lock. */
    boolean hasRoom() {
        return instances < maxInstances;
    }

    void instanceCreated() {
        instances++;
    }

    void instanceRemoved() {
        instances--;
    }

    @Override
    public String toString() {
        return name + " (" + deviceApi + ") of " + parent.device().name();
    }
}
