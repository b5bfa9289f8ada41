package dev.iommukit.backend.vtd.hw;

/**
 * A PASID-cache entry: a decoded present PASID-table entry reached from {@code sid} at
 * {@code pasid}, with the FPD accumulated over the context, directory and PASID entries.
 */
record PasidConfig(int sid, int pasid, int did, int pgtt, long root, int levels, int inputBits, boolean sre, boolean wpe,
                   boolean pwsnp, boolean fpd) {
    /** The IOTLB tag of translations through this entry: DID and PASID. */
    long tag() {
        return IotlbTags.tag(did, pasid);
    }
}
