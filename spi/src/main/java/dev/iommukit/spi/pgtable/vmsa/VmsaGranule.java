package dev.iommukit.spi.pgtable.vmsa;

/**
 * A VMSAv8-64 translation granule: 4 KiB, 16 KiB or 64 KiB. Each level resolves {@code shift - 3}
 * input bits; blocks are legal only at the levels the granule allows without LPA2/52-bit output
 * (4K: levels 1 and 2; 16K: level 2; 64K: level 2).
 */
public enum VmsaGranule {
    /** 4 KiB pages, 9 bits per level, blocks of 1 GiB (L1) and 2 MiB (L2). */
    G4K(12, 0, 2, 1),
    /** 16 KiB pages, 11 bits per level, blocks of 32 MiB (L2). */
    G16K(14, 2, 1, 2),
    /** 64 KiB pages, 13 bits per level, blocks of 512 MiB (L2). */
    G64K(16, 1, 3, 2);

    private final int shift;
    private final int tg0;
    private final int tg1;
    private final int firstBlockLevel;

    VmsaGranule(int shift, int tg0, int tg1, int firstBlockLevel) {
        this.shift = shift;
        this.tg0 = tg0;
        this.tg1 = tg1;
        this.firstBlockLevel = firstBlockLevel;
    }

    /** log2 of the granule size: 12, 14 or 16. */
    public int shift() {
        return shift;
    }

    /** The granule size in bytes. */
    public long size() {
        return 1L << shift;
    }

    /** Input bits resolved per level: {@code shift - 3}. */
    public int stride() {
        return shift - 3;
    }

    /** The CD.TG0 and STE.S2TG encoding: 0 4K, 1 64K, 2 16K. */
    public int tg0() {
        return tg0;
    }

    /** The CD.TG1 encoding, which differs: 1 16K, 2 4K, 3 64K. */
    public int tg1() {
        return tg1;
    }

    /** The TLBI command TG encoding: 1 4K, 2 16K, 3 64K. */
    public int tlbiTg() {
        return (shift - 10) / 2;
    }

    /** Lowest input bit indexing a table at architectural {@code level} (0..3). */
    public int levelShift(int level) {
        return shift + (3 - level) * stride();
    }

    /** Whether a block descriptor is legal at architectural {@code level} (no LPA2, 48-bit output). */
    public boolean blockAllowed(int level) {
        return level >= firstBlockLevel && level < 3;
    }

    /** The granule with TG0/S2TG encoding {@code tg}, or null for the reserved value 3. */
    public static VmsaGranule fromTg0(int tg) {
        return switch (tg) {
            case 0 -> G4K;
            case 1 -> G64K;
            case 2 -> G16K;
            default -> null;
        };
    }

    /** The granule with CD.TG1 encoding {@code tg}, or null for the reserved value 0. */
    public static VmsaGranule fromTg1(int tg) {
        return switch (tg) {
            case 1 -> G16K;
            case 2 -> G4K;
            case 3 -> G64K;
            default -> null;
        };
    }

    /** Parses {@code 4K}, {@code 16K} or {@code 64K}; null for anything else. */
    public static VmsaGranule parse(String text) {
        return switch (text.trim().toUpperCase(java.util.Locale.ROOT)) {
            case "4K" -> G4K;
            case "16K" -> G16K;
            case "64K" -> G64K;
            default -> null;
        };
    }

    /** {@code 4K}, {@code 16K} or {@code 64K}. */
    public String label() {
        return (size() / 1024) + "K";
    }
}
