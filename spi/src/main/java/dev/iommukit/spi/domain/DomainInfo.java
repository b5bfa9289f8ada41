package dev.iommukit.spi.domain;

/**
 * What a backend domain offers: its type, the page sizes it maps (a bitmap: bit n set means 2^n
 * bytes), its aperture {@code [apertureStart, apertureEnd]} (inclusive), the widest output
 * address, whether it may be attached at a PASID, and a one-line description of the translation
 * it uses (such as "stage 1, 4 KiB granule, 48-bit input").
 */
public record DomainInfo(DomainType type, long pageSizes, long apertureStart, long apertureEnd, int outputBits,
                         boolean attachableAtPasid, String translation) {
    /** The smallest page size, or 0 for a domain without mappings. */
    public long minPageSize() {
        return pageSizes == 0 ? 0 : Long.lowestOneBit(pageSizes);
    }

    /** A blocked or identity domain. */
    public static DomainInfo unmapped(DomainType type, boolean attachableAtPasid, String translation) {
        return new DomainInfo(type, 0, 0, -1, 0, attachableAtPasid, translation);
    }
}
