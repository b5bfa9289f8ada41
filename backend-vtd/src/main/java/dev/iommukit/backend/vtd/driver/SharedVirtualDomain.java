package dev.iommukit.backend.vtd.driver;

import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.backend.vtd.arch.PasidTableEntry;
import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.pgtable.x86.X86PagingEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * A native SVA bind (digest §14): a first-level-only PASID entry (PGTT=001, FLPM=00) whose FLPTPTR
 * is the process's CR3, with its own DID, PWSNP=1 so hardware sets A/D in the CPU's tables with
 * compare-and-swap (digest §7), and SRE=0 (user requests only). The process owns the tables: map
 * and unmap are refused, {@link #invalidate} is its MMU notifier (p_iotlb_inv page-selective per
 * attachment), and {@link #quiesce} turns every attached PASID entry into P=0 with FPD=1, so that
 * requests abort without a fault record until the core detaches the PASID.
 */
final class SharedVirtualDomain implements DriverDomain, SvaDomain {
    /** The CPU format and width accepted: x86-64 4-level paging. */
    static final String CPU_FORMAT = "x86-64";
    static final int ADDRESS_BITS = 48;
    private static final int LEVELS = 4;
    private static final int MAX_RANGE_DESCRIPTORS = 32;

    private final CpuAddressSpace space;
    private final int did;
    private final int mamv;
    private final PhysicalMemory memory;
    private final InvalidationQueue queue;
    private final PasidTableEntry bound;
    private final DomainInfo info;
    private final Consumer<SharedVirtualDomain> quiescer;
    private final Runnable release;
    private final Attachments attachments = new Attachments();
    private volatile boolean quiesced;

    SharedVirtualDomain(CpuAddressSpace space, int did, int outputBits, int mamv, PhysicalMemory memory, InvalidationQueue queue,
                        Consumer<SharedVirtualDomain> quiescer, Runnable release) {
        this.space = space;
        this.did = did;
        this.mamv = mamv;
        this.memory = memory;
        this.queue = queue;
        this.quiescer = quiescer;
        this.release = release;
        this.bound = PasidTableEntry.firstLevel(0, space.pageTableRoot(), did, true, false, false);
        this.info = new DomainInfo(DomainType.SVA, 0, 0, (1L << (ADDRESS_BITS - 1)) - 1, outputBits, true,
                "SVA: CPU x86-64 4-level tables (CR3), DID " + did);
    }

    /** Whether {@code space} is one this domain can translate through; otherwise the rule it breaks. */
    static String unsupported(CpuAddressSpace space) {
        if (!CPU_FORMAT.equals(space.cpuFormat()) || space.addressBits() != ADDRESS_BITS) {
            return "cpuFormat must be x86-64 with addressBits 48 (4-level paging, FLPM=00), was " + space.cpuFormat() + " with "
                    + space.addressBits();
        }
        return null;
    }

    int did() {
        return did;
    }

    /** The entry a live bind writes (also the DID and PGTT that tag what hardware caches for it). */
    PasidTableEntry boundEntry() {
        return bound;
    }

    boolean quiesced() {
        return quiesced;
    }

    /** Called by the driver, under its lock, before it rewrites the attached entries. */
    void markQuiesced() {
        quiesced = true;
    }

    @Override
    public PasidTableEntry pasidEntry() {
        return quiesced ? PasidTableEntry.NOT_PRESENT_UNRECORDED : bound;
    }

    @Override
    public PasidTableEntry invalidationTags() {
        return bound;
    }

    @Override
    public void attached(int rid, int pasid) {
        attachments.add(rid, pasid);
    }

    @Override
    public void detached(int rid, int pasid) {
        attachments.remove(rid, pasid);
    }

    @Override
    public CpuAddressSpace addressSpace() {
        return space;
    }

    @Override
    public DomainInfo info() {
        return info;
    }

    @Override
    public void map(long iova, long pa, long pageSize, long count, int permissions) {
        throw IommuException.invalid("iova", "an SVA domain has no map: the process owns its CPU page tables and calls invalidate()");
    }

    @Override
    public void unmap(long iova, long size) {
        throw IommuException.invalid("iova", "an SVA domain has no unmap: the process owns its CPU page tables and calls invalidate()");
    }

    /** Walks the CPU's 4-level tables read-only (never sets A/D); -1 when not mapped or outside RAM. */
    @Override
    public long iovaToPhys(long iova) {
        return FirstLevelLookup.lookup(memory, space.pageTableRoot() & X86PagingEntry.ADDRESS_MASK, LEVELS, ADDRESS_BITS, iova,
                pa -> pa);
    }


    /**
     * Digest §11 Table 28, FL table entry: p_iotlb_inv page-in-PASID for each PASID using the
     * tables (IH=0: the process may have freed a table too), or PASID-selective when the range
     * needs more than 32 descriptors; then inv_wait.
     */
    @Override
    public void invalidate(long va, long size) {
        if (size <= 0) {
            throw IommuException.invalid("size", "must be positive, was " + size);
        }
        long first = va & ~0xFFFL;
        long end = va + size;
        boolean wide = end - first > (long) MAX_RANGE_DESCRIPTORS << (12 + mamv);
        List<long[]> ranges = wide ? List.of() : PagingDomain.ranges(first, end - first, mamv);
        List<long[]> descriptors = new ArrayList<>();
        for (long a : attachments) {
            int pasid = (int) a;
            if (wide || ranges.size() > MAX_RANGE_DESCRIPTORS) {
                descriptors.add(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, did, pasid, 0, 0, false));
            } else {
                for (long[] r : ranges) {
                    descriptors.add(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PAGE, did, pasid, r[0], (int) r[1], false));
                }
            }
        }
        if (!descriptors.isEmpty()) {
            queue.submitAndWait(descriptors);
        }
    }

    @Override
    public void quiesce() {
        quiescer.accept(this);
    }

    /** DID re-use rule (digest §11 Table 28): pc domain-selective, then iotlb domain-selective; then the DID goes back. */
    @Override
    public void free() {
        queue.submitAndWait(List.of(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_DOMAIN, did, 0),
                InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did, 0, 0, false)));
        release.run();
    }
}
