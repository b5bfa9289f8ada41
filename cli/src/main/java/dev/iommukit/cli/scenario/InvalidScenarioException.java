package dev.iommukit.cli.scenario;

/**
 * A scenario that breaks a rule of the format: the message names the JSON path and the rule,
 * such as {@code operations[3].size: must be positive, was 0x0}.
 */
public final class InvalidScenarioException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final String path;
    private final String rule;

    public InvalidScenarioException(String path, String rule) {
        super(path.isEmpty() ? rule : path + ": " + rule);
        this.path = path;
        this.rule = rule;
    }

    /** The JSON path of the offending value, such as {@code operations[3].size}; empty for the document. */
    public String path() {
        return path;
    }

    /** The rule that was broken, without the path. */
    public String rule() {
        return rule;
    }
}
