package dev.iommukit.cli.scenario;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads the fields of one JSON object at a known path, remembering which were read so that
 * {@link #finish()} can refuse unknown fields by name. Every error names the field's path.
 */
final class Fields {
    private final JsonNode node;
    private final String path;
    private final Set<String> read = new LinkedHashSet<>();

    Fields(JsonNode node, String path) {
        if (node == null || !node.isObject()) {
            throw new InvalidScenarioException(path, "must be a JSON object, was " + describe(node));
        }
        this.node = node;
        this.path = path;
    }

    String path() {
        return path;
    }

    String path(String field) {
        return path.isEmpty() ? field : path + "." + field;
    }

    boolean has(String field) {
        JsonNode v = node.get(field);
        return v != null && !v.isNull();
    }

    /** The raw value, or null when absent or JSON null; marks the field as known. */
    JsonNode raw(String field) {
        read.add(field);
        JsonNode v = node.get(field);
        return v == null || v.isNull() ? null : v;
    }

    JsonNode required(String field) {
        JsonNode v = raw(field);
        if (v == null) {
            throw new InvalidScenarioException(path(field), "is required");
        }
        return v;
    }

    String string(String field) {
        JsonNode v = required(field);
        if (!v.isTextual() || v.textValue().isBlank()) {
            throw new InvalidScenarioException(path(field), "must be a non-empty string, was " + describe(v));
        }
        return v.textValue();
    }

    String optString(String field) {
        return has(field) ? string(field) : markAbsent(field);
    }

    private String markAbsent(String field) {
        read.add(field);
        return null;
    }

    long number(String field) {
        return Numbers.parse(required(field), path(field));
    }

    Long optNumber(String field) {
        JsonNode v = raw(field);
        return v == null ? null : Numbers.parse(v, path(field));
    }

    /** A number in {@code [min, max]}. */
    int integer(String field, int min, int max) {
        long v = number(field);
        if (v < min || v > max) {
            throw new InvalidScenarioException(path(field), "must be in " + min + ".." + max + ", was " + v);
        }
        return (int) v;
    }

    Integer optInteger(String field, int min, int max) {
        if (!has(field)) {
            markAbsent(field);
            return null;
        }
        return integer(field, min, max);
    }

    boolean bool(String field, boolean absent) {
        JsonNode v = raw(field);
        if (v == null) {
            return absent;
        }
        if (!v.isBoolean()) {
            throw new InvalidScenarioException(path(field), "must be true or false, was " + describe(v));
        }
        return v.booleanValue();
    }

    /** The elements of an array field, each as {@link Fields} at {@code field[i]}. */
    List<Fields> objects(String field, boolean required) {
        JsonNode v = required ? required(field) : raw(field);
        List<Fields> out = new ArrayList<>();
        if (v == null) {
            return out;
        }
        if (!v.isArray()) {
            throw new InvalidScenarioException(path(field), "must be a JSON array, was " + describe(v));
        }
        for (int i = 0; i < v.size(); i++) {
            out.add(new Fields(v.get(i), path(field) + "[" + i + "]"));
        }
        return out;
    }

    Fields object(String field) {
        return new Fields(required(field), path(field));
    }

    Fields optObject(String field) {
        JsonNode v = raw(field);
        return v == null ? null : new Fields(v, path(field));
    }

    /** A JSON object of string values (numbers and booleans are taken as their text). */
    Map<String, String> stringMap(String field) {
        JsonNode v = raw(field);
        Map<String, String> out = new java.util.LinkedHashMap<>();
        if (v == null) {
            return out;
        }
        if (!v.isObject()) {
            throw new InvalidScenarioException(path(field), "must be a JSON object of option names to values, was " + describe(v));
        }
        for (Map.Entry<String, JsonNode> e : v.properties()) {
            JsonNode value = e.getValue();
            if (!value.isValueNode() || value.isNull()) {
                throw new InvalidScenarioException(path(field) + "." + e.getKey(), "must be a string, number or boolean, was " + describe(value));
            }
            out.put(e.getKey(), value.asText());
        }
        return out;
    }

    /** Refuses every field that was not read, naming the first and the known ones. */
    void finish() {
        for (Map.Entry<String, JsonNode> e : node.properties()) {
            String name = e.getKey();
            if (!read.contains(name)) {
                throw new InvalidScenarioException(path(name), "unknown field; known here: " + new TreeSet<>(read));
            }
        }
    }

    static String describe(JsonNode node) {
        if (node == null) {
            return "absent";
        }
        String text = node.toString();
        return text.length() > 40 ? text.substring(0, 37) + "..." : text;
    }
}
