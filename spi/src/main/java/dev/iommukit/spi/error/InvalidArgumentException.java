package dev.iommukit.spi.error;

/** An argument breaks a documented rule; the message names the argument and the rule. */
public final class InvalidArgumentException extends IommuException {
    private static final long serialVersionUID = 1L;
    private final String argument;

    public InvalidArgumentException(String argument, String rule) {
        super(ErrorCode.INVALID_ARGUMENT, argument + ": " + rule);
        this.argument = argument;
    }

    /** The name of the offending argument. */
    public String argument() {
        return argument;
    }
}
