package dev.iommukit.cli.inspect;

import java.util.List;

/**
 * What one requester reaches through one unit, as found by walking the structures: nothing (with the
 * architectural reason), identity (untranslated), or a list of translated ranges. {@code structures} lists the
 * structures read on the way, decoded by field name; {@code notes} lists entries the walk met that fault
 * (reserved bits, illegal values), which make no range reachable but are worth seeing.
 */
public record WalkResult(Kind kind, List<Mapping> ranges, String reason, List<String> structures, List<String> notes) {

    /** The three shapes of a requester's reach. */
    public enum Kind { BLOCKED, IDENTITY, TRANSLATED }

    public WalkResult {
        ranges = List.copyOf(ranges);
        structures = List.copyOf(structures);
        notes = List.copyOf(notes);
    }

    /** Whether the requester reaches anything. */
    public boolean reachesAnything() {
        return kind == Kind.IDENTITY || !ranges.isEmpty();
    }
}
