package dev.iommukit.conformance.discovery;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.iommukit.api.BackendLoadFailure;
import dev.iommukit.api.BackendRegistry;
import dev.iommukit.api.Device;
import dev.iommukit.api.Domain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Level;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.cap.PageSizes;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotSupportedException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Discovery and capabilities: what a backend says about itself, and that unadvertised things are refused cleanly. */
public abstract class DiscoveryRules extends ConformanceGroup {
    protected DiscoveryRules(KitSubject subject) {
        super(subject);
    }

    @Test
    @Rule(id = "DISC-1")
    @DisplayName("a backend has a non-blank id without spaces and a non-blank description")
    public void idAndDescription() {
        IommuBackend b = subject.backend();
        assertThat(b.id()).as("backend id").isNotBlank().doesNotContainAnyWhitespaces();
        assertThat(b.description()).as("backend description of %s", b.id()).isNotBlank();
        assertThat(unit.backendId()).as("the unit's backend id").isEqualTo(b.id());
    }

    @Test
    @Rule(id = "DISC-2")
    @DisplayName("a backend on the class path is found by ServiceLoader under its id, without load failures")
    public void serviceLoaderFindsIt() {
        Class<?> type = subject.backend().getClass();
        boolean registered = ServiceLoader.load(IommuBackend.class, type.getClassLoader()).stream()
                .anyMatch(p -> p.type().equals(type));
        Assumptions.assumeTrue(registered, () -> "backend class " + type.getName()
                + " is not registered as a ServiceLoader provider on this class path");
        BackendRegistry discovered = BackendRegistry.discover(type.getClassLoader());
        for (BackendLoadFailure f : discovered.failures()) {
            assertThat(f.provider()).as("load failure %s", f).isNotEqualTo(type.getName());
        }
        List<IommuBackend> sameClass = discovered.backends().stream().filter(type::isInstance).toList();
        assertThat(sameClass).as("backends of class %s that BackendRegistry.discover() loaded", type.getName()).isNotEmpty();
        Assumptions.assumeTrue(sameClass.stream().anyMatch(b -> b.id().equals(subject.backendId())), () -> "the backend under test ('"
                + subject.backendId() + "') is a differently configured instance of a discoverable class, discovered as "
                + sameClass.stream().map(IommuBackend::id).toList());
        assertThat(discovered.require(subject.backendId())).as("the backend discovered as '%s'", subject.backendId()).isInstanceOf(type);
    }

    @Test
    @Rule(id = "DISC-3")
    @DisplayName("a unit advertises every capability of its backend, with the same parameters")
    public void unitAdvertisesBackendCapabilities() {
        CapabilitySet backendCaps = subject.backend().capabilities();
        for (Map.Entry<Capability, Map<String, String>> e : backendCaps.asMap().entrySet()) {
            assertThat(caps().parameters(e.getKey()))
                    .as("unit capability %s (backend advertises %s)", e.getKey(), e.getValue())
                    .contains(e.getValue());
        }
    }

    @Test
    @Rule(id = "DISC-4")
    @DisplayName("capability parameters parse: page sizes, address widths, PASID width, identity at PASID")
    public void parametersParse() {
        for (Capability c : new Capability[] {Capability.PAGING_DOMAIN, Capability.NESTING_PARENT_DOMAIN}) {
            caps().parameter(c, "pageSizes").ifPresent(text -> {
                long sizes = PageSizes.parse(text);
                assertThat(sizes).as("%s pageSizes=%s", c, text).isNotZero();
                assertThat(Long.lowestOneBit(sizes)).as("smallest page of %s pageSizes=%s", c, text).isGreaterThanOrEqualTo(PAGE);
            });
            for (String bits : new String[] {"inputBits", "outputBits"}) {
                caps().parameter(c, bits).ifPresent(text ->
                        assertThat(Integer.parseInt(text.trim())).as("%s %s=%s", c, bits, text).isBetween(12, 64));
            }
        }
        caps().parameter(Capability.PASID_ATTACH, "pasidBits").ifPresent(text ->
                assertThat(Integer.parseInt(text.trim())).as("PASID_ATTACH pasidBits=%s", text).isBetween(1, 20));
        caps().parameter(Capability.IDENTITY_DOMAIN, "atPasid").ifPresent(text ->
                assertThat(text).as("IDENTITY_DOMAIN atPasid").isIn("true", "false"));
    }

