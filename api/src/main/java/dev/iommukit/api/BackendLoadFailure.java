package dev.iommukit.api;

/** A backend provider that {@link java.util.ServiceLoader} found but could not load, with the cause. */
public record BackendLoadFailure(String provider, Throwable cause) {
    @Override
    public String toString() {
        return provider + ": " + cause;
    }
}
