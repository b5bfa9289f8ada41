package dev.iommukit.guest;

import dev.iommukit.api.Process;
import dev.iommukit.mdev.Container;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import java.util.BitSet;
import java.util.Objects;

/**
 * A virtual machine whose guest-physical memory is a VMM process's memory: {@link #create} mmaps
 * the RAM in the container's owner (the VMM) and maps it with MAP_DMA at IOVA = GPA
 * {@code 0 .. ramSize}, so the container's domains translate guest-physical to host-physical
 * addresses (stage 2). The guest writes its own page tables and CD tables into that RAM.
 *
 * <p>The guest kernel's page allocator ({@link #allocatePage}) hands out zeroed pages from the
 * top of RAM downwards, so low guest-physical addresses stay free for data the caller places
 * itself. The allocator, each page table and each CD table are safe to use from several threads;
 * guest memory is written with single-copy-atomic stores, so devices may DMA meanwhile.
 */
public final class Guest implements AutoCloseable {
    private static final long PAGE = 4096;
    /** The largest RAM a guest may have: 4 GiB. */
    public static final long MAX_RAM = 1L << 32;

    private final Container container;
    private final Process vmm;
    private final long ramSize;
    private final long vmmAddress;
    private final GuestMemory memory;
    private final BitSet allocated = new BitSet();
    private boolean closed;

    private Guest(Container container, Process vmm, long ramSize, long vmmAddress, long[] hostPages) {
        this.container = container;
        this.vmm = vmm;
        this.ramSize = ramSize;
        this.vmmAddress = vmmAddress;
        this.memory = new GuestMemory(this, container.machine().memory(), hostPages);
    }

    /**
     * Creates a guest with {@code ramSize} bytes of RAM (a positive multiple of 4 KiB, at most
     * {@link #MAX_RAM}) in {@code container}, whose owner is the VMM. All or nothing: a refusal of
     * the mmap or of MAP_DMA (locked-memory limit, an IOVA range already mapped, an aperture that
     * does not hold it) leaves the VMM and the container as they were.
     */
    public static Guest create(Container container, long ramSize) {
        Objects.requireNonNull(container, "container");
        if (ramSize <= 0 || (ramSize & (PAGE - 1)) != 0 || ramSize > MAX_RAM) {
            throw IommuException.invalid("ramSize", "must be a positive multiple of 4 KiB up to 4 GiB, was 0x" + Long.toHexString(ramSize));
        }
        Process vmm = container.owner();
        long va = vmm.mmap(ramSize, Permissions.READ | Permissions.WRITE | Permissions.EXECUTE);
        try {
            container.mapDma(va, 0, ramSize, Permissions.READ | Permissions.WRITE | Permissions.EXECUTE);
        } catch (RuntimeException e) {
            try {
                vmm.munmap(va, ramSize);
            } catch (RuntimeException undo) {
                e.addSuppressed(undo);
            }
            throw e;
        }
        long[] hostPages = new long[(int) (ramSize / PAGE)];
        for (int i = 0; i < hostPages.length; i++) {
            hostPages[i] = vmm.resolve(va + i * PAGE);
        }
        return new Guest(container, vmm, ramSize, va, hostPages);
    }

    /** The container whose domains are this guest's stage 2. */
    public Container container() {
        return container;
    }

    /** The VMM process whose memory is the guest's RAM: the container's owner. */
    public Process vmm() {
        return vmm;
    }

    public long ramSize() {
        return ramSize;
    }

    /** Where the guest's RAM starts in the VMM's address space (GPA 0). */
    public long vmmAddress() {
        return vmmAddress;
    }

    /** The guest's RAM by guest-physical address. */
    public GuestMemory memory() {
        return memory;
    }

    /** The host-physical address backing {@code gpa}, or -1 when it is outside the guest's RAM. */
    public long hostPhysical(long gpa) {
        return memory.hostPhysical(gpa);
    }

    /** The guest kernel's allocator: one zeroed 4 KiB page of guest RAM, by its guest-physical address. */
    public long allocatePage() {
        return allocatePages(1);
    }

