package dev.iommukit.cli.scenario;

import dev.iommukit.spi.device.RequesterId;
import java.util.List;
import java.util.Map;

/**
 * The machine of a scenario: RAM regions, an optional pool for IOMMU structures, units made by
 * backends (with their options) and the devices behind them.
 */
public record MachineSpec(List<Ram> ram, Ram tablePool, List<UnitSpec> units, List<DeviceSpec> devices) {
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
