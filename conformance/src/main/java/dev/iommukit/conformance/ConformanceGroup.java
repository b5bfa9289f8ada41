package dev.iommukit.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.fail;
import static org.assertj.core.api.Assumptions.assumeThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Domain;
import dev.iommukit.api.Machine;
import dev.iommukit.api.Mapping;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Unit;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.fault.Fault;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.TestReporter;

/**
 * The base of every rule group: builds a fresh standard machine before each test, closes every
 * machine after it, and offers the probes the rules are written with. Everything is observed
 * through the public API: DMA issued by devices, capabilities, errors and memory contents.
 */
public abstract class ConformanceGroup {
    protected static final long KIB = 1L << 10;
    protected static final long PAGE = 4 * KIB;
    protected static final long MIB = 1L << 20;
    protected static final long GIB = 1L << 30;

    protected final KitSubject subject;
    /** The standard machine of the current test and its parts. */
    protected Machine machine;
    protected Unit unit;
    protected Device devA;
    protected Device devB;
    protected Device devNoPasid;
    /** Table pages in use right after the standard machine was built. */
    protected long pagesAtStart;
    private final List<Machine> machines = new ArrayList<>();

    protected ConformanceGroup(KitSubject subject) {
        this.subject = subject;
    }

    @BeforeEach
    final void buildStandardMachine(TestInfo test, TestReporter reporter) {
        test.getTestMethod().map(m -> m.getAnnotation(Rule.class)).ifPresent(rule -> {
            reporter.publishEntry(Map.of("rule", rule.id(), "level", rule.level().name(), "backend", backendId()));
            applyDeviation(rule);
        });
        machine = track(subject.newMachine());
        unit = machine.unit(KitSubject.UNIT);
        devA = machine.device(KitSubject.DEVICE_A);
        devB = machine.device(KitSubject.DEVICE_B);
        devNoPasid = machine.device(KitSubject.DEVICE_NO_PASID);
        pagesAtStart = machine.tablePagesInUse();
    }

