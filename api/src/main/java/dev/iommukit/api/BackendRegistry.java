package dev.iommukit.api;

import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.NotFoundException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;

/**
 * The backends a machine may use, by id. {@link #discover()} finds them with
 * {@link ServiceLoader}; a provider that fails to load is kept as a {@link BackendLoadFailure}
 * with its name and cause while the others still load.
 */
public final class BackendRegistry {
    private final Map<String, IommuBackend> backends;
    private final List<BackendLoadFailure> failures;

    private BackendRegistry(Map<String, IommuBackend> backends, List<BackendLoadFailure> failures) {
        this.backends = Collections.unmodifiableMap(backends);
        this.failures = List.copyOf(failures);
    }

    /** Every backend on the class path of {@code loader}'s context. */
    public static BackendRegistry discover() {
        return discover(Thread.currentThread().getContextClassLoader());
    }

    /** Every backend that {@code classLoader} can see. */
    public static BackendRegistry discover(ClassLoader classLoader) {
        Map<String, IommuBackend> found = new LinkedHashMap<>();
        List<BackendLoadFailure> failed = new ArrayList<>();
        ServiceLoader<IommuBackend> loader = ServiceLoader.load(IommuBackend.class, classLoader);
        var iterator = loader.stream().iterator();
        while (true) {
            ServiceLoader.Provider<IommuBackend> provider;
            try {
                if (!iterator.hasNext()) {
                    break;
                }
                provider = iterator.next();
            } catch (ServiceConfigurationError e) {
                failed.add(new BackendLoadFailure(providerName(e), e));
                continue;
            }
            try {
                IommuBackend backend = provider.get();
                IommuBackend previous = found.putIfAbsent(backend.id(), backend);
                if (previous != null) {
                    failed.add(new BackendLoadFailure(provider.type().getName(), new ConflictException(
                            "backend id '" + backend.id() + "' is already taken by " + previous.getClass().getName())));
                }
            } catch (ServiceConfigurationError | RuntimeException | LinkageError e) {
                failed.add(new BackendLoadFailure(provider.type().getName(), e.getCause() != null ? e.getCause() : e));
            }
        }
        return new BackendRegistry(sortById(found), failed);
    }

    private static String providerName(ServiceConfigurationError e) {
        String m = String.valueOf(e.getMessage());
        int colon = m.indexOf(": Provider ");
        if (colon >= 0) {
            String rest = m.substring(colon + ": Provider ".length());
            int space = rest.indexOf(' ');
            return space < 0 ? rest : rest.substring(0, space);
        }
        return m;
    }

    private static Map<String, IommuBackend> sortById(Map<String, IommuBackend> map) {
        Map<String, IommuBackend> sorted = new LinkedHashMap<>();
        map.keySet().stream().sorted().forEach(id -> sorted.put(id, map.get(id)));
        return sorted;
    }

    /** Exactly the given backends. */
    public static BackendRegistry of(IommuBackend... backends) {
        Map<String, IommuBackend> map = new LinkedHashMap<>();
        for (IommuBackend b : backends) {
            if (map.putIfAbsent(b.id(), b) != null) {
                throw new ConflictException("backends: id '" + b.id() + "' given twice");
            }
        }
        return new BackendRegistry(map, List.of());
    }

    /** This registry plus {@code backend} (replacing one of the same id). */
    public BackendRegistry with(IommuBackend backend) {
        Map<String, IommuBackend> map = new LinkedHashMap<>(backends);
        map.put(backend.id(), backend);
        return new BackendRegistry(map, failures);
    }

    public List<IommuBackend> backends() {
        return List.copyOf(backends.values());
    }

    public List<String> ids() {
        return List.copyOf(backends.keySet());
    }

    public Optional<IommuBackend> find(String id) {
        return Optional.ofNullable(backends.get(id));
    }

    /** The backend with {@code id}; {@link NotFoundException} naming the known ids otherwise. */
    public IommuBackend require(String id) {
        IommuBackend b = backends.get(id);
        if (b == null) {
            throw new NotFoundException("backend: no backend with id '" + id + "'; known: " + backends.keySet()
                    + (failures.isEmpty() ? "" : "; failed to load: " + failures));
        }
        return b;
    }

    /** Providers that were found but failed to load. */
    public List<BackendLoadFailure> failures() {
        return failures;
    }
}
