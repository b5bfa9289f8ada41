package dev.iommukit.conformance;

import dev.iommukit.api.BackendRegistry;
import dev.iommukit.api.CpuArchitecture;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Unit;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.cap.Capability;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * What the kit tests: one backend, the unit options to create its units with, and a hook that may
 * adjust the machine. Every test builds fresh machines from it through the public API only.
 */
public final class KitSubject {
    /** The unit every test machine has, and the second unit of two-unit machines. */
    public static final String UNIT = "u0";
    public static final String OTHER_UNIT = "u1";
    /** Two devices with 20-bit PASIDs and one without PASID support behind {@link #UNIT}. */
    public static final String DEVICE_A = "00:03.0";
    public static final String DEVICE_B = "00:04.0";
    public static final String DEVICE_NO_PASID = "00:05.0";
    /** The device behind {@link #OTHER_UNIT} on two-unit machines. */
    public static final String DEVICE_OTHER_UNIT = "00:06.0";
    public static final int DEVICE_PASID_BITS = 20;
    /** RAM for DMA buffers: 256 MiB at 2 GiB (1 GiB aligned, so 1 GiB blocks can point at it). */
    public static final long RAM_BASE = 0x8000_0000L;
    public static final long RAM_SIZE = 256L << 20;

    private final IommuBackend backend;
    private final Map<String, String> unitOptions;
    private final UnaryOperator<Machine.Builder> customizer;
    private final Map<String, String> deviations;
    private CpuArchitecture cpu;

    public KitSubject(IommuBackend backend, Map<String, String> unitOptions, UnaryOperator<Machine.Builder> customizer) {
        this(backend, unitOptions, customizer, Map.of());
    }

    /** {@code deviations}: optional rule ids the backend declares it does not keep, each with the reason. */
    public KitSubject(IommuBackend backend, Map<String, String> unitOptions, UnaryOperator<Machine.Builder> customizer,
                      Map<String, String> deviations) {
        this.backend = Objects.requireNonNull(backend, "backend");
        this.unitOptions = Map.copyOf(unitOptions);
        this.customizer = Objects.requireNonNull(customizer, "customizer");
        this.deviations = Map.copyOf(deviations);
    }

    /** The optional rules the backend declares it deviates from, with reasons. */
    public Map<String, String> deviations() {
        return deviations;
    }

    public IommuBackend backend() {
        return backend;
    }

    public String backendId() {
        return backend.id();
    }

    /** The standard machine: one unit, devices A and B (20-bit PASIDs) and one without PASID. */
    public Machine newMachine() {
        return customizer.apply(baseBuilder()).build();
    }

    /** The standard machine plus a second unit of the same backend with one device behind it. */
    public Machine newTwoUnitMachine() {
        return customizer.apply(baseBuilder().unit(OTHER_UNIT, backend.id(), unitOptions)
                .device(OTHER_UNIT, DEVICE_OTHER_UNIT, DEVICE_PASID_BITS)).build();
    }

    /** The standard machine with {@code extraOptions} added to the unit's options. */
    public Machine newMachineWithOptions(Map<String, String> extraOptions) {
        Map<String, String> options = new HashMap<>(unitOptions);
        options.putAll(extraOptions);
        return customizer.apply(baseBuilder(options)).build();
    }

    /** The standard machine with a table pool of only {@code poolBytes} at the default pool address. */
    public Machine newMachineWithTablePool(long poolBytes) {
        return customizer.apply(baseBuilder().tablePool(Machine.DEFAULT_TABLE_POOL_BASE, poolBytes)).build();
    }

    /**
     * The standard machine with {@code cpu} as its CPU whatever the backend's SVA capability names,
     * for rules about processes of the other CPU format.
     */
    public Machine newMachineWithCpu(CpuArchitecture cpu) {
        return customizer.apply(baseBuilder()).cpu(cpu).build();
    }

    /**
     * The CPU of the kit's machines: the one whose page-table format the unit's SVA capability
     * names in {@code cpuFormat} ({@code aarch64} or {@code x86-64}), found once by building a
     * probe machine; the builder's default when the unit does not advertise SVA or names an unknown
     * format (the SVA rules then say so).
     */
    public synchronized CpuArchitecture cpu() {
        if (cpu == null) {
            cpu = CpuArchitecture.X86_64;
            String format;
            try (Machine probe = customizer.apply(builder(unitOptions, CpuArchitecture.X86_64)).build()) {
                Unit u = probe.unit(UNIT);
                format = u.capabilities().parameter(Capability.SVA, "cpuFormat").orElse("");
            } catch (RuntimeException e) {
                return cpu;
            }
            cpu = Arrays.stream(CpuArchitecture.values()).filter(c -> c.formatName().equals(format)).findFirst()
                    .orElse(CpuArchitecture.X86_64);
        }
        return cpu;
    }

    private Machine.Builder baseBuilder() {
        return baseBuilder(unitOptions);
    }

    private Machine.Builder baseBuilder(Map<String, String> options) {
        return builder(options, cpu());
    }

    private Machine.Builder builder(Map<String, String> options, CpuArchitecture architecture) {
        return Machine.builder()
                .cpu(architecture)
                .backends(BackendRegistry.of(backend))
                .ram(RAM_BASE, RAM_SIZE)
                .unit(UNIT, backend.id(), options)
                .device(UNIT, DEVICE_A, DEVICE_PASID_BITS)
                .device(UNIT, DEVICE_B, DEVICE_PASID_BITS)
                .device(UNIT, DEVICE_NO_PASID, 0);
    }

    @Override
    public String toString() {
        return backend.id();
    }
}
