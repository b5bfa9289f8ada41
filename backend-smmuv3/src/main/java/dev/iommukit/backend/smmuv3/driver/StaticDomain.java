package dev.iommukit.backend.smmuv3.driver;

import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.NotSupportedException;

/** The per-unit blocked (STE abort / CD invalid) and identity (STE bypass) domains: no tables. */
final class StaticDomain implements BackendDomain {
    private final DomainInfo info;

    private StaticDomain(DomainInfo info) {
        this.info = info;
    }

    static StaticDomain blocked() {
        return new StaticDomain(DomainInfo.unmapped(DomainType.BLOCKED, true, "blocked: STE abort (Config=000), CD V=0 at a PASID"));
    }

    static StaticDomain identity() {
        return new StaticDomain(DomainInfo.unmapped(DomainType.IDENTITY, false, "identity: STE bypass (Config=100)"));
    }

    @Override
    public DomainInfo info() {
        return info;
    }

    @Override
    public void map(long iova, long pa, long pageSize, long count, int permissions) {
        throw new NotSupportedException("map: a " + info.type() + " domain has no translation tables");
    }

    @Override
    public void unmap(long iova, long size) {
        throw new NotSupportedException("unmap: a " + info.type() + " domain has no translation tables");
    }

    @Override
    public long iovaToPhys(long iova) {
        return info.type() == DomainType.IDENTITY ? iova : -1;
    }

    @Override
    public void free() {
    }
}