    @Test
    @Rule(id = "DISC-5")
    @DisplayName("a paging domain offers every advertised page size, within the advertised address widths")
    public void pagingDomainMatchesAdvertisement() {
        PagingDomain d = newPagingDomain();
        caps().parameter(Capability.PAGING_DOMAIN, "pageSizes").ifPresent(text ->
                assertThat(d.pageSizes() & PageSizes.parse(text)).as("page sizes %s of the domain vs advertised %s",
                        PageSizes.format(d.pageSizes()), text).isEqualTo(PageSizes.parse(text)));
        caps().parameter(Capability.PAGING_DOMAIN, "inputBits").ifPresent(text -> {
            int bits = Integer.parseInt(text.trim());
            if (bits < 64) {
                assertThat(Long.compareUnsigned(d.apertureEnd(), (1L << bits) - 1)).as("aperture end 0x%x within %s input bits",
                        d.apertureEnd(), bits).isLessThanOrEqualTo(0);
            }
        });
        caps().parameter(Capability.PAGING_DOMAIN, "outputBits").ifPresent(text ->
                assertThat(d.info().outputBits()).as("output bits of the domain").isLessThanOrEqualTo(Integer.parseInt(text.trim())));
        assertThat(d.info().minPageSize()).as("smallest page").isGreaterThanOrEqualTo(PAGE);
        assertThat(Long.compareUnsigned(d.apertureStart(), d.apertureEnd())).as("aperture is not empty").isLessThan(0);
    }

    @Test
    @Rule(id = "DISC-6")
    @DisplayName("devices advertise PASID_ATTACH exactly when both they and the unit support PASIDs, with the honoured width")
    public void deviceCapabilities() {
        Optional<String> unitBits = caps().parameter(Capability.PASID_ATTACH, "pasidBits");
        assertThat(devNoPasid.pasidBits()).as("PASID width honoured for a device without PASID").isZero();
        assertThat(devNoPasid.capabilities().has(Capability.PASID_ATTACH)).as("PASID_ATTACH on a device with PASID width 0").isFalse();
        if (caps().has(Capability.PASID_ATTACH)) {
            int expected = Math.min(KitSubject.DEVICE_PASID_BITS, unitBits.map(s -> Integer.parseInt(s.trim())).orElse(KitSubject.DEVICE_PASID_BITS));
            for (Device d : new Device[] {devA, devB}) {
                assertThat(d.capabilities().has(Capability.PASID_ATTACH)).as("PASID_ATTACH on %s", d.name()).isTrue();
                assertThat(d.pasidBits()).as("PASID width honoured for %s", d.name()).isEqualTo(expected);
            }
        } else {
            assertThat(devA.capabilities().has(Capability.PASID_ATTACH)).as("PASID_ATTACH on a device of a unit without it").isFalse();
        }
        for (Device d : new Device[] {devA, devB, devNoPasid}) {
            for (Capability c : d.capabilities().asMap().keySet()) {
                assertThat(caps().has(c)).as("device %s advertises %s that its unit does not", d.name(), c).isTrue();
            }
        }
    }

