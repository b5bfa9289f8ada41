package dev.iommukit.spi.iopf;

/**
 * Where a driver half delivers the page requests it read from its unit's queue. The core hands
 * each to the handler registered for the device, which answers it later, possibly from another
 * thread. Requests that are not the last of their group need no answer and may be reported too.
 */
@FunctionalInterface
public interface PageRequestReporter {
    void report(PageRequest request);
}
