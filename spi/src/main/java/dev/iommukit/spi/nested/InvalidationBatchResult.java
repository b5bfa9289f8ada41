package dev.iommukit.spi.nested;

import dev.iommukit.spi.error.IommuException;
import java.util.Optional;

/**
 * How much of a batch of guest invalidations was carried out: the first {@code completed} of
 * {@code requested}, all visible to every later request; when fewer than all, {@code refusal}
 * says why the next one was not.
 */
public record InvalidationBatchResult(int completed, int requested, Optional<IommuException> refusal) {
    public InvalidationBatchResult {
        if (completed < 0 || completed > requested) {
            throw new IllegalArgumentException("completed " + completed + " of " + requested);
        }
        if ((completed < requested) != refusal.isPresent()) {
            throw new IllegalArgumentException("a refusal is given exactly when not every invalidation completed");
        }
    }

    public static InvalidationBatchResult all(int requested) {
        return new InvalidationBatchResult(requested, requested, Optional.empty());
    }

    public static InvalidationBatchResult stoppedAt(int completed, int requested, IommuException why) {
        return new InvalidationBatchResult(completed, requested, Optional.of(why));
    }

    public boolean isComplete() {
        return completed == requested;
    }
}
