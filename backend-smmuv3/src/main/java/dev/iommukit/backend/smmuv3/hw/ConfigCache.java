package dev.iommukit.backend.smmuv3.hw;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The STE configuration cache, one slot per StreamID (each slot also holds that stream's CDs).
 * Filled on a miss, changed only by CFGI commands; a fill that raced a CFGI is withdrawn.
 */
final class ConfigCache {
    private final AtomicReferenceArray<StreamConfig> streams;
    private final AtomicLong epoch = new AtomicLong();

    ConfigCache(int sidBits) {
        this.streams = new AtomicReferenceArray<>(1 << sidBits);
    }

    int size() {
        return streams.length();
    }

    StreamConfig get(int sid) {
        return streams.get(sid);
    }

    long epoch() {
        return epoch.get();
    }

    void fill(StreamConfig config, long epochAtFetch) {
        streams.set(config.sid, config);
        if (epoch.get() != epochAtFetch) {
            streams.compareAndSet(config.sid, config, null);
        }
    }

    /** Discards the STEs (and their CDs) of StreamIDs {@code [first, first + count)}. */
    void invalidate(long first, long count) {
        epoch.incrementAndGet();
        long end = Math.min(first + count, streams.length());
        for (long sid = Math.max(0, first); sid < end; sid++) {
            streams.set((int) sid, null);
        }
    }

    void invalidateCd(int sid, int ssid) {
        if (sid >= 0 && sid < streams.length()) {
            StreamConfig c = streams.get(sid);
            if (c != null) {
                c.invalidateCd(ssid);
            }
        }
    }

    void invalidateAllCds(int sid) {
        if (sid >= 0 && sid < streams.length()) {
            StreamConfig c = streams.get(sid);
            if (c != null) {
                c.invalidateAllCds();
            }
        }
    }
}
