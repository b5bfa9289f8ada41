package dev.iommukit.cli.inspect;

import java.util.ArrayList;
import java.util.List;

/** Collects what a walk read (structure lines) and what faulted along the way (notes), then builds the result. */
final class Trace {
    static final int MAX_NOTES = 64;
    /** Descriptor reads one requester's walk may make; aliased tables could otherwise multiply without end. */
    static final long READ_BUDGET = 2_000_000;

    private final List<String> structures = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private int droppedNotes;
    private long reads;
    private boolean truncated;

    /** Separate ranges one requester's walk may produce before it stops. */
    static final int RANGE_BUDGET = 200_000;

    /** Counts one descriptor read; false once the budget is spent (the walk then stops, and says so). */
    boolean spend() {
        if (++reads <= READ_BUDGET && !truncated) {
            return true;
        }
        exhaust("walk stopped after " + READ_BUDGET + " descriptor reads");
        return false;
    }

    /** Stops the walk: every later {@link #spend()} fails. */
    void exhaust(String why) {
        if (!truncated) {
            truncated = true;
            note(why + " (tables that alias each other?): the ranges below are incomplete");
        }
    }

    void structure(String line) {
        structures.add(line);
    }

    void note(String line) {
        if (notes.size() < MAX_NOTES) {
            notes.add(line);
        } else {
            droppedNotes++;
        }
    }

    WalkResult blocked(String reason) {
        return new WalkResult(WalkResult.Kind.BLOCKED, List.of(), reason, structures, allNotes());
    }

    WalkResult identity(String reason) {
        return new WalkResult(WalkResult.Kind.IDENTITY, List.of(), reason, structures, allNotes());
    }

    WalkResult translated(List<Mapping> ranges, String reason) {
        List<Mapping> merged = Ranges.coalesce(ranges);
        if (merged.isEmpty()) {
            return new WalkResult(WalkResult.Kind.BLOCKED, List.of(), reason + ": no present leaf grants access",
                    structures, allNotes());
        }
        return new WalkResult(WalkResult.Kind.TRANSLATED, merged, truncated ? reason + ", walk truncated" : reason,
                structures, allNotes());
    }

    private List<String> allNotes() {
        List<String> all = new ArrayList<>(notes);
        if (droppedNotes > 0) {
            all.add("... and " + droppedNotes + " more faulting entries");
        }
        return all;
    }
}
