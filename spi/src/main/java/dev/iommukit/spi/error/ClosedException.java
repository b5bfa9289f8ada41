package dev.iommukit.spi.error;

/** The object was closed and may not be used any more. */
public final class ClosedException extends IommuException {
    private static final long serialVersionUID = 1L;

    public ClosedException(String message) {
        super(ErrorCode.CLOSED, message);
    }
}
