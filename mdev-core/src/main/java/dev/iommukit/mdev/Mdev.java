package dev.iommukit.mdev;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.RecordlessFault;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.UUID;
import java.util.concurrent.locks.StampedLock;

/**
 * An IOMMU-aware mediated device: an instance of an mdev type whose IOMMU device is its parent.
 * Its DMA is the parent's DMA tagged with its PASID, which it has only while attached to a
 * container (the PASID of its aux domain). Without one its DMA is refused before any request is
 * issued, so it can never reach what the parent's requests without PASID reach.
 */
public final class Mdev {
    /**
     * The record of a DMA an mdev was refused before it reached the bus: without a PASID (not in a
     * container) no request is issued, so no IOMMU wrote a record.
     */
    private static final RecordlessFault NO_PASID = new RecordlessFault("iommukit-mdev", "NO_PASID", java.util.Map.of());

    private final MdevCore core;
    private final UUID uuid;
    private final MdevType type;
    private final MdevParent parent;
    /**
     * One gate per PASID the mdev's DMA carries; readers are DMAs in flight with it. A revoke first
     * stops new DMAs from carrying the PASID, then the caller detaches it (which drains its page
     * requests, so a DMA waiting for a page response ends), then {@link #awaitDmaQuiet} waits for
     * the DMAs still in flight with that PASID only: one at another PASID may be waiting for a page
     * response whose handler needs the container.
     */
    private final java.util.concurrent.ConcurrentHashMap<Integer, StampedLock> dmaGates = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile int pasid = Pasid.NONE;
    /** Guest PASIDs bound for this mdev through its container (sorted, replaced whole on change). */
    private volatile int[] guestPasids = new int[0];
    private Container container;
    private boolean removed;

    Mdev(MdevCore core, UUID uuid, MdevType type) {
        this.core = core;
        this.uuid = uuid;
        this.type = type;
        this.parent = type.parent();
    }

    public UUID uuid() {
        return uuid;
    }

    public MdevType type() {
        return type;
    }

    public MdevParent parent() {
        return parent;
    }

    /** The device whose IOMMU translates this mdev's DMA: its parent. */
    public Device iommuDevice() {
        return parent.device();
    }

    /** The PASID the mdev's DMA carries: present only while it is attached to a container. */
    public OptionalInt pasid() {
        int p = pasid;
        return p == Pasid.NONE ? OptionalInt.empty() : OptionalInt.of(p);
    }

    /** The container the mdev is attached to, if any. */
    public Optional<Container> container() {
        synchronized (core.lock) {
            return Optional.ofNullable(container);
        }
    }

    public boolean isRemoved() {
        synchronized (core.lock) {
            return removed;
        }
    }

    /** Translates one request of the mdev at {@code iova}; a fault with reason BLOCKED without a PASID. */
    public DmaResult translate(long iova, AccessType access) {
        return translate(iova, access, DmaAttributes.DEFAULT);
    }

    /**
     * Translates one request with {@code attributes}: without a PASID in them the mdev tags the
     * request with its own (aux domain) PASID; with one, it must be a guest PASID bound for this
     * mdev through its container ({@link Container#bindGuestPasid(Mdev, int,
     * dev.iommukit.spi.nested.VtdFirstLevelConfig)}), and the request carries it.
     */
    public DmaResult translate(long iova, AccessType access, DmaAttributes attributes) {
        return gated(attributes, p -> parent.device().translate(iova, access, tagged(attributes, p)), () -> refused(iova, access));
    }

    /** Reads {@code into.length} bytes at {@code iova} as the parent's DMA tagged with the mdev's PASID. */
    public DmaResult read(long iova, byte[] into) {
        return read(iova, into, DmaAttributes.DEFAULT);
    }

    /** Reads with {@code attributes}; their PASID is none (the mdev's own) or a guest PASID bound for it. */
    public DmaResult read(long iova, byte[] into, DmaAttributes attributes) {
        return gated(attributes, p -> parent.device().read(iova, into, tagged(attributes, p)), () -> refused(iova, AccessType.READ));
    }

    /** Writes {@code from} at {@code iova} as the parent's DMA tagged with the mdev's PASID. */
    public DmaResult write(long iova, byte[] from) {
        return write(iova, from, DmaAttributes.DEFAULT);
    }

