package dev.iommukit.spi.error;

/** A finite resource ran out; nothing was changed. */
public final class ResourceExhaustedException extends IommuException {
    private static final long serialVersionUID = 1L;

    public ResourceExhaustedException(String message) {
        super(ErrorCode.RESOURCE_EXHAUSTED, message);
    }
}
