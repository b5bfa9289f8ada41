package dev.iommukit.spi.error;

/** The standard error codes of iommukit: callers switch on the code, people read the message. */
public enum ErrorCode {
    /** An argument breaks a documented rule (alignment, range, width, null). */
    INVALID_ARGUMENT,
    /** The backend or device does not advertise the capability the call needs. */
    NOT_SUPPORTED,
    /** The object is still in use (attached, referenced, has pending requests). */
    BUSY,
    /** The range or slot is already taken (overlapping map, PASID already attached). */
    CONFLICT,
    /** The named object (device, unit, backend, PASID) does not exist. */
    NOT_FOUND,
    /** The object was closed and may not be used any more. */
    CLOSED,
    /** A finite resource (table memory, PASIDs, domain ids, locked memory) ran out. */
    RESOURCE_EXHAUSTED,
    /** The backend failed in a way the contract does not allow; a bug report, not a user error. */
    INTERNAL
}
