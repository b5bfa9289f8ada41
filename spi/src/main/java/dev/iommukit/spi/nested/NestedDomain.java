package dev.iommukit.spi.nested;

import dev.iommukit.spi.domain.BackendDomain;
import java.util.List;

/**
 * A domain whose stage 1 is a guest's own structures ({@link #config()}) and whose stage 2 is a
 * nesting-parent paging domain ({@link #parent()}). Its {@code map} and {@code unmap} are never
 * called: the guest changes its structures in its memory and asks for {@link #invalidate}; nothing
 * it changes takes effect before that, as on hardware.
 */
public interface NestedDomain extends BackendDomain {
    BackendDomain parent();

    NestedConfig config();

    /**
     * Carries out {@code batch} in order at every attachment of this domain, stopping at the first
     * invalidation this architecture cannot express, and returns once the completed ones are
     * visible to every later request.
     */
    InvalidationBatchResult invalidate(List<CacheInvalidation> batch);
}
