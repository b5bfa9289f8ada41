package dev.iommukit.spi.error;

/** The backend or device does not advertise the capability the call needs; nothing was changed. */
public final class NotSupportedException extends IommuException {
    private static final long serialVersionUID = 1L;

    public NotSupportedException(String message) {
        super(ErrorCode.NOT_SUPPORTED, message);
    }
}
