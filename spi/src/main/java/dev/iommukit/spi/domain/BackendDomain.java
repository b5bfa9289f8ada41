package dev.iommukit.spi.domain;

/**
 * A domain as the driver half of a backend keeps it: the tables behind one translation. The core
 * has already checked every argument (alignment to an advertised page size, aperture, overlap,
 * that unmap covers only mapped pages); a backend adds only what its architecture needs.
 */
public interface BackendDomain {
    DomainInfo info();

    /**
     * Maps {@code count} pages of {@code pageSize} bytes from {@code iova} to {@code pa}. All or
     * nothing: on failure nothing of this call stays mapped.
     */
    void map(long iova, long pa, long pageSize, long count, int permissions);

    /**
     * Unmaps {@code [iova, iova + size)}, splitting larger pages where the range cuts them, and
     * returns only after the invalidation it issued has completed, so that no request that
     * starts afterwards can use the old translation.
     */
    void unmap(long iova, long size);

    /** The physical address {@code iova} maps to by this domain's tables, or -1. */
    long iovaToPhys(long iova);

    /** Releases the tables and identifiers. The core calls it only once nothing is attached. */
    void free();
}
