package dev.iommukit.cli.scenario;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/**
 * Numbers as scenarios write them: JSON integers, {@code "0x..."} hexadecimal strings (underscores
 * allowed, up to 64 bits unsigned), or sizes such as {@code "4K"}, {@code "2M"}, {@code "1G"}.
 * Decimal strings are refused, as in dumps.
 */
public final class Numbers {
    static final String RULE = "must be a JSON integer, a \"0x...\" hexadecimal string or a size like \"2M\"";

    private Numbers() {}

    /** Parses {@code node} at {@code path}; {@link InvalidScenarioException} naming the path otherwise. */
    public static long parse(JsonNode node, String path) {
        if (node.isIntegralNumber()) {
            if (!node.canConvertToLong()) {
                throw new InvalidScenarioException(path, "does not fit 64 bits; write large values as \"0x...\" strings");
            }
            return node.longValue();
        }
        if (node.isTextual()) {
            return parse(node.textValue(), path);
        }
        throw new InvalidScenarioException(path, RULE + ", was " + node);
    }

    /** Parses the text form: {@code 0x8000_0000}, {@code 2M}, {@code 1G}. */
    public static long parse(String text, String path) {
        String t = text.trim().replace("_", "");
        String upper = t.toUpperCase(Locale.ROOT);
        try {
            if (upper.startsWith("0X")) {
                String digits = t.substring(2);
                if (!digits.matches("[0-9a-fA-F]{1,16}")) {
                    throw new InvalidScenarioException(path, RULE + ", was \"" + text + "\""
                            + (digits.length() > 16 ? " (more than 64 bits)" : ""));
                }
                return Long.parseUnsignedLong(digits, 16);
            }
            if (!upper.isEmpty()) {
                int shift = "KMGTP".indexOf(upper.charAt(upper.length() - 1));
                if (shift >= 0) {
                    String digits = upper.substring(0, upper.length() - 1);
                    if (!digits.isEmpty() && digits.chars().allMatch(Character::isDigit)) {
                        return Math.multiplyExact(Long.parseLong(digits), 1L << (10 * (shift + 1)));
                    }
                }
            }
        } catch (NumberFormatException | ArithmeticException e) {
            throw new InvalidScenarioException(path, RULE + ", was \"" + text + "\" (out of range)");
        }
        throw new InvalidScenarioException(path, RULE + ", was \"" + text + "\"");
    }

    /** {@code 0x...}, lower case, unsigned. */
    public static String hex(long value) {
        return "0x" + Long.toHexString(value);
    }
}
