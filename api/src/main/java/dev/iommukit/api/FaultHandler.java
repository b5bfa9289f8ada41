package dev.iommukit.api;

import dev.iommukit.spi.fault.Fault;

/** Receives the faults an IOMMU recorded for one device, once each, on the thread that raised them. */
@FunctionalInterface
public interface FaultHandler {
    void onFault(Fault fault);
}
