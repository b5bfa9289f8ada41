package dev.iommukit.spi.tlb;

/**
 * One cached translation: the architecture's tag (ASID and VMID, domain id and PASID, packed by
 * the backend into one long), the input page, its size as a shift, the output page, the
 * permissions, and one long of backend-defined attributes. Immutable, so a reader needs no lock.
 */
public record TlbEntry(long tag, long inputBase, int pageShift, long outputBase, int permissions, long attributes) {
    /** The output address for {@code address} inside this entry's page. */
    public long translate(long address) {
        return outputBase | (address & ((1L << pageShift) - 1));
    }
}
