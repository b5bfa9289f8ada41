package dev.iommukit.api;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.ResourceExhaustedException;
import dev.iommukit.spi.pgtable.PageTable;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * A process: a CPU address space with its own page tables in the machine's CPU format, written
 * into simulated memory as the kernel would, so that an IOMMU can walk them. It maps anonymous
 * memory, resolves virtual addresses, pins pages for DMA within a locked-memory limit, and exits.
 * A VMM is such a process; its memory backs a guest's physical memory.
 */
public final class Process implements AutoCloseable {
    private static final long PAGE = 4096;
    /** Where {@link #mmap} starts placing anonymous mappings. */
    public static final long MMAP_BASE = 0x7f00_0000_0000L;

    private final Machine machine;
    private final String name;
    private final int pid;
    private final PageTable pageTable;
    private final TreeMap<Long, Long> pages = new TreeMap<>();
    private final TreeMap<Long, Integer> pagePermissions = new TreeMap<>();
    /** Mapped but not yet populated regions: start to {end, permissions}. Pages appear on first touch. */
    private final TreeMap<Long, long[]> unpopulated = new TreeMap<>();
    private long nextMmap = MMAP_BASE;
    private long lockedLimit = Long.MAX_VALUE;
    private long lockedBytes;
    private boolean exited;
    /** SVA domains bound to this process, told about every change of its tables (MMU notifier). */
    private final List<SvaDomain> notifiers = new ArrayList<>();
    private int pasid = Pasid.NONE;
    private int pasidUsers;

    Process(Machine machine, String name, int pid) {
        this.machine = machine;
        this.name = name;
        this.pid = pid;
        this.pageTable = new PageTable(machine.cpu().pageTableFormat(), machine.processMemory().allocator(), "process " + name);
    }

    public String name() {
        return name;
    }

    public int pid() {
        return pid;
    }

    public CpuArchitecture cpu() {
        return machine.cpu();
    }

    /** The physical address of the root page table: what TTBR0 (AArch64) or CR3 (x86-64) holds. */
    public long pageTableRoot() {
        return pageTable.root();
    }

    /** Number of input-address bits the page tables translate (48). */
    public int addressBits() {
        return pageTable.format().inputBits();
    }

    public boolean isAlive() {
        synchronized (machine.lock) {
            return !exited;
        }
    }

    /** Maps {@code size} bytes of fresh zeroed anonymous memory somewhere free and returns its address. */
    public long mmap(long size, int permissions) {
        synchronized (machine.lock) {
            checkAlive();
            checkSize(size);
            long va = nextMmap;
            map(va, size, permissions);
            nextMmap = va + size + PAGE;
            return va;
        }
    }

    /**
     * Maps {@code size} bytes of anonymous memory somewhere free without populating it, and returns
     * its address: each page appears, zeroed, the first time it is touched (a CPU access through
     * {@link #read}/{@link #write}, a {@link #pin}, or an I/O page fault resolved by
     * {@link #faultIn}). Until then the page tables have no entry for it.
     */
    public long mmapLazy(long size, int permissions) {
        synchronized (machine.lock) {
            checkAlive();
            Permissions.check(permissions);
            checkSize(size);
            long va = nextMmap;
            checkRange(va, size);
            unpopulated.put(va, new long[] {va + size, permissions});
            nextMmap = va + size + PAGE;
            return va;
        }
    }

    /**
     * Makes the page holding {@code va} present for {@code access}, as the CPU's page-fault handler
     * would: returns true when the page is (now) mapped with a permission that allows it, false
     * when {@code va} is outside every mapping, the mapping forbids the access, or the process
     * exited. Bound SVA domains need no invalidation: a not-present entry is never cached.
     */
    public boolean faultIn(long va, dev.iommukit.spi.dma.AccessType access, boolean execute) {
        synchronized (machine.lock) {
            if (exited || machine.isClosed()) {
                return false;
            }
            long page = va & -PAGE;
            int need = Permissions.READ | (access == dev.iommukit.spi.dma.AccessType.WRITE ? Permissions.WRITE : 0)
                    | (execute ? Permissions.EXECUTE : 0);
            if (!pages.containsKey(page)) {
                // the mapping's permissions are checked before the page is populated, as for a CPU fault
                var region = unpopulated.floorEntry(page);
                if (region == null || page >= region.getValue()[0] || ((int) region.getValue()[1] & need) != need) {
                    return false;
                }
                populate(page);
            }
            int p = pagePermissions.get(page);
            return (p & need) == need;
        }
    }

