package dev.iommukit.cli.scenario;

import dev.iommukit.api.BackendRegistry;
import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Domain;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.cli.scenario.Operation.Attach;
import dev.iommukit.cli.scenario.Operation.AttachPasid;
import dev.iommukit.cli.scenario.Operation.CheckMemory;
import dev.iommukit.cli.scenario.Operation.Close;
import dev.iommukit.cli.scenario.Operation.CreatePagingDomain;
import dev.iommukit.cli.scenario.Operation.Detach;
import dev.iommukit.cli.scenario.Operation.DetachPasid;
import dev.iommukit.cli.scenario.Operation.Dma;
import dev.iommukit.cli.scenario.Operation.DmaExpectation;
import dev.iommukit.cli.scenario.Operation.MapRange;
import dev.iommukit.cli.scenario.Operation.UnitDomain;
import dev.iommukit.cli.scenario.Operation.UnmapRange;
import dev.iommukit.cli.scenario.Operation.WriteMemory;
import dev.iommukit.spi.cap.PageSizes;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.memory.ExternalAbortException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.stream.Collectors;

/**
 * Runs a {@link Scenario}: builds its machine from the backends of a {@link BackendRegistry},
 * runs the steps in order, one printed line each, and counts a step as passed when it did what
 * the scenario says (an operation succeeds or fails with its {@code expectError}; a DMA gives its
 * {@code expect}). A failed step does not stop the run.
 */
public final class ScenarioRunner {
    private static final HexFormat HEX = HexFormat.ofDelimiter(" ");
    private final BackendRegistry registry;
    private final PrintWriter out;

