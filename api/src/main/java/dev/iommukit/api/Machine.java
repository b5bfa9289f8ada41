package dev.iommukit.api;

import dev.iommukit.spi.DeviceInfo;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.memory.RamRegion;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A simulated machine: physical memory, IOMMU units made by backends, and PCI devices behind them.
 * Build one with {@link #builder()} or start from a preset ({@link #smmuv3()}, {@link #vtd()}).
 * Control operations are serialised per machine; DMA runs on any number of threads alongside.
 *
 * <pre>{@code
 * try (Machine m = Machine.smmuv3().build()) {
 *     PagingDomain d = m.unit("smmu0").newPagingDomain();
 *     d.map(0x10_0000, 0x8000_0000L, 0x20_0000, Permissions.READ_WRITE);
 *     Device dev = m.device("00:03.0");
 *     dev.attach(d);
 *     DmaResult r = dev.translate(0x10_1234, AccessType.WRITE);   // -> 0x80001234
 * }
 * }</pre>
 */
public final class Machine implements AutoCloseable {
    /** Where the default pool for IOMMU structures lives, and its size. */
    public static final long DEFAULT_TABLE_POOL_BASE = 0x0400_0000L;
    public static final long DEFAULT_TABLE_POOL_SIZE = 0x0400_0000L;
    /** Where the default pool for process memory lives, and its size. */
    public static final long DEFAULT_PROCESS_POOL_BASE = 0x2_0000_0000L;
    public static final long DEFAULT_PROCESS_POOL_SIZE = 0x1000_0000L;

    final Object lock = new Object();
    final PasidAllocator pasids = new PasidAllocator();
    private final PhysicalMemory memory;
    private final PageAllocator tableAllocator;
    private final BackendRegistry backends;
    private final Map<String, Unit> units = new LinkedHashMap<>();
    private final Map<RequesterId, Device> devices = new LinkedHashMap<>();
    private final CpuArchitecture cpu;
    private final ProcessMemory processMemory;
    private final List<Process> processes = new ArrayList<>();
    private int nextPid = 100;
    private volatile boolean closed;
    private final PageRequestQueue pageRequestQueue = new PageRequestQueue("iommukit-page-requests");

    private Machine(Builder b) {
        this.backends = b.backends != null ? b.backends : BackendRegistry.discover();
        PhysicalMemory.Builder mb = PhysicalMemory.builder();
        boolean poolInRam = false;
        for (RamRegion r : b.ram) {
            mb.ram(r.base(), r.size());
            poolInRam |= r.contains(b.poolBase, b.poolSize);
        }
        if (!poolInRam) {
            mb.ram(b.poolBase, b.poolSize);
        }
        boolean processPoolInRam = false;
        for (RamRegion r : b.ram) {
            processPoolInRam |= r.contains(b.processBase, b.processSize);
        }
        if (!processPoolInRam) {
            mb.ram(b.processBase, b.processSize);
        }
        this.memory = mb.build();
        this.tableAllocator = new PageAllocator(memory, b.poolBase, b.poolSize);
        this.cpu = b.cpu;
        this.processMemory = new ProcessMemory(new PageAllocator(memory, b.processBase, b.processSize));
        try {
            for (UnitSpec spec : b.units.values()) {
                IommuBackend backend = backends.require(spec.backend());
                Unit[] holder = new Unit[1];
                IommuUnit driver = backend.createUnit(new UnitContext(spec.name(), memory, tableAllocator,
                        fault -> route(holder[0], fault), request -> holder[0].pageRequestArrived(request), spec.options()));
                holder[0] = new Unit(this, backend, driver, spec.name());
                units.put(spec.name(), holder[0]);
            }
            for (DeviceSpec spec : b.devices) {
                addDevice(spec.unit(), spec.rid(), spec.pasidBits());
            }
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    private static void route(Unit unit, Fault fault) {
        if (unit == null) {
            return;
        }
        Device d = unit.devicesByRid.get(fault.requester().value());
        if (d != null) {
            d.dispatch(fault);
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /** An AArch64 machine with one SMMUv3 unit {@code smmu0}, 1 GiB of RAM at 0x8000_0000, devices 00:03.0 and 00:04.0 with 20-bit PASIDs. */
    public static Builder smmuv3() {
        return builder().cpu(CpuArchitecture.AARCH64).ram(0x8000_0000L, 1L << 30).unit("smmu0", "smmuv3")
                .device("smmu0", "00:03.0", 20).device("smmu0", "00:04.0", 20);
    }

    /** An x86-64 machine with one VT-d unit {@code dmar0}, 1 GiB of RAM at 0x8000_0000, devices 00:03.0 and 00:04.0 with 20-bit PASIDs. */
    public static Builder vtd() {
        return builder().cpu(CpuArchitecture.X86_64).ram(0x8000_0000L, 1L << 30).unit("dmar0", "vtd")
                .device("dmar0", "00:03.0", 20).device("dmar0", "00:04.0", 20);
    }

    /** A preset for {@code backendId}'s built-in machine, or a one-unit machine named {@code iommu0} for any other backend. */
    public static Builder preset(String backendId) {
        return switch (backendId) {
            case "smmuv3" -> smmuv3();
            case "vtd" -> vtd();
            default -> builder().ram(0x8000_0000L, 1L << 30).unit("iommu0", backendId)
                    .device("iommu0", "00:03.0", 20).device("iommu0", "00:04.0", 20);
        };
    }

    public PhysicalMemory memory() {
        return memory;
    }

    /** The allocator of pages that hold IOMMU structures. */
    public PageAllocator tableAllocator() {
        return tableAllocator;
    }

    /** Pages of IOMMU structures allocated now: back to 0 once everything is closed. */
    public long tablePagesInUse() {
        return tableAllocator.allocatedPages();
    }

    /** The CPU, which fixes the page-table format of processes. */
    public CpuArchitecture cpu() {
        return cpu;
    }

    ProcessMemory processMemory() {
        return processMemory;
    }

    /** Starts a process with an empty address space. */
    public Process newProcess(String name) {
        synchronized (lock) {
            checkOpen();
            if (name == null || name.isBlank()) {
                throw IommuException.invalid("name", "a process needs a non-blank name");
            }
            Process p = new Process(this, name, nextPid++);
            processes.add(p);
            return p;
        }
    }

    /** The processes that have not exited. */
    public List<Process> processes() {
        synchronized (lock) {
            return List.copyOf(processes);
        }
    }

    void processExited(Process p) {
        processes.remove(p);
    }

    /** Pages of process memory (data pages and CPU page tables) allocated now. */
    public long processPagesInUse() {
        return processMemory.allocator().allocatedPages();
    }

    /** PASIDs allocated from the machine's PASID space now: back to 0 once everything is detached. */
    public int pasidsInUse() {
        synchronized (lock) {
            return pasids.inUse();
        }
    }

    public BackendRegistry backends() {
        return backends;
    }

    public List<Unit> units() {
        synchronized (lock) {
            return List.copyOf(units.values());
        }
    }

    /** The unit named {@code name}; {@link NotFoundException} otherwise. */
    public Unit unit(String name) {
        synchronized (lock) {
            Unit u = units.get(name);
            if (u == null) {
                throw new NotFoundException("unit: no unit named '" + name + "'; units: " + units.keySet());
            }
            return u;
        }
    }

    public List<Device> devices() {
        synchronized (lock) {
            return List.copyOf(devices.values());
        }
    }

    /** The device with requester id {@code rid} ({@code 00:03.0} or {@code 0000:00:03.0}). */
    public Device device(String rid) {
        return device(RequesterId.parse(rid));
    }

    public Device device(RequesterId rid) {
        synchronized (lock) {
            Device d = devices.get(rid);
            if (d == null) {
                throw new NotFoundException("device: no device " + rid + " on this machine; devices: " + devices.keySet());
            }
            return d;
        }
    }

    /** Adds a device behind {@code unitName} with a PASID width of {@code pasidBits} (0..20). */
    public Device addDevice(String unitName, RequesterId rid, int pasidBits) {
        synchronized (lock) {
            checkOpen();
            Unit unit = unit(unitName);
            if (pasidBits < 0 || pasidBits > Pasid.MAX_WIDTH) {
                throw IommuException.invalid("pasidBits", "must be in 0.." + Pasid.MAX_WIDTH + ", was " + pasidBits);
            }
            if (devices.containsKey(rid)) {
                throw new ConflictException("rid: device " + rid + " already exists on this machine");
            }
            DeviceInfo info = unit.driver.probeDevice(rid, pasidBits);
            Device d = new Device(unit, rid, pasidBits, info);
            devices.put(rid, d);
            unit.devicesByRid.put(rid.value(), d);
            return d;
        }
    }

    /**
     * What the core's bookkeeping says each requester can reach, unit by unit and device by
     * device: ranges with their read and write permissions, or identity. Requesters absent from
     * the list are blocked. Derived from the API state, never from the tables.
     */
    public List<ReachableRange> reachableRanges() {
        synchronized (lock) {
            List<ReachableRange> out = new ArrayList<>();
            for (Unit u : units.values()) {
                for (Device d : u.devices()) {
                    addRanges(out, u, d, Pasid.NONE, d.domain());
                    for (Map.Entry<Integer, Domain> e : d.pasidAttachments().entrySet()) {
                        addRanges(out, u, d, e.getKey(), e.getValue());
                    }
                }
            }
            return out;
        }
    }

    private static void addRanges(List<ReachableRange> out, Unit u, Device d, int pasid, Domain domain) {
        // A nested domain's stage 1 is the guest's, in guest memory: not the core's bookkeeping (dumps take it from the guest's).
        if (domain == null || domain.type() == DomainType.BLOCKED || domain.type() == DomainType.NESTED) {
            return;
        }
        int rid = d.rid().value();
        if (domain.type() == DomainType.IDENTITY) {
            out.add(ReachableRange.identity(u.name(), rid, pasid));
            return;
        }
        if (domain.type() == DomainType.SVA) {
            for (Map.Entry<Process, Integer> b : d.svaBindings().entrySet()) {
                if (b.getValue() == pasid && b.getKey().isAlive()) {
                    addProcessRanges(out, u.name(), rid, pasid, b.getKey());
                }
            }
            return;
        }
        for (Mapping m : ((PagingDomain) domain).mappings()) {
            out.add(new ReachableRange(u.name(), rid, pasid, false, m.iova(), m.size(), m.pa(),
                    (m.permissions() & Permissions.READ) != 0, (m.permissions() & Permissions.WRITE) != 0));
        }
    }

    /** The process's pages as ranges, merged where virtual and physical runs and permissions continue. */
    private static void addProcessRanges(List<ReachableRange> out, String unit, int rid, int pasid, Process p) {
        long start = -1;
        long pa = 0;
        long size = 0;
        long perms = 0;
        for (long[] m : p.pageMappings()) {
            if (start >= 0 && m[0] == start + size && m[1] == pa + size && m[2] == perms) {
                size += 4096;
                continue;
            }
            if (start >= 0) {
                out.add(new ReachableRange(unit, rid, pasid, false, start, size, pa, (perms & Permissions.READ) != 0, (perms & Permissions.WRITE) != 0));
            }
            start = m[0];
            pa = m[1];
            size = 4096;
            perms = m[2];
        }
        if (start >= 0) {
            out.add(new ReachableRange(unit, rid, pasid, false, start, size, pa, (perms & Permissions.READ) != 0, (perms & Permissions.WRITE) != 0));
        }
    }

    /**
     * Allocates the lowest free PASID below {@code 2^width} (1 and up: PASID 0 is reserved) for an
     * owner that hands PASIDs out itself (a container allocating guest PASIDs). The lease holds one
     * reference; closing it drops that reference, and the PASID is reused only when unreferenced.
     */
    public PasidLease allocatePasid(int width, String owner) {
        synchronized (lock) {
            checkOpen();
            if (width < 1 || width > Pasid.MAX_WIDTH) {
                throw IommuException.invalid("width", "must be in 1.." + Pasid.MAX_WIDTH + ", was " + width);
            }
            return new PasidLease(this, pasids.allocate(width, owner), owner);
        }
    }

    PageRequestQueue pageRequestQueue() {
        return pageRequestQueue;
    }

    boolean isClosed() {
        return closed;
    }

    void checkOpen() {
        if (closed) {
            throw new ClosedException("machine: it was closed");
        }
    }

    /** Detaches every device, closes every domain and unit; afterwards no table page is in use. */
    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            closed = true;
            for (Process p : List.copyOf(processes)) {
                p.exit();
            }
            List<Unit> list = new ArrayList<>(units.values());
            java.util.Collections.reverse(list);
            for (Unit u : list) {
                u.shutdown();
            }
            pageRequestQueue.stop();
        }
    }

    private record UnitSpec(String name, String backend, Map<String, String> options) {}

    private record DeviceSpec(String unit, RequesterId rid, int pasidBits) {}

    /** Builds a {@link Machine}; every setter validates its arguments at once. */
    public static final class Builder {
        private final List<RamRegion> ram = new ArrayList<>();
        private long poolBase = DEFAULT_TABLE_POOL_BASE;
        private long poolSize = DEFAULT_TABLE_POOL_SIZE;
        private long processBase = DEFAULT_PROCESS_POOL_BASE;
        private long processSize = DEFAULT_PROCESS_POOL_SIZE;
        private CpuArchitecture cpu = CpuArchitecture.X86_64;
        private final Map<String, UnitSpec> units = new LinkedHashMap<>();
        private final List<DeviceSpec> devices = new ArrayList<>();
        private BackendRegistry backends;

        /** Adds a RAM region for DMA buffers, guest memory and page tables of processes. */
        public Builder ram(long base, long size) {
            ram.add(new RamRegion(base, size));
            return this;
        }

        /**
         * Where IOMMU structures are allocated (default 64 MiB at 0x0400_0000). Added as RAM unless a
         * RAM region already holds it.
         */
        public Builder tablePool(long base, long size) {
            new RamRegion(base, size);
            this.poolBase = base;
            this.poolSize = size;
            return this;
        }

        /** The CPU (default x86-64; the presets choose the one their IOMMU goes with). */
        public Builder cpu(CpuArchitecture architecture) {
            this.cpu = java.util.Objects.requireNonNull(architecture, "architecture");
            return this;
        }

        /**
         * Where processes take anonymous memory and page tables from (default 256 MiB at
         * 0x2_0000_0000). Added as RAM unless a RAM region already holds it.
         */
        public Builder processMemory(long base, long size) {
            new RamRegion(base, size);
            this.processBase = base;
            this.processSize = size;
            return this;
        }

        /** The backends to choose from (default: {@link BackendRegistry#discover()}). */
        public Builder backends(BackendRegistry registry) {
            this.backends = registry;
            return this;
        }

        public Builder unit(String name, String backendId) {
            return unit(name, backendId, Map.of());
        }

        /** Adds a unit made by {@code backendId} with backend-specific {@code options}. */
        public Builder unit(String name, String backendId, Map<String, String> options) {
            if (name == null || name.isBlank()) {
                throw IommuException.invalid("name", "a unit needs a non-blank name");
            }
            if (units.containsKey(name)) {
                throw new ConflictException("name: unit '" + name + "' is already defined");
            }
            units.put(name, new UnitSpec(name, backendId, Map.copyOf(options)));
            return this;
        }

        /** Replaces every unit's backend id (keeps names, devices and options). */
        public Builder backendForAllUnits(String backendId) {
            units.replaceAll((n, u) -> new UnitSpec(n, backendId, u.options()));
            return this;
        }

        public Builder device(String unit, String rid, int pasidBits) {
            return device(unit, RequesterId.parse(rid), pasidBits);
        }

        /** Adds a device behind {@code unit}; {@code pasidBits} 0..20. */
        public Builder device(String unit, RequesterId rid, int pasidBits) {
            if (!units.containsKey(unit)) {
                throw new NotFoundException("unit: no unit named '" + unit + "' defined before this device; units: " + units.keySet());
            }
            if (pasidBits < 0 || pasidBits > Pasid.MAX_WIDTH) {
                throw IommuException.invalid("pasidBits", "must be in 0.." + Pasid.MAX_WIDTH + ", was " + pasidBits);
            }
            for (DeviceSpec d : devices) {
                if (d.rid().equals(rid)) {
                    throw new ConflictException("rid: device " + rid + " is already defined");
                }
            }
            devices.add(new DeviceSpec(unit, rid, pasidBits));
            return this;
        }

        public Machine build() {
            if (ram.isEmpty()) {
                throw IommuException.invalid("ram", "a machine needs at least one RAM region");
            }
            return new Machine(this);
        }
    }
}
