package dev.iommukit.spi.cap;

import dev.iommukit.spi.error.NotSupportedException;
import java.util.Collections;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * An immutable set of capabilities, each with its parameters by name (strings, as a table shows
 * them: {@code pageSizes=4K,2M,1G}).
 */
public final class CapabilitySet {
    private static final CapabilitySet EMPTY = new CapabilitySet(new EnumMap<>(Capability.class));
    private final Map<Capability, Map<String, String>> entries;

    private CapabilitySet(EnumMap<Capability, Map<String, String>> entries) {
        this.entries = Collections.unmodifiableMap(entries);
    }

    public static CapabilitySet empty() {
        return EMPTY;
    }

    public static Builder builder() {
        return new Builder();
    }

    public boolean has(Capability capability) {
        return entries.containsKey(capability);
    }

    /** The parameters of {@code capability}, or empty when it is not in the set. */
    public Optional<Map<String, String>> parameters(Capability capability) {
        return Optional.ofNullable(entries.get(capability));
    }

    /** One parameter, or empty. */
    public Optional<String> parameter(Capability capability, String name) {
        return parameters(capability).map(p -> p.get(name));
    }

    /** Every capability with its parameters, in declaration order. */
    public Map<Capability, Map<String, String>> asMap() {
        return entries;
    }

    /** Throws {@link NotSupportedException} naming {@code what} when {@code capability} is absent. */
    public void require(Capability capability, String what) {
        if (!has(capability)) {
            throw new NotSupportedException(what + ": capability " + capability + " is not advertised");
        }
    }

    /** This set less {@code capability}. */
    public CapabilitySet without(Capability capability) {
        EnumMap<Capability, Map<String, String>> copy = new EnumMap<>(Capability.class);
        copy.putAll(entries);
        copy.remove(capability);
        return new CapabilitySet(copy);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CapabilitySet c && c.entries.equals(entries);
    }

    @Override
    public int hashCode() {
        return entries.hashCode();
    }

    @Override
    public String toString() {
        return entries.toString();
    }

    /** Builds a {@link CapabilitySet}. */
    public static final class Builder {
        private final EnumMap<Capability, Map<String, String>> entries = new EnumMap<>(Capability.class);

        /** Adds {@code capability} with parameters given as name, value, name, value... */
        public Builder add(Capability capability, String... nameValuePairs) {
            if (nameValuePairs.length % 2 != 0) {
                throw new IllegalArgumentException("parameters come in name, value pairs");
            }
            Map<String, String> params = new LinkedHashMap<>();
            for (int i = 0; i < nameValuePairs.length; i += 2) {
                params.put(nameValuePairs[i], nameValuePairs[i + 1]);
            }
            entries.put(capability, Collections.unmodifiableMap(params));
            return this;
        }

        public Builder addAll(CapabilitySet other) {
            entries.putAll(other.entries);
            return this;
        }

        public CapabilitySet build() {
            return new CapabilitySet(new EnumMap<>(entries));
        }
    }
}
