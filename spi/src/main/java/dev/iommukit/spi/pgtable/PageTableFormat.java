package dev.iommukit.spi.pgtable;

/**
 * One radix translation-table format as software writes it: how many levels a walk takes, which
 * input bits index each level, which levels may hold leaves, and how descriptors are encoded.
 * Level 0 is the level the walk starts at (the root table), whatever the architecture calls it.
 * Implementations are immutable values; {@link PageTable} does the table management for any.
 */
public interface PageTableFormat {
    /** A short name, such as {@code VMSAv8-64 stage 1, 4K granule, 48-bit}. */
    String name();

    /** Number of levels a walk takes. */
    int levels();

    /** Lowest input-address bit indexing a table at {@code level}. */
    int indexShift(int level);

    /** Number of input-address bits indexing a table at {@code level} (the root may be smaller or concatenated). */
    int indexBits(int level);

    /** Whether a leaf (page or block) may sit at {@code level}. */
    boolean leafAllowed(int level);

    /** A descriptor pointing to the next-level table at {@code tablePa}. */
    long encodeTable(long tablePa, int level);

    /** A leaf descriptor at {@code level} mapping to {@code pa} with {@code permissions}. */
    long encodeLeaf(long pa, int level, int permissions);

    /** Whether {@code descriptor} at {@code level} points to a next-level table. */
    boolean isTable(long descriptor, int level);

    /** Whether {@code descriptor} at {@code level} is a valid leaf. */
    boolean isLeaf(long descriptor, int level);

    /** The next-table or output address held in a table or leaf descriptor. */
    long address(long descriptor, int level);

    /** The permissions of a leaf descriptor, as {@link dev.iommukit.spi.domain.Permissions} bits. */
    int permissions(long descriptor, int level);

    /** Number of input-address bits the format translates. */
    default int inputBits() {
        return indexShift(0) + indexBits(0);
    }

    /** Bytes of memory a table at {@code level} occupies (8 bytes per entry). */
    default long tableBytes(int level) {
        return 8L << indexBits(level);
    }

    /** Bytes a leaf at {@code level} maps. */
    default long leafSize(int level) {
        return 1L << indexShift(level);
    }

    /** Bitmap of page sizes this format can map (bit n: 2^n bytes). */
    default long pageSizes() {
        long bitmap = 0;
        for (int l = 0; l < levels(); l++) {
            if (leafAllowed(l)) {
                bitmap |= leafSize(l);
            }
        }
        return bitmap;
    }
}
