package dev.iommukit.cli.scenario;

import dev.iommukit.api.BackendRegistry;
import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Domain;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.CpuArchitecture;
import dev.iommukit.api.Process;
import dev.iommukit.cli.scenario.Operation.Attach;
import dev.iommukit.cli.scenario.Operation.AttachAux;
import dev.iommukit.cli.scenario.Operation.AuxFeature;
import dev.iommukit.cli.scenario.Operation.BindSva;
import dev.iommukit.cli.scenario.Operation.UnbindSva;
import dev.iommukit.cli.scenario.Operation.Check;
import dev.iommukit.cli.scenario.Operation.Counter;
import dev.iommukit.cli.scenario.Operation.DetachAux;
import dev.iommukit.cli.scenario.Operation.Exit;
import dev.iommukit.cli.scenario.Operation.Mmap;
import dev.iommukit.cli.scenario.Operation.Munmap;
import dev.iommukit.cli.scenario.Operation.NewProcess;
import dev.iommukit.cli.scenario.Operation.ProcessBytes;
import dev.iommukit.cli.scenario.Operation.VirtualAddress;
import dev.iommukit.cli.scenario.Operation.ContainerAttach;
import dev.iommukit.cli.scenario.Operation.ContainerClose;
import dev.iommukit.cli.scenario.Operation.ContainerInfo;
import dev.iommukit.cli.scenario.Operation.MapDma;
import dev.iommukit.cli.scenario.Operation.MdevCreate;
import dev.iommukit.cli.scenario.Operation.MdevParent;
import dev.iommukit.cli.scenario.Operation.MdevRemove;
import dev.iommukit.cli.scenario.Operation.MdevTypeDef;
import dev.iommukit.cli.scenario.Operation.NewContainer;
import dev.iommukit.cli.scenario.Operation.UnmapDma;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.mdev.MdevTypeSpec;
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
import dev.iommukit.api.PageRequestHandler;
import dev.iommukit.api.Registration;
import dev.iommukit.cli.scenario.Operation.MmapLazy;
import dev.iommukit.cli.scenario.Operation.PageRequestHandlerOp;
import dev.iommukit.cli.scenario.Operation.PageRequests;
import dev.iommukit.cli.scenario.Operation.RemovePageRequestHandler;
import dev.iommukit.spi.iopf.PageResponseCode;
import java.util.concurrent.atomic.AtomicInteger;
import dev.iommukit.spi.cap.PageSizes;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotFoundException;
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
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import dev.iommukit.cli.dump.GuestStage1;
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
        if (spec.processMemory() != null) {
            b.processMemory(spec.processMemory().base(), spec.processMemory().size());
        }
        boolean allSmmu = spec.units().stream().allMatch(u -> u.backend().equals("smmuv3"));
        b.cpu(spec.cpu() != null ? spec.cpu() : allSmmu ? CpuArchitecture.AARCH64 : CpuArchitecture.X86_64);
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
        return run(scenario, (machine, guests) -> atEnd.accept(machine));
    }

    /**
     * Runs {@code scenario}; {@code atEnd} sees the machine after the last step, before it is
     * closed, with the guests' bookkeeping of their own stage 1 (for a dump's {@code expect}).
     */
    public RunResult run(Scenario scenario, BiConsumer<Machine, GuestStage1> atEnd) {
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
            atEnd.accept(machine, run.guests != null ? run.guests : GuestStage1.NONE);
            return new RunResult(run.passed, run.failed, run.failures);
        }
    }

    /** A step that did not do what the scenario expects. */
    static final class StepFailure extends Exception {
        private static final long serialVersionUID = 1L;

        StepFailure(String message) {
            super(message, null, false, false);
        }
    }

    /** The state of one run: the domains by scenario name and the counts. */
    private final class Execution {
        private final Machine machine;
        private final Map<String, Domain> domains = new HashMap<>();
        private final Map<String, Process> processes = new HashMap<>();
        private final Map<String, Region> mmaps = new HashMap<>();
        private final Map<String, Integer> pasids = new HashMap<>();
        private final Map<String, long[]> snapshots = new HashMap<>();
        private final Map<String, Mdev> mdevs = new HashMap<>();
        private final Map<String, Container> containers = new HashMap<>();
        /** Page request handlers registered by the scenario, by canonical device name. */
        private final Map<String, Registration> handlers = new HashMap<>();
        /** Page request groups each device's handler was given, by canonical device name. */
        private final Map<String, AtomicInteger> pageRequestCounts = new HashMap<>();
        private GuestSteps guests;
        private MdevCore mdevCore;
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
                String translation = d.info().translation();
                String pages = "pages " + PageSizes.format(d.pageSizes());
                return translation + (translation.contains(pages) ? "" : ", " + pages)
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
            } else if (operation instanceof NewProcess p) {
                Process process = machine.newProcess(p.name());
                if (p.lockedLimit() != null) {
                    process.setLockedMemoryLimit(p.lockedLimit());
                }
                processes.put(p.name(), process);
                return "pid " + process.pid() + ", " + process.cpu().name().toLowerCase(java.util.Locale.ROOT)
                        + " page tables at " + Numbers.hex(process.pageTableRoot());
            } else if (operation instanceof Mmap m) {
                Process process = process(m.process());
                long va;
                if (m.va() != null) {
                    process.map(m.va(), m.size(), m.permissions());
                    va = m.va();
                } else {
                    va = process.mmap(m.size(), m.permissions());
                }
                if (m.as() != null) {
                    mmaps.put(m.as(), new Region(process, va, m.size()));
                }
                return "va " + Numbers.hex(va) + " -> pa " + Numbers.hex(process.resolve(va))
                        + (m.size() > 4096 ? ", ..." : "");
            } else if (operation instanceof Munmap m) {
                process(m.process()).munmap(va(m.va()), m.size());
                return "";
            } else if (operation instanceof ProcessBytes p) {
                return processBytes(p);
            } else if (operation instanceof Exit e) {
                process(e.process()).exit();
                return "";
            } else if (operation instanceof AuxFeature a) {
                Device dev = machine.device(a.device());
                if (a.enable()) {
                    dev.enableAuxDomains();
                } else {
                    dev.disableAuxDomains();
                }
                return "";
            } else if (operation instanceof AttachAux a) {
                int pasid = machine.device(a.device()).attachAuxDomain(domain(a.domain()));
                if (a.pasidAs() != null) {
                    pasids.put(a.pasidAs(), pasid);
                }
                return "pasid " + pasid;
            } else if (operation instanceof DetachAux a) {
                machine.device(a.device()).detachAuxDomain(domain(a.domain()));
                return "";
            } else if (operation instanceof BindSva b) {
                int pasid = machine.device(b.device()).bindSva(process(b.process()));
                if (b.pasidAs() != null) {
                    pasids.put(b.pasidAs(), pasid);
                }
                return "pasid " + pasid;
            } else if (operation instanceof UnbindSva u) {
                machine.device(u.device()).unbindSva(process(u.process()));
                return "";
            } else if (operation instanceof MdevParent p) {
                List<MdevTypeSpec> types = new ArrayList<>();
                for (MdevTypeDef t : p.types()) {
                    types.add(new MdevTypeSpec(t.name(), t.deviceApi(), t.maxInstances()));
                }
                mdevCore().registerParent(machine.device(p.device()), types);
                return "";
            } else if (operation instanceof MdevCreate c) {
                Mdev m = parent(c.parent()).create(c.uuid(), c.type());
                mdevs.put(c.name() != null ? c.name() : c.uuid().toString(), m);
                return c.uuid() + ", " + m.type().availableInstances() + " more available";
            } else if (operation instanceof MdevRemove r) {
                mdev(r.mdev()).remove();
                return "";
            } else if (operation instanceof NewContainer c) {
                Container container = c.nesting() ? guests().newNestingContainer(process(c.owner()))
                        : mdevCore().newContainer(process(c.owner()));
                containers.put(c.name(), container);
                return "";
            } else if (operation instanceof ContainerAttach a) {
                Container container = container(a.container());
                if (a.mdev() != null) {
                    Mdev m = mdev(a.mdev());
                    if (a.detach()) {
                        container.detach(m);
                        return "";
                    }
                    container.attach(m);
                    return m.pasid().isPresent() ? "aux domain at pasid " + m.pasid().getAsInt() + " of " + m.iommuDevice().name() : "";
                }
                Device dev = machine.device(a.device());
                if (a.detach()) {
                    container.detach(dev);
                } else {
                    container.attach(dev);
                }
                return "";
            } else if (operation instanceof MapDma m) {
                container(m.container()).mapDma(va(m.vaddr()), m.iova(), m.size(), m.permissions());
                return "";
            } else if (operation instanceof UnmapDma u) {
                long unmapped = container(u.container()).unmapDma(u.iova(), u.size());
                String text = "unmapped " + Numbers.hex(unmapped) + " bytes";
                if (u.expectUnmapped() != null && u.expectUnmapped() != unmapped) {
                    throw new StepFailure(text + "; expected " + Numbers.hex(u.expectUnmapped()));
                }
                return text;
            } else if (operation instanceof ContainerInfo i) {
                return containerInfo(i);
            } else if (operation instanceof ContainerClose c) {
                container(c.container()).close();
                return "";
            } else if (operation instanceof MmapLazy m) {
                Process process = process(m.process());
                long va = process.mmapLazy(m.size(), m.permissions());
                if (m.as() != null) {
                    mmaps.put(m.as(), new Region(process, va, m.size()));
                }
                return "va " + Numbers.hex(va) + ", no page until first touched";
            } else if (operation instanceof PageRequests p) {
                Device dev = machine.device(p.device());
                if (p.enable()) {
                    dev.enablePageRequests();
                } else {
                    dev.disablePageRequests();
                }
                return "";
            } else if (operation instanceof PageRequestHandlerOp h) {
                return registerHandler(h);
            } else if (operation instanceof RemovePageRequestHandler r) {
                Registration registration = handlers.get(r.device());
                if (registration == null) {
                    throw new NotFoundException("device: no page request handler of " + r.device() + " was registered by this scenario");
                }
                registration.close();
                handlers.remove(r.device());
                return "";
            } else if (operation instanceof Check c) {
                return check(c);
            } else if (GuestSteps.handles(operation)) {
                return guests().execute(operation);
            }
            throw new IllegalStateException("unhandled operation " + operation);
        }

        private GuestSteps guests() {
            if (guests == null) {
                guests = new GuestSteps(new GuestSteps.Scope() {
                    @Override
                    public Process process(String name) throws StepFailure {
                        return Execution.this.process(name);
                    }

                    @Override
                    public Container container(String name) throws StepFailure {
                        return Execution.this.container(name);
                    }

                    @Override
                    public Mdev mdev(String name) throws StepFailure {
                        return Execution.this.mdev(name);
                    }

                    @Override
                    public MdevCore mdevCore() {
                        return Execution.this.mdevCore();
                    }

                    @Override
                    public Map<String, Integer> pasids() {
                        return pasids;
                    }
                });
            }
            return guests;
        }

        /** Registers a handler that counts the request groups it is given, then resolves them as {@code h} says. */
        private String registerHandler(PageRequestHandlerOp h) {
            Device dev = machine.device(h.device());
            AtomicInteger count = pageRequestCounts.computeIfAbsent(h.device(), k -> new AtomicInteger());
            PageRequestHandler inner = switch (h.handler()) {
                case SVA_FAULT_IN -> PageRequestHandler.svaFaultIn();
                case INVALID_REQUEST -> request -> request.respond(PageResponseCode.INVALID_REQUEST);
            };
            Registration registration = dev.onPageRequest(new CountingHandler(h.handler(), inner, count));
            handlers.put(h.device(), registration);
            return "";
        }

        private int pageRequestsSeen(String device) {
            AtomicInteger count = pageRequestCounts.get(device);
            return count == null ? 0 : count.get();
        }

        private MdevCore mdevCore() {
            if (mdevCore == null) {
                mdevCore = new MdevCore(machine);
            }
            return mdevCore;
        }

        /** The registered mdev parent {@code device}; {@link NotFoundException} when it is not one. */
        private dev.iommukit.mdev.MdevParent parent(String device) {
            Device d = machine.device(device);
            return mdevCore().parents().stream().filter(p -> p.device() == d).findFirst()
                    .orElseThrow(() -> new NotFoundException("parent: " + device + " is not a registered mdev parent"));
        }

        private Mdev mdev(String name) throws StepFailure {
            Mdev m = mdevs.get(name);
            if (m == null) {
                throw new StepFailure("mdev '" + name + "' does not exist: the mdevCreate that creates it failed");
            }
            return m;
        }

        private Container container(String name) throws StepFailure {
            Container c = containers.get(name);
            if (c == null) {
                throw new StepFailure("container '" + name + "' does not exist: the operation that creates it failed");
            }
            return c;
        }

        private String containerInfo(ContainerInfo i) throws StepFailure {
            dev.iommukit.mdev.ContainerInfo info = container(i.container()).info();
            List<Operation.IovaSpan> ranges = info.iovaRanges().stream().map(r -> new Operation.IovaSpan(r.start(), r.end())).toList();
            String text = "pages " + PageSizes.format(info.pageSizes()) + ", iova " + spans(ranges)
                    + ", " + (info.pasidSupport() ? "pasid " + info.pasidBits() + " bits" : "no pasid");
            List<String> wrong = new ArrayList<>();
            if (i.pageSizes() != null && i.pageSizes() != info.pageSizes()) {
                wrong.add("pages " + PageSizes.format(i.pageSizes()));
            }
            if (i.iovaRanges() != null && !i.iovaRanges().equals(ranges)) {
                wrong.add("iova " + spans(i.iovaRanges()));
            }
            if (i.pasidSupport() != null && i.pasidSupport() != info.pasidSupport()) {
                wrong.add(i.pasidSupport() ? "pasid support" : "no pasid support");
            }
            if (i.pasidBits() != null && i.pasidBits() != info.pasidBits()) {
                wrong.add("pasid " + i.pasidBits() + " bits");
            }
            if (!wrong.isEmpty()) {
                throw new StepFailure(text + "; expected " + String.join(", ", wrong));
            }
            return text;
        }

        private Process process(String name) throws StepFailure {
            Process p = processes.get(name);
            if (p == null) {
                throw new StepFailure("process '" + name + "' does not exist: the operation that creates it failed");
            }
            return p;
        }

        private long va(VirtualAddress va) throws StepFailure {
            return va.mmap() == null ? va.offset() : region(va.mmap()).va() + va.offset();
        }

        private Region region(String name) throws StepFailure {
            Region r = mmaps.get(name);
            if (r == null) {
                throw new StepFailure("mapping '" + name + "' does not exist: the mmap that creates it failed");
            }
            return r;
        }

        private String processBytes(ProcessBytes p) throws StepFailure {
            Process process = process(p.process());
            long va = va(p.va());
            byte[] actual = new byte[p.data().length];
            int done = 0;
            while (done < actual.length) {
                long a = va + done;
                int chunk = (int) Math.min(actual.length - done, 4096 - (a & 0xFFF));
                long pa = process.resolve(a);
                if (pa < 0) {
                    throw IommuException.invalid("va", Numbers.hex(a) + " is not mapped in " + process);
                }
                if (p.check()) {
                    machine.memory().read(pa, actual, done, chunk);
                } else {
                    machine.memory().write(pa, p.data(), done, chunk);
                }
                done += chunk;
            }
            if (!p.check()) {
                return "pa " + Numbers.hex(process.resolve(va));
            }
            if (!Arrays.equals(actual, p.data())) {
                throw new StepFailure("holds " + bytes(actual) + "; expected " + bytes(p.data()));
            }
            return "matches";
        }

        private long[] counters() {
            return new long[] {machine.pasidsInUse(), machine.tablePagesInUse(), machine.processPagesInUse()};
        }

        private String check(Check c) throws StepFailure {
            long[] now = counters();
            List<String> seen = new ArrayList<>();
            List<String> wrong = new ArrayList<>();
            compare("pasidsInUse", c.pasidsInUse(), now, 0, seen, wrong);
            compare("tablePagesInUse", c.tablePagesInUse(), now, 1, seen, wrong);
            compare("processPagesInUse", c.processPagesInUse(), now, 2, seen, wrong);
            if (c.process() != null) {
                Process p = process(c.process());
                if (c.lockedBytes() != null) {
                    long locked = p.lockedBytes();
                    seen.add("lockedBytes " + Numbers.hex(locked));
                    if (locked != c.lockedBytes()) {
                        wrong.add("lockedBytes " + Numbers.hex(c.lockedBytes()));
                    }
                }
                if (c.alive() != null) {
                    seen.add(p.isAlive() ? "alive" : "exited");
                    if (p.isAlive() != c.alive()) {
                        wrong.add(c.alive() ? "alive" : "exited");
                    }
                }
            }
            if (c.device() != null && c.auxDomains() != null) {
                int aux = machine.device(c.device()).auxDomains().size();
                seen.add("auxDomains " + aux);
                if (aux != c.auxDomains()) {
                    wrong.add("auxDomains " + c.auxDomains());
                }
            }
            if (c.device() != null && c.pendingPageRequests() != null) {
                int pending = machine.device(c.device()).pendingPageRequests().size();
                seen.add("pendingPageRequests " + pending);
                if (pending != c.pendingPageRequests()) {
                    wrong.add("pendingPageRequests " + c.pendingPageRequests());
                }
            }
            if (c.container() != null) {
                int held = guests().guestPasids(c.container());
                seen.add("guestPasids " + held);
                if (held != c.guestPasids()) {
                    wrong.add("guestPasids " + c.guestPasids());
                }
            }
            if (c.parent() != null) {
                int available = parent(c.parent()).type(c.type()).availableInstances();
                seen.add(c.type() + " availableInstances " + available);
                if (available != c.availableInstances()) {
                    wrong.add(c.type() + " availableInstances " + c.availableInstances());
                }
            }
            if (c.save() != null) {
                snapshots.put(c.save(), now);
                seen.add("saved as " + c.save());
            }
            String text = String.join(", ", seen);
            if (!wrong.isEmpty()) {
                throw new StepFailure(text + "; expected " + String.join(", ", wrong));
            }
            return text;
        }

        private void compare(String name, Counter expected, long[] now, int index, List<String> seen, List<String> wrong)
                throws StepFailure {
            if (expected == null) {
                return;
            }
            long want = expected.value();
            if (expected.snapshot() != null) {
                long[] saved = snapshots.get(expected.snapshot());
                if (saved == null) {
                    throw new StepFailure("snapshot '" + expected.snapshot() + "' does not exist: the check that saves it failed");
                }
                want = saved[index];
            }
            seen.add(name + " " + now[index]);
            if (now[index] != want) {
                wrong.add(name + " " + want + (expected.snapshot() != null ? " (as at " + expected.snapshot() + ")" : ""));
            }
        }

        private String dma(Dma d) throws StepFailure {
            long address = va(d.address());
            if (d.mdev() != null) {
                Mdev m = mdev(d.mdev());
                String issuer = m.iommuDevice().name();
                int before = pageRequestsSeen(issuer);
                byte[] read = null;
                DmaResult r;
                if (!d.transfers()) {
                    r = m.translate(address, d.access());
                } else if (d.access() == AccessType.WRITE) {
                    r = m.write(address, d.data());
                } else {
                    read = new byte[d.length()];
                    r = m.read(address, read);
                }
                return outcome(d, r, read, pageRequestsSeen(issuer) - before);
            }
            Device dev = machine.device(d.device());
            int before = pageRequestsSeen(d.device());
            int pasid = d.pasid();
            if (d.pasidName() != null) {
                Integer p = pasids.get(d.pasidName());
                if (p == null) {
                    throw new StepFailure("PASID '" + d.pasidName() + "' does not exist: the attachAux, bindSva or allocGuestPasid that records"
                            + " it failed");
                }
                pasid = p;
            }
            DmaAttributes attributes = new DmaAttributes(pasid, d.execute(), d.privileged());
            DmaResult r;
            byte[] read = null;
            if (!d.transfers()) {
                r = dev.translate(address, d.access(), attributes);
            } else if (d.access() == AccessType.WRITE) {
                r = dev.write(address, d.data(), attributes);
            } else {
                read = new byte[d.length()];
                r = dev.read(address, read, attributes);
            }
            return outcome(d, r, read, pageRequestsSeen(d.device()) - before);
        }

        private String outcome(Dma d, DmaResult r, byte[] read, int pageRequests) throws StepFailure {
            String got = r.ok() ? "pa " + Numbers.hex(r.physicalAddress()) : describe(r.fault());
            if (d.transfers() && r.faulted() && r.bytesTransferred() > 0) {
                got += " after " + r.bytesTransferred() + " bytes";
            }
            DmaExpectation e = d.expect();
            if (pageRequests > 0 || e.pageRequests() != null) {
                got += " (" + pageRequests + " page request" + (pageRequests == 1 ? "" : "s") + ")";
            }
            if (e.pageRequests() != null && e.pageRequests() != pageRequests) {
                throw new StepFailure(got + "; expected " + e.pageRequests() + " page request" + (e.pageRequests() == 1 ? "" : "s"));
            }
            if (e.expectsFault()) {
                if (r.ok() || r.fault().reason() != e.fault() || (e.vendor() != null && !e.vendor().equals(r.fault().record().name()))
                        || (e.stage() != null && r.fault().stage() != e.stage())) {
                    throw new StepFailure(got + "; expected fault " + e.fault() + (e.vendor() != null ? " [" + e.vendor() + "]" : "")
                            + (e.stage() != null ? " at " + e.stage() : ""));
                }
                return got;
            }
            long pa;
            String where;
            if (e.gpa() != null) {
                pa = guests().hostPhysical(e.gpa());
                where = e.gpa() + " (pa " + (pa < 0 ? "none: not in guest RAM" : Numbers.hex(pa)) + ")";
                if (pa < 0) {
                    throw new StepFailure(got + "; expected " + where);
                }
            } else if (e.va() != null) {
                Region region = region(e.va().mmap());
                pa = region.process().resolve(region.va() + e.va().offset());
                where = e.va() + " (pa " + (pa < 0 ? "none: not mapped" : Numbers.hex(pa)) + ")";
                if (pa < 0) {
                    throw new StepFailure(got + "; expected " + where);
                }
            } else {
                pa = e.pa();
                where = "pa " + Numbers.hex(pa);
            }
            if (r.faulted() || r.physicalAddress() != pa) {
                throw new StepFailure(got + "; expected " + where);
            }
            if (e.va() != null) {
                got += " = " + e.va();
            } else if (e.gpa() != null) {
                got += " = " + e.gpa();
            }
            if (e.data() != null && !Arrays.equals(read, e.data())) {
                throw new StepFailure(got + ", read " + bytes(read) + "; expected " + bytes(e.data()));
            }
            return got + (e.data() != null ? ", data matches" : "");
        }
    }

    private static String spans(List<Operation.IovaSpan> ranges) {
        return ranges.isEmpty() ? "none" : ranges.stream().map(Operation.IovaSpan::toString).collect(Collectors.joining(" "));
    }

    /** A scenario's page request handler: counts the request groups it is given, then lets {@code inner} answer them. */
    private record CountingHandler(Operation.HandlerKind kind, PageRequestHandler inner, AtomicInteger count)
            implements PageRequestHandler {
        @Override
        public void onPageRequest(dev.iommukit.api.PendingPageRequest request) {
            count.incrementAndGet();
            inner.onPageRequest(request);
        }

        @Override
        public String toString() {
            return "the scenario's " + kind.json() + " handler";
        }
    }

    /** Memory a process mapped with {@code mmap ... as}. */
    private record Region(Process process, long va, long size) {}

    private static String describe(Fault f) {
        return "fault " + f.reason() + " [" + f.record().name() + "]" + (f.stage() == dev.iommukit.spi.fault.FaultStage.NONE ? ""
                : " " + f.stage().name().toLowerCase(java.util.Locale.ROOT).replace('_', ' '));
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
        } else if (operation instanceof NewProcess p) {
            return "process " + p.name() + (p.lockedLimit() != null ? " (locked limit " + PageSizes.formatSize(p.lockedLimit()) + ")" : "");
        } else if (operation instanceof Mmap m) {
            return "mmap " + m.process() + (m.va() != null ? " " + Numbers.hex(m.va()) : "") + " " + PageSizes.formatSize(m.size())
                    + " " + Permissions.toString(m.permissions()) + (m.as() != null ? " as " + m.as() : "");
        } else if (operation instanceof Munmap m) {
            return "munmap " + m.process() + " " + m.va() + "+" + PageSizes.formatSize(m.size());
        } else if (operation instanceof ProcessBytes p) {
            return p.op() + " " + p.process() + " " + p.va() + (p.check() ? " (" + p.data().length + " bytes)" : " " + bytes(p.data()));
        } else if (operation instanceof Exit e) {
            return "exit " + e.process();
        } else if (operation instanceof AuxFeature a) {
            return a.op() + " " + a.device();
        } else if (operation instanceof AttachAux a) {
            return "attachAux " + a.device() + " -> " + a.domain() + (a.pasidAs() != null ? " as " + a.pasidAs() : "");
        } else if (operation instanceof DetachAux a) {
            return "detachAux " + a.device() + " " + a.domain();
        } else if (operation instanceof BindSva b) {
            return "bindSva " + b.device() + " " + b.process() + (b.pasidAs() != null ? " as " + b.pasidAs() : "");
        } else if (operation instanceof UnbindSva u) {
            return "unbindSva " + u.device() + " " + u.process();
        } else if (operation instanceof MdevParent p) {
            return "mdevParent " + p.device() + " types " + p.types().stream()
                    .map(t -> t.name() + " (" + t.deviceApi() + ", " + t.maxInstances() + ")").collect(Collectors.joining(", "));
        } else if (operation instanceof MdevCreate c) {
            return "mdevCreate " + (c.name() != null ? c.name() : c.uuid()) + " of " + c.type() + " on " + c.parent();
        } else if (operation instanceof MdevRemove r) {
            return "mdevRemove " + r.mdev();
        } else if (operation instanceof NewContainer c) {
            return "container " + c.name() + " owned by " + c.owner() + (c.nesting() ? " (TYPE1_NESTING)" : "");
        } else if (operation instanceof ContainerAttach a) {
            return a.op() + " " + a.container() + " " + (a.mdev() != null ? "mdev " + a.mdev() : a.device());
        } else if (operation instanceof MapDma m) {
            return "mapDma " + m.container() + " " + Numbers.hex(m.iova()) + "+" + PageSizes.formatSize(m.size()) + " -> va "
                    + m.vaddr() + " " + Permissions.toString(m.permissions());
        } else if (operation instanceof UnmapDma u) {
            return "unmapDma " + u.container() + " " + Numbers.hex(u.iova()) + "+" + PageSizes.formatSize(u.size());
        } else if (operation instanceof ContainerInfo i) {
            return "containerInfo " + i.container();
        } else if (operation instanceof ContainerClose c) {
            return "containerClose " + c.container();
        } else if (operation instanceof Check c) {
            return "check";
        } else if (operation instanceof MmapLazy m) {
            return "mmapLazy " + m.process() + " " + PageSizes.formatSize(m.size()) + " " + Permissions.toString(m.permissions())
                    + (m.as() != null ? " as " + m.as() : "");
        } else if (operation instanceof PageRequests p) {
            return p.op() + " " + p.device();
        } else if (operation instanceof PageRequestHandlerOp h) {
            return "pageRequestHandler " + h.device() + " " + h.handler().json();
        } else if (operation instanceof RemovePageRequestHandler r) {
            return "removePageRequestHandler " + r.device();
        } else if (GuestSteps.handles(operation)) {
            return GuestSteps.describe(operation);
        } else if (operation instanceof Dma d) {
            return "dma " + (d.mdev() != null ? "mdev " + d.mdev() : d.device()) + (d.pasidName() != null ? " pasid " + d.pasidName()
                    : d.pasid() == Pasid.NONE ? "" : " pasid " + d.pasid()) + " "
                    + d.access().name().toLowerCase(java.util.Locale.ROOT) + " " + d.address()
                    + (d.execute() ? " exec" : "") + (d.privileged() ? " priv" : "")
                    + (d.transfers() ? " (" + (d.data() != null ? d.data().length : d.length()) + " bytes)" : "");
        }
        return operation.op();
    }
}
