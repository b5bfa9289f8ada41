package dev.iommukit.conformance.run;

/**
 * The outcome of one conformance test for one backend: the rule it checks (id, level, group), its
 * display name, and the status with the failure or skip message ({@code null} when it passed).
 */
public record TestOutcome(String backendId, String group, String ruleId, String level, String displayName, Status status,
                          String message) {
    /** How a test ended. */
    public enum Status {
        PASSED,
        FAILED,
        SKIPPED
    }

    /** {@code FAILED PAGING-3 [paging] ...}: one line for humans. */
    @Override
    public String toString() {
        return status + " " + ruleId + " [" + backendId + "/" + group + "] " + displayName
                + (message == null ? "" : ": " + oneLine(message, 300));
    }

    /** {@code text} with every run of white space (line breaks included) made one space, cut at {@code max} characters. */
    public static String oneLine(String text, int max) {
        if (text == null) {
            return "";
        }
        String t = text.replaceAll("\\s+", " ").strip();
        return t.length() <= max ? t : t.substring(0, Math.max(0, max - 3)) + "...";
    }

    /** The first line of {@code text}. */
    public static String firstLine(String text) {
        if (text == null) {
            return "";
        }
        String t = text.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl).strip();
    }
}
