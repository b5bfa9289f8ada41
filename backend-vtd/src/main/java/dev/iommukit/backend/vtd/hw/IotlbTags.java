package dev.iommukit.backend.vtd.hw;

/** How the model packs IOTLB tags (DID, PASID) and entry attributes into {@code TlbEntry} longs. */
final class IotlbTags {
    /** Attribute: the entry came from a first-level walk. */
    static final long FIRST_LEVEL = 1;
    /** Attribute: the leaf's D bit is set (FL), so writes may hit. */
    static final long DIRTY = 2;
    /** Attribute: U/S was 1 at every FL level. */
    static final long USER = 4;
    /** Attribute: a nested (PGTT=011) translation, whose SL leaf permissions follow. */
    static final long NESTED = 8;
    /** Attribute of a nested entry: the SL translation of the final GPA allows reads. */
    static final long SL_READ = 16;
    /** Attribute of a nested entry: the SL translation of the final GPA allows writes. */
    static final long SL_WRITE = 32;

    private IotlbTags() {}

    static long tag(int did, int pasid) {
        return (long) did << 20 | pasid;
    }

    static int did(long tag) {
        return (int) (tag >>> 20);
    }

    static int pasid(long tag) {
        return (int) (tag & 0xFFFFF);
    }
}