    /** Writes with {@code attributes}; their PASID is none (the mdev's own) or a guest PASID bound for it. */
    public DmaResult write(long iova, byte[] from, DmaAttributes attributes) {
        return gated(attributes, p -> parent.device().write(iova, from, tagged(attributes, p)), () -> refused(iova, AccessType.WRITE));
    }

    /** Issues {@code dma} with the PASID the request carries, inside that PASID's gate; {@code refused} without one. */
    private DmaResult gated(DmaAttributes attributes, java.util.function.IntFunction<DmaResult> dma,
                            java.util.function.Supplier<DmaResult> refused) {
        checkAttributes(attributes);
        while (true) {
            int p = requestPasid(attributes);
            if (p == Pasid.NONE) {
                return refused.get();
            }
            StampedLock gate = dmaGates.computeIfAbsent(p, k -> new StampedLock());
            long stamp = gate.readLock();
            try {
                if (requestPasid(attributes) == p) {
                    return dma.apply(p);
                }
            } finally {
                gate.unlockRead(stamp);
            }
        }
    }

    private static void checkAttributes(DmaAttributes attributes) {
        Objects.requireNonNull(attributes, "attributes");
    }

    /** The PASID a request with {@code attributes} carries; called under the DMA gate. */
    private int requestPasid(DmaAttributes attributes) {
        int wanted = attributes.pasid();
        if (wanted == Pasid.NONE) {
            return pasid;
        }
        if (Arrays.binarySearch(guestPasids, wanted) < 0) {
            throw IommuException.invalid("attributes", "pasid " + wanted + " is not a guest PASID bound for " + this
                    + "; an mdev tags its DMA with its own PASID or with one bound through its container (bound: "
                    + Arrays.toString(guestPasids) + ")");
        }
        return wanted;
    }

    /** The guest PASIDs bound for this mdev through its container, in ascending order. */
    public List<Integer> guestPasids() {
        return Arrays.stream(guestPasids).boxed().toList();
    }

    private static DmaAttributes tagged(DmaAttributes attributes, int p) {
        return new DmaAttributes(p, attributes.execute(), attributes.privileged());
    }

    private DmaResult refused(long iova, AccessType access) {
        Fault f = new Fault(parent.device().rid(), Pasid.NONE, iova, access, FaultReason.BLOCKED, NO_PASID);
        return new DmaResult(iova, -1, 0, f);
    }

    /**
     * Removes the mdev; its type gains an instance. Refused with {@link BusyException} while it is
     * attached to a container, and with {@link NotFoundException} once removed.
     */
    public void remove() {
        synchronized (core.lock) {
            if (removed) {
                throw new NotFoundException("uuid: mdev " + uuid + " was already removed");
            }
            if (container != null) {
                throw new BusyException("mdev " + uuid + " is attached to " + container + "; detach it or close the container first");
            }
            removed = true;
            parent.mdevRemoved(this);
        }
    }

    // ---------------------------------------------------------------- under the core's lock

    Container attachedContainer() {
        return container;
    }

    boolean removedFlag() {
        return removed;
    }

    void attached(Container c, int auxPasid) {
        container = c;
        pasid = auxPasid;
    }

    /** Takes the PASID away from DMAs that start from now on; those in flight keep it. */
    void revokePasid() {
        pasid = Pasid.NONE;
    }

    /** Returns once no DMA with {@code p} that started before its revoke is in flight any more. */
    void awaitDmaQuiet(int p) {
        StampedLock gate = dmaGates.get(p);
        if (gate != null) {
            gate.unlockWrite(gate.writeLock());
        }
    }

    /** Lets the mdev's DMA carry guest PASID {@code p} (bound at its parent already). */
    void guestPasidBound(int p) {
        int[] next = Arrays.copyOf(guestPasids, guestPasids.length + 1);
        next[next.length - 1] = p;
        Arrays.sort(next);
        guestPasids = next;
    }

    /** Takes guest PASID {@code p} away from DMAs that start from now on; see {@link #awaitDmaQuiet}. */
    void revokeGuestPasid(int p) {
        guestPasids = Arrays.stream(guestPasids).filter(x -> x != p).toArray();
    }

    /** Gives back a PASID revoked by a detach that then failed. */
    void restorePasid(int auxPasid) {
        pasid = auxPasid;
    }

    void detached() {
        container = null;
        pasid = Pasid.NONE;
        guestPasids = new int[0];
    }

    @Override
    public String toString() {
        return "mdev " + uuid + " (" + type.name() + " on " + parent.device().name() + ")";
    }
}
