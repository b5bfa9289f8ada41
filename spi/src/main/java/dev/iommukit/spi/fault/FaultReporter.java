package dev.iommukit.spi.fault;

/**
 * Where a backend's driver half delivers the faults it read from the architecture's records
 * (event queue, fault recording registers). The core fans them out to per-device handlers.
 */
@FunctionalInterface
public interface FaultReporter {
    void report(Fault fault);
}
