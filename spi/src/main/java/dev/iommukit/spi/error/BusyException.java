package dev.iommukit.spi.error;

/** The object is still in use; close or detach what uses it first. */
public final class BusyException extends IommuException {
    private static final long serialVersionUID = 1L;

    public BusyException(String message) {
        super(ErrorCode.BUSY, message);
    }
}
