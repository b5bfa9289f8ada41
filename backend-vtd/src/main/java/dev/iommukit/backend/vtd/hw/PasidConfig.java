package dev.iommukit.backend.vtd.hw;

/**
 * A PASID-cache entry: a decoded present PASID-table entry reached from {@code sid} at
 * {@code pasid}, with the FPD accumulated over the context, directory and PASID entries. For a
 * nested entry (PGTT=011) {@code root}, {@code levels} and {@code inputBits} describe the first
 * level (FLPTPTR, a GPA) and {@code slRoot}, {@code slLevels} and {@code slInputBits} the second
 * level that translates every GPA (SLPTPTR, AW + 2 levels, X = min(MGAW + 1, AGAW)); other entries
 * leave the second-level fields 0.
 */
record PasidConfig(int sid, int pasid, int did, int pgtt, long root, int levels, int inputBits, boolean sre, boolean wpe,
                   boolean pwsnp, boolean fpd, long slRoot, int slLevels, int slInputBits) {
    /** An entry of a single-level type (first level, second level or pass-through). */
    PasidConfig(int sid, int pasid, int did, int pgtt, long root, int levels, int inputBits, boolean sre, boolean wpe,
                boolean pwsnp, boolean fpd) {
        this(sid, pasid, did, pgtt, root, levels, inputBits, sre, wpe, pwsnp, fpd, 0, 0, 0);
    }

    /** The IOTLB tag of translations through this entry: DID and PASID. */
    long tag() {
        return IotlbTags.tag(did, pasid);
    }
}
