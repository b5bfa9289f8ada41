package dev.iommukit.api;

/** A handler registration; closing it removes the handler. Closing twice does nothing. */
@FunctionalInterface
public interface Registration extends AutoCloseable {
    @Override
    void close();
}
