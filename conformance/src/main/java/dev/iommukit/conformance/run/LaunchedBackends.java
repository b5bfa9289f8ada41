package dev.iommukit.conformance.run;

import dev.iommukit.spi.IommuBackend;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Hands backends from a {@link ConformanceRunner} to the test classes it launches: the runner
 * registers a backend under a token, passes the token as a JUnit configuration parameter, and
 * {@link LaunchedBackendResolver} looks it up. Tokens are unique, so runs may overlap.
 */
final class LaunchedBackends {
    private static final Map<String, IommuBackend> BY_TOKEN = new ConcurrentHashMap<>();
    private static final AtomicLong NEXT = new AtomicLong();

    private LaunchedBackends() {}

    static String register(String id, IommuBackend backend) {
        String token = id + "#" + NEXT.incrementAndGet();
        BY_TOKEN.put(token, backend);
        return token;
    }

    static IommuBackend lookUp(String token) {
        return BY_TOKEN.get(token);
    }

    static void remove(String token) {
        BY_TOKEN.remove(token);
    }
}
