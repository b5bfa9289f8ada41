package dev.iommukit.cli.inspect;

import java.util.ArrayList;
import java.util.List;

/** Collects what a walk read (structure lines) and what faulted along the way (notes), then builds the result. */
final class Trace {
    static final int MAX_NOTES = 64;

    private final List<String> structures = new ArrayList<>();
    private final List<String> notes = new ArrayList<>();
    private int droppedNotes;

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
        return new WalkResult(WalkResult.Kind.TRANSLATED, merged, reason, structures, allNotes());
    }

    private List<String> allNotes() {
        List<String> all = new ArrayList<>(notes);
        if (droppedNotes > 0) {
            all.add("... and " + droppedNotes + " more faulting entries");
        }
        return all;
    }
}