    /** Populates {@code page} from an unpopulated region; false when no region holds it. */
    private boolean populate(long page) {
        var region = unpopulated.floorEntry(page);
        if (region == null || page >= region.getValue()[0]) {
            return false;
        }
        int permissions = (int) region.getValue()[1];
        long pa = machine.processMemory().allocatePage("process " + name);
        try {
            pageTable.map(page, pa, PAGE, 1, permissions);
        } catch (RuntimeException e) {
            machine.processMemory().release(pa);
            throw e;
        }
        pages.put(page, pa);
        pagePermissions.put(page, permissions);
        return true;
    }

    /** Removes {@code [va, va + size)} from the unpopulated regions, keeping what lies outside it. */
    private void cutUnpopulated(long va, long size) {
        long end = va + size;
        var before = unpopulated.lowerEntry(va);
        if (before != null && before.getValue()[0] > va) {
            long[] r = before.getValue();
            unpopulated.put(before.getKey(), new long[] {va, r[1]});
            if (r[0] > end) {
                unpopulated.put(end, new long[] {r[0], r[1]});
            }
        }
        for (Long start : List.copyOf(unpopulated.subMap(va, end).keySet())) {
            long[] r = unpopulated.remove(start);
            if (r[0] > end) {
                unpopulated.put(end, new long[] {r[0], r[1]});
            }
        }
    }

    private boolean unpopulatedOverlaps(long va, long size) {
        var before = unpopulated.floorEntry(va + size - 1);
        return before != null && before.getValue()[0] > va;
    }

    /** Maps fresh zeroed anonymous memory at {@code [va, va + size)}; refused where anything is mapped. */
    public void map(long va, long size, int permissions) {
        synchronized (machine.lock) {
            checkAlive();
            Permissions.check(permissions);
            checkRange(va, size);
            Long clash = pages.ceilingKey(va);
            if ((clash != null && clash < va + size) || unpopulatedOverlaps(va, size)) {
                throw new ConflictException("va: range 0x" + Long.toHexString(va) + "+0x" + Long.toHexString(size)
                        + " overlaps what is already mapped in process " + name);
            }
            List<Long> done = new ArrayList<>();
            try {
                for (long a = va; a < va + size; a += PAGE) {
                    long pa = machine.processMemory().allocatePage("process " + name);
                    done.add(a);
                    pages.put(a, pa);
                    pagePermissions.put(a, permissions);
                    pageTable.map(a, pa, PAGE, 1, permissions);
                }
            } catch (RuntimeException e) {
                for (long a : done) {
                    unmapPage(a);
                }
                for (SvaDomain d : notifiers) {
                    d.invalidate(va, size);
                }
                throw e;
            }
        }
    }

    /**
     * Unmaps {@code [va, va + size)}; pages still pinned stay allocated until unpinned. Every SVA
     * binding is told before the call returns, so no DMA that starts afterwards reaches the pages.
     */
    public void munmap(long va, long size) {
        synchronized (machine.lock) {
            checkAlive();
            checkRange(va, size);
            cutUnpopulated(va, size);
            boolean any = false;
            for (long a : List.copyOf(pages.subMap(va, va + size).keySet())) {
                unmapPage(a);
                any = true;
            }
            if (any) {
                for (SvaDomain d : notifiers) {
                    d.invalidate(va, size);
                }
            }
        }
    }

    /** The address space as an IOMMU sees it for SVA: the root of the page tables, their format and width. */
    public CpuAddressSpace addressSpace() {
        return new CpuAddressSpace(pageTable.root(), cpu().formatName(), addressBits());
    }

    /** The PASID this process's address space answers on for SVA, or {@link Pasid#NONE} while it has no binding. */
    public int pasid() {
        synchronized (machine.lock) {
            return pasid;
        }
    }

