package dev.iommukit.cli.scenario;

import dev.iommukit.api.CpuArchitecture;
import dev.iommukit.spi.device.RequesterId;
import java.util.List;
import java.util.Map;

/**
 * The machine of a scenario: RAM regions, optional pools for IOMMU structures and for process
 * memory, the CPU ({@code null}: AArch64 when every unit is SMMUv3, x86-64 otherwise), units made
 * by backends (with their options) and the devices behind them.
 */
public record MachineSpec(List<Ram> ram, Ram tablePool, Ram processMemory, CpuArchitecture cpu, List<UnitSpec> units,
                          List<DeviceSpec> devices) {
    public MachineSpec {
        ram = List.copyOf(ram);
        units = List.copyOf(units);
        devices = List.copyOf(devices);
    }

    /** A range of physical memory. */
    public record Ram(long base, long size) {}

    /** A unit, its backend id and backend-specific options. */
    public record UnitSpec(String name, String backend, Map<String, String> options) {
        public UnitSpec {
            options = Map.copyOf(options);
        }
    }

    /**
     * A device behind {@code unit}; {@code alias} is an optional short name steps may use instead
     * of the requester id.
     */
    public record DeviceSpec(String alias, String unit, RequesterId rid, int pasidBits) {}
}
