package dev.iommukit.backend.vtd.driver;

import dev.iommukit.backend.vtd.arch.PasidTableEntry;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.NotSupportedException;

/**
 * The blocked domain (PASID entry not present) and the identity domain (PASID entry with
 * PGTT=100 pass-through, DID 1 as Linux's FLPT_DEFAULT_DID, SRE=1): per-unit singletons.
 */
final class FixedDomain implements DriverDomain {
    private final DomainInfo info;
    private final PasidTableEntry entry;

    private FixedDomain(DomainInfo info, PasidTableEntry entry) {
        this.info = info;
        this.entry = entry;
    }

    static FixedDomain blocked() {
        return new FixedDomain(DomainInfo.unmapped(DomainType.BLOCKED, true, "PASID entry not present"), PasidTableEntry.NOT_PRESENT);
    }

    static FixedDomain identity(int awCode, int did, boolean pwsnp) {
        return new FixedDomain(DomainInfo.unmapped(DomainType.IDENTITY, true, "PASID entry pass-through (PGTT=100)"),
                PasidTableEntry.passThrough(awCode, did, pwsnp, true));
    }

    @Override
    public PasidTableEntry pasidEntry() {
        return entry;
    }

    @Override
    public DomainInfo info() {
        return info;
    }

    @Override
    public void map(long iova, long pa, long pageSize, long count, int permissions) {
        throw new NotSupportedException("map: a " + info.type() + " domain has no mappings");
    }

    @Override
    public void unmap(long iova, long size) {
        throw new NotSupportedException("unmap: a " + info.type() + " domain has no mappings");
    }

    @Override
    public long iovaToPhys(long iova) {
        return info.type() == DomainType.IDENTITY ? iova : -1;
    }

    @Override
    public void free() {
        // singletons live as long as the unit
    }
}