    /** The mappings as the process keeps them: virtual page to physical page, with permissions. */
    List<long[]> pageMappings() {
        List<long[]> out = new ArrayList<>();
        for (var e : pages.entrySet()) {
            out.add(new long[] {e.getKey(), e.getValue(), pagePermissions.get(e.getKey())});
        }
        return out;
    }

    int acquirePasid(int width, String forWhat) {
        if (pasid == Pasid.NONE) {
            pasid = machine.pasids.allocate(width, forWhat);
        } else {
            if (pasid >= (1 << width)) {
                throw IommuException.invalid("process", this + " answers on PASID " + pasid + ", beyond the device's " + width + "-bit width");
            }
            machine.pasids.retain(pasid);
        }
        pasidUsers++;
        return pasid;
    }

    void releasePasid() {
        machine.pasids.release(pasid);
        if (--pasidUsers == 0) {
            pasid = Pasid.NONE;
        }
    }

    void addNotifier(SvaDomain domain) {
        notifiers.add(domain);
    }

    void removeNotifier(SvaDomain domain) {
        notifiers.remove(domain);
    }

    private void unmapPage(long va) {
        Long pa = pages.remove(va);
        pagePermissions.remove(va);
        if (pageTable.iovaToPhys(va) >= 0) {
            pageTable.unmap(va, PAGE);
        }
        if (pa != null) {
            machine.processMemory().release(pa);
        }
    }

    /** The physical address {@code va} maps to, read from the page tables; -1 when unmapped. */
    public long resolve(long va) {
        synchronized (machine.lock) {
            return exited ? -1 : pageTable.iovaToPhys(va);
        }
    }

    /**
     * Stores {@code data} at {@code va} as the process's CPU would (through its page tables, page
     * by page). Every page of the range must be mapped; nothing is written otherwise.
     */
    public void write(long va, byte[] data) {
        synchronized (machine.lock) {
            long[] pas = physicalPages(va, data.length);
            for (int done = 0, i = 0; done < data.length; i++) {
                int chunk = (int) Math.min(data.length - done, PAGE - ((va + done) & (PAGE - 1)));
                machine.memory().write(pas[i] + ((va + done) & (PAGE - 1)), data, done, chunk);
                done += chunk;
            }
        }
    }

    /** Loads {@code length} bytes at {@code va} as the process's CPU would; every page must be mapped. */
    public byte[] read(long va, int length) {
        synchronized (machine.lock) {
            long[] pas = physicalPages(va, length);
            byte[] out = new byte[length];
            for (int done = 0, i = 0; done < length; i++) {
                int chunk = (int) Math.min(length - done, PAGE - ((va + done) & (PAGE - 1)));
                machine.memory().read(pas[i] + ((va + done) & (PAGE - 1)), out, done, chunk);
                done += chunk;
            }
            return out;
        }
    }

    private long[] physicalPages(long va, int length) {
        checkAlive();
        if (length < 0 || va < 0 || va + length < va) {
            throw IommuException.invalid("va", "range 0x" + Long.toHexString(va) + "+" + length + " is not a valid range");
        }
        long first = va & -PAGE;
        long last = length == 0 ? first : (va + length - 1) & -PAGE;
        long[] pas = new long[(int) ((last - first) / PAGE) + 1];
        for (int i = 0; i < pas.length; i++) {
            Long pa = pages.get(first + i * PAGE);
            if (pa == null && populate(first + i * PAGE)) {
                pa = pages.get(first + i * PAGE);
            }
            if (pa == null) {
                throw IommuException.invalid("va", "0x" + Long.toHexString(first + i * PAGE) + " is not mapped in " + this);
            }
            pas[i] = pa;
        }
        return pas;
    }

    /** The permissions {@code va} is mapped with, or 0. */
    public int permissionsAt(long va) {
        synchronized (machine.lock) {
            Integer p = pagePermissions.get(va & -PAGE);
            return p == null ? 0 : p;
        }
    }

