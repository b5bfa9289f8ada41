package dev.iommukit.cli.inspect;

import java.util.List;
import java.util.Optional;
import java.util.SortedSet;

/** Walks one unit's structures for any requester, as that unit's hardware would. */
interface UnitWalker {

    /** The unit walked. */
    Dump.Unit unit();

    /** The unit's registers, decoded by field name. */
    List<String> registerLines();

    /** What {@code requester} reaches. */
    WalkResult walk(Requester requester);

    /** PASIDs of {@code rid} that the structures hold a valid or present entry for. */
    SortedSet<Integer> pasidsInTables(int rid);

    /** Largest PASID the unit accepts, or −1 when it accepts none. */
    int maxPasid();

    /** The walker for a unit of a backend this tool knows ({@code smmuv3}, {@code vtd}). */
    static Optional<UnitWalker> forUnit(Dump.Unit unit, SparseMemory memory) {
        return switch (unit.backend()) {
            case "smmuv3" -> Optional.of(new SmmuV3Walker(unit, memory));
            case "vtd" -> Optional.of(new VtdWalker(unit, memory));
            default -> Optional.empty();
        };
    }
}
