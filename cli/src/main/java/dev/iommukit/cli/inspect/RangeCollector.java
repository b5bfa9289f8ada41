package dev.iommukit.cli.inspect;

import java.util.ArrayList;
import java.util.List;

/**
 * Collects the leaves of a walk, merging each into the previous range when it continues it (walks visit inputs in
 * ascending order, so most merging happens here and millions of pages stay a handful of ranges).
 */
final class RangeCollector {
    private final List<Mapping> ranges = new ArrayList<>();
    private final Trace trace;

    RangeCollector(Trace trace) {
        this.trace = trace;
    }

    void add(Mapping m) {
        int last = ranges.size() - 1;
        if (last >= 0 && ranges.get(last).continuedBy(m)) {
            ranges.set(last, ranges.get(last).merge(m));
        } else if (ranges.size() < Trace.RANGE_BUDGET) {
            ranges.add(m);
        } else {
            trace.exhaust("walk stopped after " + Trace.RANGE_BUDGET + " separate ranges");
        }
    }

    List<Mapping> ranges() {
        return ranges;
    }
}
