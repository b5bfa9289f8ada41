package dev.iommukit.backend.vtd.driver;

import dev.iommukit.backend.vtd.arch.InterruptAddressRange;
import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.backend.vtd.arch.PasidTableEntry;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.pgtable.PageTable;
import dev.iommukit.spi.pgtable.PageTableFormat;
import dev.iommukit.spi.pgtable.vtd.SecondLevelFormat;
import dev.iommukit.spi.pgtable.x86.X86PagingFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * A paging domain with its own DID: second level (PGTT=010, the default and every nesting
 * parent) or first level (PGTT=001, x86-64 4-level tables with U/S and A/D preset, FLPM=00,
 * WPE=1). Unmap invalidates through the queue before it returns: iotlb_inv page-selective in the
 * DID for a second-level domain, p_iotlb_inv page-selective for each PASID a first-level domain
 * serves (digest §11 Table 28), with IH=1 unless a large page was split.
 */
final class PagingDomain implements DriverDomain {
    private static final int MAX_RANGE_DESCRIPTORS = 32;

    private final PageTable table;
    private final boolean firstLevel;
    private final int did;
    private final int mamv;
    private final boolean pwsnp;
    private final InvalidationQueue queue;
    private final DomainInfo info;
    private final Attachments attachments = new Attachments();
    private final Runnable release;

    PagingDomain(boolean firstLevel, int addressWidth, int outputBits, int did, int mamv, boolean pwsnp, PageAllocator allocator,
                 InvalidationQueue queue, Runnable release) {
        this.firstLevel = firstLevel;
        this.did = did;
        this.mamv = mamv;
        this.pwsnp = pwsnp;
        this.queue = queue;
        this.release = release;
        PageTableFormat format = firstLevel ? X86PagingFormat.fourLevelForDma() : new SecondLevelFormat(addressWidth, true, true);
        this.table = new PageTable(format, allocator, "vtd domain " + did);
        long apertureEnd = firstLevel ? (1L << 47) - 1 : (1L << addressWidth) - 1;
        String translation = firstLevel ? "first level (PGTT=001), x86-64 4-level paging, 48-bit canonical input, DID " + did
                : "second level (PGTT=010), " + format.levels() + "-level, " + addressWidth + "-bit input, DID " + did;
        this.info = new DomainInfo(DomainType.PAGING, format.pageSizes(), 0, apertureEnd, outputBits, true, translation);
    }

    int did() {
        return did;
    }

    boolean firstLevel() {
        return firstLevel;
    }

    /** Whether this domain belongs to the unit whose invalidation queue is {@code q}. */
    boolean ownedBy(InvalidationQueue q) {
        return queue == q;
    }

    PageTable table() {
        return table;
    }

    @Override
    public PasidTableEntry pasidEntry() {
        if (firstLevel) {
            return PasidTableEntry.firstLevel(0, table.root(), did, pwsnp, true, true);
        }
        return PasidTableEntry.secondLevel(((SecondLevelFormat) table.format()).awCode(), table.root(), did, pwsnp, true);
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
    public DomainInfo info() {
        return info;
    }

    @Override
    public void map(long iova, long pa, long pageSize, long count, int permissions) {
        if (InterruptAddressRange.overlaps(pa, pageSize * count)) {
            throw IommuException.invalid("pa", String.format("range 0x%x+0x%x overlaps the interrupt address range 0x%x-0x%x,"
                    + " where a DMA write is an interrupt request, not memory (VT-d SGN.8)", pa, pageSize * count,
                    InterruptAddressRange.BASE, InterruptAddressRange.BASE + InterruptAddressRange.SIZE - 1));
        }
        // Not-present to present needs no invalidation with CAP.CM=0 (digest §11 Table 28 note).
        table.map(iova, pa, pageSize, count, permissions);
    }

    @Override
    public void unmap(long iova, long size) {
        long before = table.tablePages();
        table.unmap(iova, size);
        boolean leafOnly = table.tablePages() == before;
        List<long[]> descriptors = new ArrayList<>();
        List<long[]> ranges = ranges(iova, size, mamv);
        if (firstLevel) {
            for (long a : attachments) {
                int pasid = (int) a;
                if (ranges.size() > MAX_RANGE_DESCRIPTORS) {
                    descriptors.add(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, did, pasid, 0, 0, false));
                } else {
                    for (long[] r : ranges) {
                        descriptors.add(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PAGE, did, pasid, r[0], (int) r[1], leafOnly));
                    }
                }
            }
        } else if (ranges.size() > MAX_RANGE_DESCRIPTORS) {
            descriptors.add(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did, 0, 0, false));
        } else {
            for (long[] r : ranges) {
                descriptors.add(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_PAGE, did, r[0], (int) r[1], leafOnly));
            }
        }
        if (!descriptors.isEmpty() || !firstLevel) {
            queue.submitAndWait(descriptors);
        }
    }

    /**
     * Splits {@code [iova, iova + size)} into naturally aligned power-of-two blocks of at most
     * 2^{@code mamv} pages: {address, AM}.
     */
    static List<long[]> ranges(long iova, long size, int mamv) {
        List<long[]> out = new ArrayList<>();
        long a = iova & ~0xFFFL;
        long end = iova + size;
        while (a < end) {
            int am = Math.min(mamv, Long.numberOfTrailingZeros(a) - 12);
            if (a == 0) {
                am = mamv;
            }
            while (am > 0 && a + (1L << (12 + am)) > end) {
                am--;
            }
            out.add(new long[] {a, am});
            a += 1L << (12 + am);
        }
        return out;
    }

    @Override
    public long iovaToPhys(long iova) {
        return table.iovaToPhys(iova);
    }

    @Override
    public void free() {
        // DID re-use rule (digest §11 Table 28): pc domain-selective, then iotlb domain-selective.
        queue.submitAndWait(List.of(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_DOMAIN, did, 0),
                InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did, 0, 0, false)));
        table.free();
        release.run();
    }
}
