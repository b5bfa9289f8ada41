package dev.iommukit.spi.error;

import java.util.Objects;

/**
 * Base of every error iommukit reports: a standard {@link ErrorCode} plus a message that names
 * the argument and the rule. A call that throws one leaves no partial state behind.
 */
public class IommuException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final ErrorCode code;

    public IommuException(ErrorCode code, String message) {
        super(message);
        this.code = Objects.requireNonNull(code, "code");
    }

    public IommuException(ErrorCode code, String message, Throwable cause) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
    }

    /** The standard code of this error. */
    public ErrorCode code() {
        return code;
    }

    /** An argument broke a rule: {@code invalid("iova", "must be aligned to 0x1000, was 0x1234")}. */
    public static InvalidArgumentException invalid(String argument, String rule) {
        return new InvalidArgumentException(argument, rule);
    }
}