    /** Closes every machine of the test; a failure to close is the test's failure, after all were tried. */
    @AfterEach
    final void closeMachines() {
        RuntimeException first = null;
        for (Machine m : machines) {
            try {
                m.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        machines.clear();
        if (first != null) {
            throw first;
        }
    }

    private void applyDeviation(Rule rule) {
        String reason = subject.deviations().get(rule.id());
        if (reason == null) {
            return;
        }
        if (rule.level() == Level.REQUIRED) {
            fail("backend " + backendId() + " declares a deviation from " + rule.id() + " (" + reason
                    + "), but the rule is REQUIRED and cannot be waived");
        }
        Assumptions.assumeTrue(false, () -> "backend " + backendId() + " declares it does not keep optional rule "
                + rule.id() + ": " + reason);
    }

    /** Closes {@code m} after the test. */
    protected final Machine track(Machine m) {
        machines.add(m);
        return m;
    }

    protected final String backendId() {
        return subject.backendId();
    }

    // ------------------------------------------------------------------ capabilities

    protected final CapabilitySet caps() {
        return unit.capabilities();
    }

    /** Skips the test, saying why, unless the unit advertises {@code c}. */
    protected final void assumeAdvertised(Capability c) {
        Assumptions.assumeTrue(caps().has(c), () -> "backend " + backendId() + " does not advertise " + c);
    }

    /** Skips the test, saying why, when the unit advertises {@code c}: only the refusal side is checked here. */
    protected final void assumeNotAdvertised(Capability c) {
        Assumptions.assumeFalse(caps().has(c), () -> "backend " + backendId() + " advertises " + c
                + ", so the refusal of an unadvertised " + c + " does not apply");
    }

    /** Skips unless {@code d} advertises PASID_ATTACH. */
    protected final void assumePasidAttach(Device d) {
        Assumptions.assumeTrue(d.capabilities().has(Capability.PASID_ATTACH),
                () -> "device " + d.name() + " of backend " + backendId() + " does not advertise PASID_ATTACH");
    }

    /** A new paging domain of the standard unit; skips when PAGING_DOMAIN is not advertised. */
    protected final PagingDomain newPagingDomain() {
        assumeAdvertised(Capability.PAGING_DOMAIN);
        PagingDomain d = unit.newPagingDomain();
        Assumptions.assumeTrue(d.info().minPageSize() == PAGE, () -> "the kit's paging rules use 4 KiB pages; the smallest page of "
                + backendId() + " is " + d.info().minPageSize() + " bytes");
        return d;
    }

    /** The largest page size {@code d} maps, or skips when it maps only {@code min} or less. */
    protected static long largestBlock(PagingDomain d) {
        long largest = Long.highestOneBit(d.pageSizes());
        Assumptions.assumeTrue(largest > d.info().minPageSize(),
                () -> "the paging domain maps only one page size (" + d.pageSizes() + "): no block mappings");
        return largest;
    }

    // ------------------------------------------------------------------ addresses

    /**
     * An IOVA {@code offset} bytes into the test window of {@code d}: the window starts at the first
     * 1 GiB boundary at or above max(aperture start, 1 GiB) and is 4 GiB long. Skips when the
     * aperture cannot hold it.
     */
    protected static long iova(PagingDomain d, long offset) {
        long start = Math.max(d.apertureStart(), GIB);
        long base = (start + GIB - 1) & -GIB;
        long windowEnd = base + 4 * GIB - 1;
        assumeThat(Long.compareUnsigned(windowEnd, d.apertureEnd()) <= 0)
                .as("the aperture 0x%x..0x%x cannot hold the kit's 4 GiB IOVA window at 0x%x",
                        d.apertureStart(), d.apertureEnd(), base)
                .isTrue();
        return base + offset;
    }

    /** A physical address {@code offset} bytes into the kit's RAM. */
    protected static long pa(long offset) {
        if (offset < 0 || offset >= KitSubject.RAM_SIZE) {
            throw new IllegalArgumentException("offset 0x" + Long.toHexString(offset) + " is outside the kit's RAM");
        }
        return KitSubject.RAM_BASE + offset;
    }

    /** A physical address aligned to {@code size} for a page of that size: in the kit's RAM when it fits. */
    protected static long blockPa(long size) {
        return size >= KitSubject.RAM_SIZE / 2 ? KitSubject.RAM_BASE : pa(size);
    }

    /** Skips unless {@code d} may be attached at a PASID. */
    protected static void assumeAttachableAtPasid(Domain d) {
        Assumptions.assumeTrue(d.info().attachableAtPasid(),
                () -> "domain " + d + " (" + d.info().translation() + ") is not attachable at a PASID");
    }

    // ------------------------------------------------------------------ DMA probes

    protected static DmaAttributes attributes(int pasid) {
        return pasid == Pasid.NONE ? DmaAttributes.DEFAULT : DmaAttributes.pasid(pasid);
    }

    /** One translation issued by {@code d}. */
    protected static DmaResult dma(Device d, int pasid, long iova, AccessType access) {
        return d.translate(iova, access, attributes(pasid));
    }

    protected static String describe(Device d, int pasid, long iova, AccessType access) {
        return access + " from " + d.name() + (pasid == Pasid.NONE ? "" : " pasid " + pasid) + " at 0x" + Long.toHexString(iova);
    }

    /** Asserts that a read without PASID at {@code iova} reaches {@code pa}. */
    protected static void assertReaches(Device d, long iova, long pa) {
        assertReaches(d, Pasid.NONE, iova, AccessType.READ, pa);
    }

    protected static void assertReaches(Device d, int pasid, long iova, AccessType access, long pa) {
        DmaResult r = dma(d, pasid, iova, access);
        assertThat(r.ok())
                .withFailMessage("%s should reach 0x%x but faulted: %s", describe(d, pasid, iova, access), pa, r.fault())
                .isTrue();
        assertThat(r.physicalAddress())
                .withFailMessage("%s should reach 0x%x but reached 0x%x", describe(d, pasid, iova, access), pa, r.physicalAddress())
                .isEqualTo(pa);
    }

    /**
     * Asserts that every 4 KiB page of {@code [iova, iova + size)} reaches {@code pa} plus its
     * offset, for reads without PASID, on the allocation-free path.
     */
    protected static void assertEveryPageReaches(Device d, long iova, long pa, long size) {
        TranslationOutcome out = new TranslationOutcome();
        int rid = d.rid().value();
        for (long off = 0; off < size; off += PAGE) {
            long probe = iova + off + ((off / PAGE) % 7) * 8;
            d.translate(DmaRequest.of(rid, Pasid.NONE, probe, 8, AccessType.READ), out);
            if (!out.isTranslated() || out.physicalAddress() != pa + (probe - iova)) {
                assertThat(out.isTranslated() ? "0x" + Long.toHexString(out.physicalAddress()) : String.valueOf(out.fault()))
                        .as("page at offset 0x%x of the range 0x%x+0x%x: %s", off, iova, size, describe(d, Pasid.NONE, probe, AccessType.READ))
                        .isEqualTo("0x" + Long.toHexString(pa + (probe - iova)));
            }
        }
    }

    /** Asserts that the request faults, with a vendor record, and returns the fault. */
    protected static Fault assertFaults(Device d, int pasid, long iova, AccessType access) {
        DmaResult r = dma(d, pasid, iova, access);
        assertThat(r.faulted())
                .withFailMessage("%s must fault but reached 0x%x", describe(d, pasid, iova, access), r.physicalAddress())
                .isTrue();
        assertThat(r.fault().record()).withFailMessage("the fault of %s has no vendor record", describe(d, pasid, iova, access)).isNotNull();
        return r.fault();
    }

    protected static Fault assertFaults(Device d, long iova) {
        return assertFaults(d, Pasid.NONE, iova, AccessType.READ);
    }

    /** Asserts that a request neither reaches {@code pa} nor anything else: it faults. */
    protected static void assertDoesNotReach(Device d, int pasid, long iova, AccessType access, long stalePa) {
        DmaResult r = dma(d, pasid, iova, access);
        assertThat(r.ok() && r.physicalAddress() == stalePa)
                .withFailMessage("%s still reaches the old page 0x%x: stale translation", describe(d, pasid, iova, access), stalePa)
                .isFalse();
        assertThat(r.faulted())
                .withFailMessage("%s must fault but reached 0x%x", describe(d, pasid, iova, access), r.physicalAddress())
                .isTrue();
    }

    // ------------------------------------------------------------------ refusals and state

    /**
     * Asserts that {@code call} is refused with {@code type} carrying {@code code}, and that its
     * message names {@code argument}.
     */
    protected static <T extends IommuException> T assertRefused(Class<T> type, ErrorCode code, String argument,
                                                              ThrowingCallable call) {
        Throwable t = catchThrowable(call);
        assertThat(t)
                .withFailMessage("expected %s (%s) naming '%s', but %s", type.getSimpleName(), code, argument,
                        t == null ? "the call succeeded" : "got " + t)
                .isInstanceOf(type);
        IommuException e = type.cast(t);
        assertThat(e.code()).withFailMessage("error code of %s should be %s", e, code).isEqualTo(code);
        assertThat(e.getMessage()).withFailMessage("the message '%s' should name '%s'", e.getMessage(), argument)
                .containsIgnoringCase(argument);
        return type.cast(t);
    }

    /** A probe request whose outcome a {@link State} records. */
    public record Probe(Device device, int pasid, long iova, AccessType access) {
        public static Probe read(Device device, long iova) {
            return new Probe(device, Pasid.NONE, iova, AccessType.READ);
        }

        public static Probe write(Device device, long iova) {
            return new Probe(device, Pasid.NONE, iova, AccessType.WRITE);
        }
    }

    /**
     * What the outside can see of a machine: table pages in use, every attachment, every paging
     * domain's mappings and the outcome of the probe requests.
     */
    public record State(long tablePages, Map<String, String> attachments, Map<String, List<Mapping>> mappings,
                           List<String> probes) {}

    protected final State state(Machine m, Probe... probes) {
        Map<String, String> attachments = new LinkedHashMap<>();
        Map<String, List<Mapping>> mappings = new LinkedHashMap<>();
        for (Unit u : m.units()) {
            for (Device d : u.devices()) {
                Domain dom = d.domain();
                attachments.put(d.name(), String.valueOf(dom));
                for (Map.Entry<Integer, Domain> e : d.pasidAttachments().entrySet()) {
                    attachments.put(d.name() + " pasid " + e.getKey(), String.valueOf(e.getValue()));
                }
            }
            for (PagingDomain pd : u.pagingDomains()) {
                mappings.put(pd.toString(), pd.mappings());
            }
        }
        List<String> seen = new ArrayList<>();
        for (Probe p : probes) {
            DmaResult r = dma(p.device(), p.pasid(), p.iova(), p.access());
            seen.add(describe(p.device(), p.pasid(), p.iova(), p.access()) + " -> "
                    + (r.ok() ? "0x" + Long.toHexString(r.physicalAddress()) : "fault " + r.fault().reason()));
        }
        return new State(m.tablePagesInUse(), attachments, mappings, seen);
    }

    /** Asserts that nothing the outside can see changed since {@code before}. */
    protected final void assertUnchanged(Machine m, State before, Probe... probes) {
        State now = state(m, probes);
        assertThat(now).withFailMessage("state changed across refused calls (they must change nothing, and what the test"
                + " created and closed must give back its table pages):%n before %s%n after  %s", before, now).isEqualTo(before);
    }
}
