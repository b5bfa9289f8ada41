package dev.iommukit.cli.inspect;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A parsed {@code iommukit-dump/1} document: units with their registers and devices, physical memory,
 * and what the API expects each requester to reach.
 */
public record Dump(List<Unit> units, SparseMemory memory, List<Expectation> expect) {

    public Dump {
        units = List.copyOf(units);
        expect = List.copyOf(expect);
    }

    /** An IOMMU unit: register values by architectural name, and the requesters behind it. */
    public record Unit(String name, String backend, Map<String, Long> registers, List<Device> devices) {
        public Unit {
            registers = Map.copyOf(registers);
            devices = List.copyOf(devices);
        }

        /** The register's value, if the dump lists it. */
        public Optional<Long> register(String name) {
            return Optional.ofNullable(registers.get(name));
        }

        /** The register's value, or {@code fallback} when the dump does not list it. */
        public long register(String name, long fallback) {
            Long v = registers.get(name);
            return v == null ? fallback : v;
        }

        /** As {@link #register(String, long)}, noting in {@code assumptions} when the fallback was taken. */
        public long register(String name, long fallback, java.util.List<String> assumptions) {
            if (!registers.containsKey(name)) {
                assumptions.add(name + " not in the dump: assumed 0x" + Long.toHexString(fallback));
            }
            return register(name, fallback);
        }
    }

    /** A requester (PCI function) behind a unit. */
    public record Device(String name, int rid) {}

    /**
     * One expected reachable range of a requester, or {@code identity} for a requester whose requests
     * pass untranslated. {@code pasid} is {@link Requester#NO_PASID} for requests without PASID.
     */
    public record Expectation(String unit, int rid, int pasid, boolean identity, long iova, long size, long pa,
            boolean read, boolean write) {}

    /** The unit of that name, if any. */
    public Optional<Unit> unit(String name) {
        return units.stream().filter(u -> u.name().equals(name)).findFirst();
    }
}
