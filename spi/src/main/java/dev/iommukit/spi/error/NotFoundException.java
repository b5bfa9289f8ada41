package dev.iommukit.spi.error;

/** The named object does not exist. */
public final class NotFoundException extends IommuException {
    private static final long serialVersionUID = 1L;

    public NotFoundException(String message) {
        super(ErrorCode.NOT_FOUND, message);
    }
}
