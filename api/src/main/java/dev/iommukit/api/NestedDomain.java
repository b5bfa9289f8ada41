package dev.iommukit.api;

import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.NestedConfig;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.util.List;
import java.util.Objects;

/**
 * A domain whose stage 1 is a guest's own structures in guest-physical memory and whose stage 2
 * is a nesting-parent {@link PagingDomain}. A VT-d guest first level is attached at a PASID (guest
 * PASID bind); an SMMUv3 guest CD table to a whole device without PASID (PASID-table bind). The
 * guest's changes to its structures take effect only after {@link #invalidate}.
 */
public final class NestedDomain extends Domain {
    private final PagingDomain parent;
    private final NestedConfig config;

    NestedDomain(Unit unit, dev.iommukit.spi.nested.NestedDomain backend, String name, PagingDomain parent, NestedConfig config) {
        super(unit, backend, name);
        this.parent = parent;
        this.config = config;
    }

    /** The stage 2. */
    public PagingDomain parent() {
        return parent;
    }

    public NestedConfig config() {
        return config;
    }

    /** Whether this domain is attached at a PASID (VT-d guest first level) rather than without one. */
    public boolean attachesAtPasid() {
        return config instanceof VtdFirstLevelConfig;
    }

    /** Whether this domain carries a whole guest CD table (SMMUv3), attached without PASID. */
    public boolean isContextTable() {
        return config instanceof SmmuContextTableConfig;
    }

    /**
     * Carries out the guest's invalidations in order and says how many completed; those are
     * visible to every request that starts after the call returns. An empty batch does nothing.
     */
    public InvalidationBatchResult invalidate(List<CacheInvalidation> batch) {
        Objects.requireNonNull(batch, "batch");
        for (int i = 0; i < batch.size(); i++) {
            Objects.requireNonNull(batch.get(i), "batch[" + i + "]");
        }
        synchronized (unit.machine.lock) {
            checkOpen("domain");
            if (batch.isEmpty()) {
                return InvalidationBatchResult.all(0);
            }
            return ((dev.iommukit.spi.nested.NestedDomain) backend).invalidate(List.copyOf(batch));
        }
    }

    @Override
    void freed() {
        parent.nestedChildren--;
    }
}