    /**
     * {@code count} (a power of two) zeroed contiguous pages aligned to their total size, as
     * structures aligned to their size need (a linear CD table). Taken from the top of RAM down;
     * {@link ResourceExhaustedException} when no such block is free.
     */
    public synchronized long allocatePages(int count) {
        checkOpen();
        if (count < 1 || Integer.bitCount(count) != 1) {
            throw IommuException.invalid("count", "must be a power of two of at least 1, was " + count);
        }
        int pages = (int) (ramSize / PAGE);
        for (int first = (pages / count - 1) * count; first >= 0; first -= count) {
            int used = allocated.nextSetBit(first);
            if (used < 0 || used >= first + count) {
                allocated.set(first, first + count);
                for (int i = first; i < first + count; i++) {
                    memory.zeroPage(i * PAGE);
                }
                return first * PAGE;
            }
        }
        throw new ResourceExhaustedException("count: no " + count + " free contiguous aligned page(s) left in the guest's 0x"
                + Long.toHexString(ramSize) + " bytes of RAM (" + allocated.cardinality() + " pages allocated)");
    }

    /** Returns pages taken by {@link #allocatePages} (or {@link #allocatePage}) to the guest allocator. */
    public synchronized void freePages(long gpa, int count) {
        checkOpen();
        if ((gpa & (PAGE - 1)) != 0 || !memory.contains(gpa, count * PAGE) || count < 1) {
            throw IommuException.invalid("gpa", "0x" + Long.toHexString(gpa) + "+" + count + " pages is not a page range of the guest's RAM");
        }
        int first = (int) (gpa / PAGE);
        if (allocated.get(first, first + count).cardinality() != count) {
            throw IommuException.invalid("gpa", "0x" + Long.toHexString(gpa) + "+" + count + " pages were not all allocated by the guest");
        }
        allocated.clear(first, first + count);
    }

    /** Pages the guest allocator has handed out and not taken back. */
    public synchronized int allocatedPages() {
        return allocated.cardinality();
    }

    /** A new, empty page table of {@code format} whose tables live in guest RAM. */
    public GuestPageTable newPageTable(GuestPageTable.Format format) {
        Objects.requireNonNull(format, "format");
        return new GuestPageTable(this, format);
    }

    /**
     * A new linear SMMUv3 CD table of {@code 2^cdMaxBits} invalid CDs (0..20), aligned to its size
     * in guest RAM.
     */
    public GuestContextTable newContextTable(int cdMaxBits) {
        return new GuestContextTable(this, cdMaxBits, SmmuContextTableConfig.Format.LINEAR);
    }

    /**
     * A new SMMUv3 CD table of {@code 2^cdMaxBits} invalid CDs in {@code format}: linear, or two
     * levels whose leaf tables are allocated as the guest writes CDs into them.
     */
    public GuestContextTable newContextTable(int cdMaxBits, SmmuContextTableConfig.Format format) {
        return new GuestContextTable(this, cdMaxBits, format);
    }

    public synchronized boolean isClosed() {
        return closed;
    }

    /**
     * Takes the RAM away: UNMAP_DMA of the guest's range from the container (when still open) and
     * munmap in the VMM (when still alive). Bindings that still point into the RAM then fault at
     * stage 2. Idempotent.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException failure = null;
        try {
            if (!container.isClosed()) {
                container.unmapDma(0, ramSize);
            }
        } catch (ClosedException gone) {
            // the machine or the container went first
        } catch (RuntimeException e) {
            failure = e;
        }
        try {
            if (vmm.isAlive()) {
                vmm.munmap(vmmAddress, ramSize);
            }
        } catch (ClosedException gone) {
            // the machine went first
        } catch (RuntimeException e) {
            if (failure == null) {
                failure = e;
            } else {
                failure.addSuppressed(e);
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    synchronized void checkOpen() {
        if (closed) {
            throw new ClosedException("guest: it was closed");
        }
    }

    @Override
    public String toString() {
        return "guest of " + vmm + " (0x" + Long.toHexString(ramSize) + " bytes of RAM in container " + container.id() + ")";
    }
}
