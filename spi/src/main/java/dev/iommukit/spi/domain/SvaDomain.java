package dev.iommukit.spi.domain;

/**
 * A domain that translates through a process's CPU page tables (see {@link CpuAddressSpace}). Its
 * {@code map} and {@code unmap} are never called: the process changes its own tables and tells the
 * domain through {@link #invalidate}, as an MMU notifier does.
 */
public interface SvaDomain extends BackendDomain {
    /** The address space this domain translates through. */
    CpuAddressSpace addressSpace();

    /**
     * The process changed or removed translations in {@code [va, va + size)}: invalidate what the
     * IOMMU may cache for them at every attachment, and return once that has completed.
     */
    void invalidate(long va, long size);

    /**
     * The process has exited and its tables are about to be freed: from now on every request at
     * every attachment of this domain faults without being recorded, until the PASID is detached.
     * Returns once no request can walk the old tables any more.
     */
    void quiesce();
}
