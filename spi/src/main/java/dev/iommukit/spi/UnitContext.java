package dev.iommukit.spi;

import dev.iommukit.spi.fault.FaultReporter;
import dev.iommukit.spi.iopf.PageRequestReporter;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.Map;

/**
 * What the core hands a backend when it creates a unit: the unit's name, the machine's physical
 * memory, the allocator for pages that hold IOMMU structures, where to report faults and page requests, and
 * backend-specific options by name (unknown names are refused by the backend).
 */
public record UnitContext(String name, PhysicalMemory memory, PageAllocator tableAllocator, FaultReporter faults,
                          PageRequestReporter pageRequests, Map<String, String> options) {
    public UnitContext {
        options = Map.copyOf(options);
    }
}
