package dev.iommukit.spi.error;

/** The range or slot is already taken; the existing state was left untouched. */
public final class ConflictException extends IommuException {
    private static final long serialVersionUID = 1L;

    public ConflictException(String message) {
        super(ErrorCode.CONFLICT, message);
    }
}
