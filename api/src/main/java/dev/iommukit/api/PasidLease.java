package dev.iommukit.api;

/**
 * One reference to a PASID of the machine's PASID space, held by an owner that hands PASIDs out
 * itself (a container allocating guest PASIDs). Only the lease releases its reference, once: a
 * PASID is reused only when nothing refers to it, so no one else can free it under its holder.
 */
public final class PasidLease implements AutoCloseable {
    private final Machine machine;
    private final int pasid;
    private final String owner;
    private boolean released;

    PasidLease(Machine machine, int pasid, String owner) {
        this.machine = machine;
        this.pasid = pasid;
        this.owner = owner;
    }

    public int pasid() {
        return pasid;
    }

    public boolean isReleased() {
        synchronized (machine.lock) {
            return released;
        }
    }

    /** Drops the reference; later calls do nothing. */
    @Override
    public void close() {
        synchronized (machine.lock) {
            if (!released) {
                released = true;
                machine.pasids.release(pasid);
            }
        }
    }

    @Override
    public String toString() {
        return "PASID " + pasid + " held by " + owner + (released ? " (released)" : "");
    }
}
