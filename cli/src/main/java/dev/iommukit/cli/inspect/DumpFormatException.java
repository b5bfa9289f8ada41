package dev.iommukit.cli.inspect;

/** A dump that does not follow the {@code iommukit-dump/1} format; the message names the field and the rule. */
public final class DumpFormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public DumpFormatException(String message) {
        super(message);
    }

    public DumpFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