    public ScenarioRunner(BackendRegistry registry, PrintWriter out) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.out = Objects.requireNonNull(out, "out");
    }

    /** Builds the machine a scenario describes; {@link InvalidScenarioException} naming the path when it cannot be. */
    public Machine build(MachineSpec spec) {
        Machine.Builder b = Machine.builder().backends(registry);
        for (MachineSpec.Ram r : spec.ram()) {
            b.ram(r.base(), r.size());
        }
        if (spec.tablePool() != null) {
            b.tablePool(spec.tablePool().base(), spec.tablePool().size());
        }
        for (int i = 0; i < spec.units().size(); i++) {
            MachineSpec.UnitSpec u = spec.units().get(i);
            if (registry.find(u.backend()).isEmpty()) {
                throw new InvalidScenarioException("machine.units[" + i + "].backend", "no backend '" + u.backend()
                        + "' on the class path; known: " + registry.ids()
                        + (registry.failures().isEmpty() ? "" : "; failed to load: " + registry.failures()));
            }
            b.unit(u.name(), u.backend(), u.options());
        }
        for (MachineSpec.DeviceSpec d : spec.devices()) {
            b.device(d.unit(), d.rid(), d.pasidBits());
        }
        try {
            return b.build();
        } catch (IommuException e) {
            throw new InvalidScenarioException("machine", "cannot be built: " + e.getMessage());
        }
    }

    /**
     * Runs {@code scenario}; {@code atEnd} sees the machine after the last step, before it is
     * closed (to dump it, for example).
     */
    public RunResult run(Scenario scenario, Consumer<Machine> atEnd) {
        Machine machine = build(scenario.machine());
        try (machine) {
            out.println("scenario " + (scenario.name() != null ? scenario.name() : "(unnamed)")
                    + (scenario.description() != null ? ": " + scenario.description() : ""));
            for (var u : machine.units()) {
                out.println("machine: unit " + u.name() + " (" + u.backendId() + "), devices "
                        + u.devices().stream().map(Device::name).collect(Collectors.joining(" ")));
            }
            Execution run = new Execution(machine);
            for (Step step : scenario.steps()) {
                run.step(step);
            }
            out.println(run.passed + " passed, " + run.failed + " failed");
            out.flush();
            atEnd.accept(machine);
            return new RunResult(run.passed, run.failed, run.failures);
        }
    }

    /** A step that did not do what the scenario expects. */
    private static final class StepFailure extends Exception {
        private static final long serialVersionUID = 1L;

        StepFailure(String message) {
            super(message, null, false, false);
        }
    }

    /** The state of one run: the domains by scenario name and the counts. */
    private final class Execution {
        private final Machine machine;
        private final Map<String, Domain> domains = new HashMap<>();
        private final List<String> failures = new ArrayList<>();
        private int passed;
        private int failed;

        Execution(Machine machine) {
            this.machine = machine;
        }

        void step(Step step) {
            String what = describe(step.operation());
            String result;
            boolean ok;
            try {
                String detail = execute(step.operation());
                if (step.expectError() != null) {
                    ok = false;
                    result = (detail.isEmpty() ? "" : detail + "; ") + "expected error " + step.expectError() + ", but it succeeded";
                } else {
                    ok = true;
                    result = detail;
                }
            } catch (IommuException e) {
                ok = step.expectError() == e.code();
                result = (ok ? e.code() + " as expected: " : "error " + e.code() + ": ") + e.getMessage()
                        + (!ok && step.expectError() != null ? "; expected error " + step.expectError() : "");
            } catch (StepFailure e) {
                ok = false;
                result = e.getMessage();
            } catch (ExternalAbortException e) {
                ok = false;
                result = "external abort: no RAM at " + Numbers.hex(e.address());
            } catch (RuntimeException e) {
                ok = false;
                result = "internal error: " + e;
            }
            String line = String.format("[%d] %-4s %s%s%s", step.index(), ok ? "ok" : "FAIL", what,
                    result.isEmpty() ? "" : ": " + result, step.comment() != null ? "  # " + step.comment() : "");
            out.println(line);
            out.flush();
            if (ok) {
                passed++;
            } else {
                failed++;
                failures.add(step.path() + " (" + step.operation().op() + "): " + result);
            }
        }

        private Domain domain(String name) throws StepFailure {
            Domain d = domains.get(name);
            if (d == null) {
                throw new StepFailure("domain '" + name + "' does not exist: the operation that creates it failed");
            }
            return d;
        }

        private PagingDomain paging(String name) throws StepFailure {
            return (PagingDomain) domain(name);
        }

        private String execute(Operation operation) throws StepFailure {
            if (operation instanceof CreatePagingDomain c) {
                PagingDomain d = machine.unit(c.unit()).newPagingDomain(new DomainOptions(c.nestingParent()));
                domains.put(c.name(), d);
                return d.info().translation() + ", pages " + PageSizes.format(d.pageSizes())
                        + ", iova " + Numbers.hex(d.apertureStart()) + ".." + Numbers.hex(d.apertureEnd());
            } else if (operation instanceof UnitDomain u) {
                Domain d = u.type() == DomainType.IDENTITY ? machine.unit(u.unit()).identityDomain()
                        : machine.unit(u.unit()).blockedDomain();
                domains.put(u.name(), d);
                return d.info().translation();
            } else if (operation instanceof MapRange m) {
                paging(m.domain()).map(m.iova(), m.pa(), m.size(), m.permissions());
                return "";
            } else if (operation instanceof UnmapRange u) {
                long unmapped = paging(u.domain()).unmap(u.iova(), u.size());
                String text = "unmapped " + Numbers.hex(unmapped) + " bytes";
                if (u.expectUnmapped() != null && u.expectUnmapped() != unmapped) {
                    throw new StepFailure(text + "; expected " + Numbers.hex(u.expectUnmapped()));
                }
                return text;
            } else if (operation instanceof Attach a) {
                Device dev = machine.device(a.device());
                Domain d = domain(a.domain());
                if (a.replace()) {
                    dev.replace(d);
                } else {
                    dev.attach(d);
                }
                return "";
            } else if (operation instanceof Detach d) {
                machine.device(d.device()).detach();
                return "";
            } else if (operation instanceof AttachPasid a) {
                Device dev = machine.device(a.device());
                Domain d = domain(a.domain());
                if (a.replace()) {
                    dev.replacePasid(a.pasid(), d);
                } else {
                    dev.attachPasid(a.pasid(), d);
                }
                return "";
            } else if (operation instanceof DetachPasid d) {
                machine.device(d.device()).detachPasid(d.pasid());
                return "";
            } else if (operation instanceof Close c) {
                domain(c.domain()).close();
                return "";
            } else if (operation instanceof WriteMemory w) {
                machine.memory().write(w.pa(), w.data(), 0, w.data().length);
                return "";
            } else if (operation instanceof CheckMemory c) {
                byte[] actual = new byte[c.data().length];
                machine.memory().read(c.pa(), actual, 0, actual.length);
                if (!Arrays.equals(actual, c.data())) {
                    throw new StepFailure("holds " + bytes(actual) + "; expected " + bytes(c.data()));
                }
                return "matches";
            } else if (operation instanceof Dma d) {
                return dma(d);
            }
            throw new IllegalStateException("unhandled operation " + operation);
        }

        private String dma(Dma d) throws StepFailure {
            Device dev = machine.device(d.device());
            DmaAttributes attributes = new DmaAttributes(d.pasid(), d.execute(), d.privileged());
            DmaResult r;
            byte[] read = null;
            if (!d.transfers()) {
                r = dev.translate(d.address(), d.access(), attributes);
            } else if (d.access() == AccessType.WRITE) {
                r = dev.write(d.address(), d.data(), attributes);
            } else {
                read = new byte[d.length()];
                r = dev.read(d.address(), read, attributes);
            }
            String got = r.ok() ? "pa " + Numbers.hex(r.physicalAddress()) : describe(r.fault());
            if (d.transfers() && r.faulted() && r.bytesTransferred() > 0) {
                got += " after " + r.bytesTransferred() + " bytes";
            }
            DmaExpectation e = d.expect();
            if (e.expectsFault()) {
                if (r.ok() || r.fault().reason() != e.fault() || (e.vendor() != null && !e.vendor().equals(r.fault().record().name()))) {
                    throw new StepFailure(got + "; expected fault " + e.fault() + (e.vendor() != null ? " [" + e.vendor() + "]" : ""));
                }
                return got;
            }
            if (r.faulted() || r.physicalAddress() != e.pa()) {
                throw new StepFailure(got + "; expected pa " + Numbers.hex(e.pa()));
            }
            if (e.data() != null && !Arrays.equals(read, e.data())) {
                throw new StepFailure(got + ", read " + bytes(read) + "; expected " + bytes(e.data()));
            }
            return got + (e.data() != null ? ", data matches" : "");
        }
    }

    private static String describe(Fault f) {
        return "fault " + f.reason() + " [" + f.record().name() + "]";
    }

    private static String bytes(byte[] data) {
        if (data.length <= 32) {
            return "[" + HEX.formatHex(data) + "]";
        }
        return "[" + HEX.formatHex(data, 0, 32) + " ... (" + data.length + " bytes)]";
    }

    /** What a step does, for its line. */
    static String describe(Operation operation) {
        if (operation instanceof CreatePagingDomain c) {
            return "pagingDomain " + c.name() + " on " + c.unit() + (c.nestingParent() ? " (nesting parent)" : "");
        } else if (operation instanceof UnitDomain u) {
            return u.op() + " " + u.name() + " on " + u.unit();
        } else if (operation instanceof MapRange m) {
            return "map " + m.domain() + " " + Numbers.hex(m.iova()) + "+" + PageSizes.formatSize(m.size()) + " -> "
                    + Numbers.hex(m.pa()) + " " + Permissions.toString(m.permissions());
        } else if (operation instanceof UnmapRange u) {
            return "unmap " + u.domain() + " " + Numbers.hex(u.iova()) + "+" + PageSizes.formatSize(u.size());
        } else if (operation instanceof Attach a) {
            return a.op() + " " + a.device() + " -> " + a.domain();
        } else if (operation instanceof Detach d) {
            return "detach " + d.device();
        } else if (operation instanceof AttachPasid a) {
            return a.op() + " " + a.device() + " pasid " + a.pasid() + " -> " + a.domain();
        } else if (operation instanceof DetachPasid d) {
            return "detachPasid " + d.device() + " pasid " + d.pasid();
        } else if (operation instanceof Close c) {
            return "close " + c.domain();
        } else if (operation instanceof WriteMemory w) {
            return "writeMemory " + Numbers.hex(w.pa()) + " " + bytes(w.data());
        } else if (operation instanceof CheckMemory c) {
            return "checkMemory " + Numbers.hex(c.pa()) + " (" + c.data().length + " bytes)";
        } else if (operation instanceof Dma d) {
            return "dma " + d.device() + (d.pasid() == Pasid.NONE ? "" : " pasid " + d.pasid()) + " "
                    + d.access().name().toLowerCase(java.util.Locale.ROOT) + " " + Numbers.hex(d.address())
                    + (d.execute() ? " exec" : "") + (d.privileged() ? " priv" : "")
                    + (d.transfers() ? " (" + (d.data() != null ? d.data().length : d.length()) + " bytes)" : "");
        }
        return operation.op();
    }
}