    @Test
    @Rule(id = "DISC-7")
    @DisplayName("an unadvertised IDENTITY_DOMAIN is refused with NOT_SUPPORTED and changes nothing")
    public void identityRefusedWhenUnadvertised() {
        assumeNotAdvertised(Capability.IDENTITY_DOMAIN);
        State before = state(machine, Probe.read(devA, 0x1000));
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "IDENTITY_DOMAIN", () -> unit.identityDomain());
        assertUnchanged(machine, before, Probe.read(devA, 0x1000));
    }

    @Test
    @Rule(id = "DISC-8")
    @DisplayName("an unadvertised BLOCKED_DOMAIN is refused with NOT_SUPPORTED and changes nothing")
    public void blockedRefusedWhenUnadvertised() {
        assumeNotAdvertised(Capability.BLOCKED_DOMAIN);
        State before = state(machine, Probe.read(devA, 0x1000));
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "BLOCKED_DOMAIN", () -> unit.blockedDomain());
        assertUnchanged(machine, before, Probe.read(devA, 0x1000));
    }

    @Test
    @Rule(id = "DISC-9")
    @DisplayName("an unadvertised PAGING_DOMAIN is refused with NOT_SUPPORTED and changes nothing")
    public void pagingRefusedWhenUnadvertised() {
        assumeNotAdvertised(Capability.PAGING_DOMAIN);
        State before = state(machine, Probe.read(devA, 0x1000));
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "PAGING_DOMAIN", () -> unit.newPagingDomain());
        assertUnchanged(machine, before, Probe.read(devA, 0x1000));
    }

    @Test
    @Rule(id = "DISC-10")
    @DisplayName("an unadvertised NESTING_PARENT_DOMAIN is refused with NOT_SUPPORTED and changes nothing")
    public void nestingParentRefusedWhenUnadvertised() {
        assumeNotAdvertised(Capability.NESTING_PARENT_DOMAIN);
        State before = state(machine, Probe.read(devA, 0x1000));
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "NESTING_PARENT_DOMAIN",
                () -> unit.newPagingDomain(DomainOptions.NESTING_PARENT));
        assertUnchanged(machine, before, Probe.read(devA, 0x1000));
    }

    @Test
    @Rule(id = "DISC-11")
    @DisplayName("an unadvertised PASID_ATTACH is refused with NOT_SUPPORTED and changes nothing")
    public void pasidAttachRefusedWhenUnadvertised() {
        assumeNotAdvertised(Capability.PASID_ATTACH);
        PagingDomain d = newPagingDomain();
        d.map(iova(d, 0), pa(0), PAGE, Permissions.READ_WRITE);
        State before = state(machine, new Probe(devA, 1, iova(d, 0), AccessType.READ));
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "PASID_ATTACH", () -> devA.attachPasid(1, d));
        assertUnchanged(machine, before, new Probe(devA, 1, iova(d, 0), AccessType.READ));
    }

    @Test
    @Rule(id = "DISC-14")
    @DisplayName("a domain that is not attachable at a PASID is refused there with NOT_SUPPORTED and changes nothing")
    public void domainNotAttachableAtPasidRefused() {
        assumePasidAttach(devA);
        List<Domain> candidates = new ArrayList<>();
        if (caps().has(Capability.IDENTITY_DOMAIN)) {
            candidates.add(unit.identityDomain());
        }
        if (caps().has(Capability.PAGING_DOMAIN)) {
            candidates.add(unit.newPagingDomain());
        }
        if (caps().has(Capability.NESTING_PARENT_DOMAIN)) {
            candidates.add(unit.newPagingDomain(DomainOptions.NESTING_PARENT));
        }
        var refused = candidates.stream().filter(d -> !d.info().attachableAtPasid()).findFirst();
        Assumptions.assumeTrue(refused.isPresent(), "every domain of " + backendId() + " is attachable at a PASID");
        Probe probe = new Probe(devA, 5, KitSubject.RAM_BASE, AccessType.READ);
        State before = state(machine, probe);
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "domain", () -> devA.attachPasid(5, refused.get()));
        assertUnchanged(machine, before, probe);
    }

    @Test
    @Rule(id = "DISC-13")
    @DisplayName("a unit refuses an unknown option with INVALID_ARGUMENT naming it")
    public void unknownUnitOptionRefused() {
        String name = "iommukit-conformance-no-such-option";
        Throwable t = catchThrowable(() -> track(subject.newMachineWithOptions(Map.of(name, "1"))));
        assertThat(t).as("building a unit with the unknown option '%s'", name).isInstanceOf(IommuException.class);
        assertThat(((IommuException) t).code()).as("code of %s", t).isEqualTo(ErrorCode.INVALID_ARGUMENT);
        assertThat(t.getMessage()).as("message of %s", t).contains(name);
    }

    @Test
    @Rule(id = "DISC-12", level = Level.OPTIONAL)
    @DisplayName("a unit exposes its architectural registers by name")
    public void registersExposed() {
        assertThatCode(() -> unit.registers()).doesNotThrowAnyException();
        assertThat(unit.registers()).as("registers of %s", backendId()).isNotNull().isNotEmpty();
    }
}