    /** Limits how many bytes may be pinned for DMA at once (RLIMIT_MEMLOCK). */
    public void setLockedMemoryLimit(long bytes) {
        synchronized (machine.lock) {
            if (bytes < 0) {
                throw IommuException.invalid("bytes", "a locked-memory limit cannot be negative, was " + bytes);
            }
            lockedLimit = bytes;
        }
    }

    public long lockedMemoryLimit() {
        synchronized (machine.lock) {
            return lockedLimit;
        }
    }

    /** Bytes pinned now. */
    public long lockedBytes() {
        synchronized (machine.lock) {
            return lockedBytes;
        }
    }

    /**
     * Pins every page of {@code [va, va + size)} for DMA and returns their physical addresses in
     * order. All or nothing: refused when a page is unmapped, lacks {@code permissions}, or the
     * locked-memory limit would be exceeded.
     */
    public long[] pin(long va, long size, int permissions) {
        synchronized (machine.lock) {
            checkAlive();
            checkRange(va, size);
            if (lockedBytes + size > lockedLimit) {
                throw new ResourceExhaustedException("size: pinning 0x" + Long.toHexString(size) + " bytes would exceed the locked-memory limit of 0x"
                        + Long.toHexString(lockedLimit) + " bytes of process " + name + " (0x" + Long.toHexString(lockedBytes) + " pinned)");
            }
            long[] pas = new long[(int) (size / PAGE)];
            for (int i = 0; i < pas.length; i++) {
                long a = va + i * PAGE;
                Long pa = pages.get(a);
                if (pa == null && populate(a)) {
                    pa = pages.get(a);
                }
                if (pa == null) {
                    throw IommuException.invalid("vaddr", "0x" + Long.toHexString(a) + " is not mapped in process " + name);
                }
                if ((pagePermissions.get(a) & permissions) != permissions) {
                    throw IommuException.invalid("vaddr", "0x" + Long.toHexString(a) + " is mapped " + Permissions.toString(pagePermissions.get(a))
                            + " in process " + name + ", but " + Permissions.toString(permissions) + " was asked");
                }
                pas[i] = pa;
            }
            for (long pa : pas) {
                machine.processMemory().retain(pa);
            }
            lockedBytes += size;
            return pas;
        }
    }

    /** Releases pins taken by {@link #pin}; works after exit too, so owners can clean up. */
    public void unpin(long[] physicalPages) {
        synchronized (machine.lock) {
            for (long pa : physicalPages) {
                machine.processMemory().release(pa);
            }
            lockedBytes -= physicalPages.length * PAGE;
        }
    }

    /**
     * Exits: every SVA binding is quiesced first (its PASID faults quietly until unbound), then
     * everything is unmapped and the page tables are freed. Pinned pages live on until unpinned.
     */
    public void exit() {
        synchronized (machine.lock) {
            if (exited) {
                return;
            }
            for (SvaDomain d : notifiers) {
                d.quiesce();
            }
            for (long a : List.copyOf(pages.keySet())) {
                unmapPage(a);
            }
            unpopulated.clear();
            pageTable.free();
            exited = true;
            machine.processExited(this);
        }
    }

    @Override
    public void close() {
        exit();
    }

    private void checkAlive() {
        machine.checkOpen();
        if (exited) {
            throw new ClosedException("process " + name + " (pid " + pid + ") has exited");
        }
    }

    private static void checkSize(long size) {
        if (size <= 0 || (size & (PAGE - 1)) != 0) {
            throw IommuException.invalid("size", "must be a positive multiple of 4 KiB, was 0x" + Long.toHexString(size));
        }
    }

    private void checkRange(long va, long size) {
        checkSize(size);
        if ((va & (PAGE - 1)) != 0) {
            throw IommuException.invalid("va", "must be 4 KiB aligned, was 0x" + Long.toHexString(va));
        }
        long limit = 1L << addressBits();
        if (va < 0 || va + size > limit || va + size < va) {
            throw IommuException.invalid("va", "range 0x" + Long.toHexString(va) + "+0x" + Long.toHexString(size)
                    + " is outside the " + addressBits() + "-bit user address space");
        }
    }

    @Override
    public String toString() {
        return "process " + name + " (pid " + pid + ")";
    }
}
