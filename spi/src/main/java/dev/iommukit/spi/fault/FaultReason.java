package dev.iommukit.spi.fault;

/**
 * Why a DMA request was aborted, in words every architecture shares. Each backend maps its own
 * records (SMMUv3 events, VT-d fault reasons) onto these; the vendor record keeps the detail.
 */
public enum FaultReason {
    /** The requester has no translation context: blocked, unattached, or a PASID with nothing attached. */
    BLOCKED,
    /** The requester id is unknown to the IOMMU (outside its tables). */
    UNKNOWN_REQUESTER,
    /** No translation exists for the input address (not-present entry, outside the input range). */
    NOT_MAPPED,
    /** A translation exists but forbids this access (read, write, execute or privilege). */
    PERMISSION,
    /** The access flag of the translation is clear and hardware does not set it. */
    ACCESS_FLAG,
    /** An input, table or output address is wider than the configuration allows. */
    ADDRESS_SIZE,
    /** A structure the IOMMU read is malformed (reserved bits, illegal field combinations). */
    BAD_CONFIGURATION,
    /** A structure fetch or table walk hit memory that does not exist. */
    EXTERNAL_ABORT,
    /** The request was not of a kind the IOMMU accepts here (for example execute or privileged). */
    UNSUPPORTED_REQUEST
}
