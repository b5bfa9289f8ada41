package dev.iommukit.conformance.reference;

import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.pgtable.PageTableFormat;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;

/**
 * A reference SVA domain: it owns no tables and walks the process's AArch64 tables in memory on
 * every TLB miss, decoding descriptors with the spi's VMSA format. Invalidation drops the unit's
 * TLB; after quiesce every request faults without being reported.
 */
final class ReferenceSvaDomain implements SvaDomain {
    /** The one CPU format the reference backend walks. */
    static final String CPU_FORMAT = "aarch64";
    static final int ADDRESS_BITS = 48;
    private static final PageTableFormat FORMAT = VmsaFormat.stage1(VmsaGranule.G4K, ADDRESS_BITS);

    private final ReferenceUnit unit;
    private final CpuAddressSpace space;
    private final DomainInfo info;
    private volatile boolean quiesced;

    ReferenceSvaDomain(ReferenceUnit unit, CpuAddressSpace space) {
        this.unit = unit;
        this.space = space;
        this.info = new DomainInfo(DomainType.SVA, FORMAT.pageSizes(), 0, (1L << ADDRESS_BITS) - 1, ReferenceBackend.OUTPUT_BITS, true,
                "reference walk of " + FORMAT.name());
    }

    @Override
    public CpuAddressSpace addressSpace() {
        return space;
    }

    @Override
    public DomainInfo info() {
        return info;
    }

    boolean isQuiesced() {
        return quiesced;
    }

    /** The page holding {@code va} by the process's tables as memory holds them now, or {@code null}. */
    ReferenceDomain.Leaf walk(long va) {
        if (va < 0 || va >= 1L << ADDRESS_BITS) {
            return null;
        }
        PhysicalMemory memory = unit.context().memory();
        long table = space.pageTableRoot();
        for (int level = 0; level < FORMAT.levels(); level++) {
            long index = (va >>> FORMAT.indexShift(level)) & ((1L << FORMAT.indexBits(level)) - 1);
            long descriptor = memory.read64(table + 8 * index);
            if (FORMAT.leafAllowed(level) && FORMAT.isLeaf(descriptor, level)) {
                long size = FORMAT.leafSize(level);
                return new ReferenceDomain.Leaf(va & -size, FORMAT.address(descriptor, level), size, FORMAT.permissions(descriptor, level));
            }
            if (!FORMAT.isTable(descriptor, level)) {
                return null;
            }
            table = FORMAT.address(descriptor, level);
        }
        return null;
    }

    @Override
    public void invalidate(long va, long size) {
        if (!unit.flaws.contains(Flaw.SVA_STALE_AFTER_MUNMAP)) {
            unit.invalidateAll();
        }
    }

    @Override
    public void quiesce() {
        quiesced = true;
        unit.invalidateAll();
    }

    @Override
    public void map(long iova, long pa, long pageSize, long count, int permissions) {
        throw new IllegalStateException("an SVA domain is never mapped: the process owns its tables");
    }

    @Override
    public void unmap(long iova, long size) {
        throw new IllegalStateException("an SVA domain is never unmapped: the process owns its tables");
    }

    @Override
    public long iovaToPhys(long iova) {
        ReferenceDomain.Leaf l = quiesced ? null : walk(iova);
        return l == null ? -1 : l.pa() + (iova - l.iova());
    }

    @Override
    public void free() {
        unit.invalidateAll();
    }
}
