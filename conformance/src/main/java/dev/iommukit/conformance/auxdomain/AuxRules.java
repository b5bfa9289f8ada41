package dev.iommukit.conformance.auxdomain;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Domain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Aux domains: PASID-granular paging domains on a parent device, the core choosing the PASID from
 * the machine's PASID space. Everything is seen through DMA the parent issues with and without the
 * aux PASID: each aux domain answers on its own PASID only, is isolated from the parent's requests
 * without PASID and from every other PASID, stops answering when detached, and its PASID returns to
 * the machine only once nothing refers to it.
 */
public abstract class AuxRules extends ConformanceGroup {
    protected AuxRules(KitSubject subject) {
        super(subject);
    }

    // ------------------------------------------------------------------ fixtures

    /** Device A with aux domains enabled; skips, saying why, when it does not advertise AUX_DOMAIN. */
    private Device auxParent(Device d) {
        Assumptions.assumeTrue(d.capabilities().has(Capability.AUX_DOMAIN),
                () -> "device " + d.name() + " of backend " + backendId() + " does not advertise AUX_DOMAIN");
        d.enableAuxDomains();
        return d;
    }

    /** A paging domain that can serve as an aux domain; skips, saying why, when none can. */
    private PagingDomain auxDomain() {
        PagingDomain d = newPagingDomain();
        assumeAttachableAtPasid(d);
        return d;
    }

    private static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 37 + i * 11 + (i >> 7));
        }
        return b;
    }

    /**
     * Asserts, with bytes, that DMA from {@code d} tagged with {@code pasid} at {@code iova} reads
     * what memory holds at {@code pa}, and that what it writes lands there.
     */
    private void assertMovesBytes(Device d, int pasid, long iova, long pa, int seed) {
        byte[] inMemory = pattern(seed, 256);
        machine.memory().write(pa, inMemory, 0, inMemory.length);
        byte[] seen = new byte[inMemory.length];
        DmaResult r = d.read(iova, seen, DmaAttributes.pasid(pasid));
        assertThat(r.ok()).withFailMessage("a read from %s pasid %d at 0x%x should reach 0x%x but faulted: %s", d.name(), pasid, iova, pa,
                r.fault()).isTrue();
        assertThat(seen).as("bytes read through pasid %d at 0x%x (memory at 0x%x)", pasid, iova, pa).isEqualTo(inMemory);
        byte[] written = pattern(seed + 1, 256);
        DmaResult w = d.write(iova, written, DmaAttributes.pasid(pasid));
        assertThat(w.ok()).withFailMessage("a write from %s pasid %d at 0x%x should reach 0x%x but faulted: %s", d.name(), pasid, iova, pa,
                w.fault()).isTrue();
        byte[] landed = new byte[written.length];
        machine.memory().read(pa, landed, 0, landed.length);
        assertThat(landed).as("bytes written through pasid %d at 0x%x, in memory at 0x%x", pasid, iova, pa).isEqualTo(written);
    }

    private static Fault assertBlocked(Device d, int pasid, long iova, AccessType access) {
        Fault f = assertFaults(d, pasid, iova, access);
        assertThat(f.reason()).as("reason of the fault of %s", describe(d, pasid, iova, access)).isEqualTo(FaultReason.BLOCKED);
        return f;
    }

    /** Aux bookkeeping of {@code devices}, PASIDs in use, and the standard state with {@code probes}. */
    private record AuxState(State state, int pasidsInUse, Map<String, Boolean> enabled, Map<String, Map<Domain, Integer>> aux) {}

    private AuxState auxState(Probe... probes) {
        Map<String, Boolean> enabled = new LinkedHashMap<>();
        Map<String, Map<Domain, Integer>> aux = new LinkedHashMap<>();
        for (Device d : machine.devices()) {
            enabled.put(d.name(), d.auxDomainsEnabled());
            aux.put(d.name(), d.auxDomains());
        }
        return new AuxState(state(machine, probes), machine.pasidsInUse(), enabled, aux);
    }

    private void assertAuxUnchanged(AuxState before, Probe... probes) {
        AuxState now = auxState(probes);
        assertThat(now).withFailMessage("a refused call changed state (it must change nothing):%n before %s%n after  %s", before, now)
                .isEqualTo(before);
    }

    // ------------------------------------------------------------------ rules

    @Test
    @Rule(id = "AUX-1")
    @DisplayName("a device with PASIDs on a unit advertising AUX_DOMAIN advertises it with level first|second and pasidBits within its width, and enabling works")
    public void advertisedAuxDomainsEnable() {
        assumeAdvertised(Capability.AUX_DOMAIN);
        Assumptions.assumeTrue(devA.pasidBits() > 0, () -> "device " + devA.name() + " has no PASID support on " + backendId());
        assertThat(devA.capabilities().has(Capability.AUX_DOMAIN))
                .as("device %s (%d PASID bits) on a unit advertising AUX_DOMAIN advertises AUX_DOMAIN", devA.name(), devA.pasidBits())
                .isTrue();
        for (var caps : List.of(caps(), devA.capabilities())) {
            assertThat(caps.parameter(Capability.AUX_DOMAIN, "level")).as("AUX_DOMAIN level of %s", caps).hasValueSatisfying(
                    level -> assertThat(level).isIn("first", "second"));
            assertThat(caps.parameter(Capability.AUX_DOMAIN, "pasidBits")).as("AUX_DOMAIN pasidBits of %s", caps).isPresent();
        }
        int bits = Integer.parseInt(devA.capabilities().parameter(Capability.AUX_DOMAIN, "pasidBits").orElseThrow());
        assertThat(bits).as("AUX_DOMAIN pasidBits of %s", devA.name()).isBetween(1, devA.pasidBits());
        assertThat(devA.auxDomainsEnabled()).isFalse();
        devA.enableAuxDomains();
        devA.enableAuxDomains();
        assertThat(devA.auxDomainsEnabled()).isTrue();
        assertThat(devA.auxDomains()).isEmpty();
        devA.disableAuxDomains();
        assertThat(devA.auxDomainsEnabled()).isFalse();
        assertThat(machine.pasidsInUse()).isZero();
    }

    @Test
    @Rule(id = "AUX-2")
    @DisplayName("a device that does not advertise AUX_DOMAIN (one without PASID support; every device when the unit does not advertise it) refuses enableAuxDomains with NOT_SUPPORTED, changing nothing")
    public void unadvertisedAuxDomainsRefused() {
        assertThat(devNoPasid.capabilities().has(Capability.AUX_DOMAIN))
                .as("device %s without PASID support advertises AUX_DOMAIN", devNoPasid.name()).isFalse();
        Probe[] probes = {Probe.read(devNoPasid, 0), new Probe(devA, 1, 0, AccessType.READ)};
        AuxState before = auxState(probes);
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "AUX_DOMAIN", devNoPasid::enableAuxDomains);
        assertThat(devNoPasid.auxDomainsEnabled()).isFalse();
        if (!caps().has(Capability.AUX_DOMAIN)) {
            for (Device d : List.of(devA, devB)) {
                assertThat(d.capabilities().has(Capability.AUX_DOMAIN))
                        .as("device %s advertises AUX_DOMAIN though its unit does not", d.name()).isFalse();
                assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "AUX_DOMAIN", d::enableAuxDomains);
            }
        }
        assertAuxUnchanged(before, probes);
    }

    @Test
    @Rule(id = "AUX-3")
    @DisplayName("an aux domain answers on the PASID its attach returned: DMA tagged with it reads and writes the aux domain's pages, mappings made after the attach included")
    public void auxDomainAnswersOnItsPasid() {
        Device parent = auxParent(devA);
        PagingDomain aux = auxDomain();
        long x = iova(aux, 0x10 * PAGE);
        aux.map(x, pa(0x11000), 2 * PAGE, Permissions.READ_WRITE);
        int pasid = parent.attachAuxDomain(aux);
        assertThat(pasid).as("the aux PASID lies in 1..2^%d-1", parent.pasidBits()).isBetween(1, (1 << parent.pasidBits()) - 1);
        assertThat(parent.auxPasid(aux)).isEqualTo(pasid);
        assertThat(parent.auxDomains()).containsExactly(Map.entry(aux, pasid));
        assertThat(machine.pasidsInUse()).as("PASIDs in use with one aux domain").isEqualTo(1);
        assertReaches(parent, pasid, x + 0x18, AccessType.READ, pa(0x11018));
        assertReaches(parent, pasid, x + PAGE + 0x20, AccessType.WRITE, pa(0x12020));
        assertMovesBytes(parent, pasid, x + 0x100, pa(0x11100), 1);
        long later = iova(aux, 0x40 * PAGE);
        aux.map(later, pa(0x13000), PAGE, Permissions.READ_WRITE);
        assertMovesBytes(parent, pasid, later + 0x80, pa(0x13080), 2);
        assertFaults(parent, pasid, x + 2 * PAGE, AccessType.READ);
    }

    @Test
    @Rule(id = "AUX-4")
    @DisplayName("two aux domains of one parent get different PASIDs and each PASID reaches only its own domain's pages")
    public void twoAuxDomainsIsolated() {
        Device parent = auxParent(devA);
        PagingDomain d1 = auxDomain();
        PagingDomain d2 = unit.newPagingDomain();
        long x = iova(d1, 0x10 * PAGE);
        long y = iova(d1, 0x20 * PAGE);
        d1.map(x, pa(0x21000), PAGE, Permissions.READ_WRITE);
        d2.map(x, pa(0x22000), PAGE, Permissions.READ_WRITE);
        d2.map(y, pa(0x23000), PAGE, Permissions.READ_WRITE);
        int p1 = parent.attachAuxDomain(d1);
        int p2 = parent.attachAuxDomain(d2);
        assertThat(p1).as("PASIDs of two aux domains").isNotEqualTo(p2);
        assertMovesBytes(parent, p1, x, pa(0x21000), 3);
        assertMovesBytes(parent, p2, x, pa(0x22000), 4);
        assertReaches(parent, p2, y + 8, AccessType.READ, pa(0x23008));
        assertFaults(parent, p1, y, AccessType.READ);
        assertFaults(parent, p1, y, AccessType.WRITE);
        assertThat(machine.pasidsInUse()).isEqualTo(2);
    }

    @Test
    @Rule(id = "AUX-5")
    @DisplayName("an aux domain and the parent's own requests without PASID are isolated both ways, and without a domain of its own the parent's untagged requests stay blocked")
    public void auxIsolatedFromParentRequests() {
        Device parent = auxParent(devA);
        PagingDomain aux = auxDomain();
        PagingDomain own = unit.newPagingDomain();
        long x = iova(aux, 0x10 * PAGE);
        long onlyOwn = iova(aux, 0x20 * PAGE);
        long onlyAux = iova(aux, 0x30 * PAGE);
        aux.map(x, pa(0x31000), PAGE, Permissions.READ_WRITE);
        aux.map(onlyAux, pa(0x32000), PAGE, Permissions.READ_WRITE);
        own.map(x, pa(0x33000), PAGE, Permissions.READ_WRITE);
        own.map(onlyOwn, pa(0x34000), PAGE, Permissions.READ_WRITE);
        int pasid = parent.attachAuxDomain(aux);
        assertFaults(parent, Pasid.NONE, x, AccessType.READ);
        assertFaults(parent, Pasid.NONE, onlyAux, AccessType.WRITE);
        parent.detachAuxDomain(aux);
        parent.attach(own);
        pasid = parent.attachAuxDomain(aux);
        assertMovesBytes(parent, pasid, x, pa(0x31000), 5);
        assertReaches(parent, Pasid.NONE, x, AccessType.WRITE, pa(0x33000));
        assertReaches(parent, Pasid.NONE, onlyOwn, AccessType.READ, pa(0x34000));
        assertFaults(parent, pasid, onlyOwn, AccessType.READ);
        assertFaults(parent, pasid, onlyOwn, AccessType.WRITE);
        assertFaults(parent, Pasid.NONE, onlyAux, AccessType.READ);
        assertFaults(parent, Pasid.NONE, onlyAux, AccessType.WRITE);
        assertReaches(parent, pasid, onlyAux, AccessType.READ, pa(0x32000));
    }

    @Test
    @Rule(id = "AUX-6")
    @DisplayName("a PASID with nothing attached faults BLOCKED, on the parent of aux domains and on other devices, whatever the parent's other PASIDs map")
    public void unallocatedPasidBlocked() {
        Device parent = auxParent(devA);
        PagingDomain aux = auxDomain();
        PagingDomain own = unit.newPagingDomain();
        long x = iova(aux, 0x10 * PAGE);
        aux.map(x, pa(0x41000), PAGE, Permissions.READ_WRITE);
        own.map(x, pa(0x42000), PAGE, Permissions.READ_WRITE);
        parent.attach(own);
        int pasid = parent.attachAuxDomain(aux);
        assertReaches(parent, pasid, x, AccessType.READ, pa(0x41000));
        int top = (1 << parent.pasidBits()) - 1;
        for (int other : Set.of(pasid + 1, pasid + 17, top)) {
            if (other != pasid && other <= top) {
                assertBlocked(parent, other, x, AccessType.READ);
                assertBlocked(parent, other, x, AccessType.WRITE);
            }
        }
        assertBlocked(devB, pasid, x, AccessType.READ);
        assertThat(machine.pasidsInUse()).isEqualTo(1);
    }

    @Test
    @Rule(id = "AUX-7")
    @DisplayName("detaching an aux domain makes its PASID fault BLOCKED at once, while the domain is still mapped, and leaves other aux domains answering")
    public void detachMakesPasidFault() {
        Device parent = auxParent(devA);
        PagingDomain d1 = auxDomain();
        PagingDomain d2 = unit.newPagingDomain();
        long x = iova(d1, 0x10 * PAGE);
        d1.map(x, pa(0x51000), PAGE, Permissions.READ_WRITE);
        d2.map(x, pa(0x52000), PAGE, Permissions.READ_WRITE);
        int p1 = parent.attachAuxDomain(d1);
        int p2 = parent.attachAuxDomain(d2);
        assertReaches(parent, p1, x, AccessType.WRITE, pa(0x51000));
        assertReaches(parent, p1, x, AccessType.READ, pa(0x51000));
        parent.detachAuxDomain(d1);
        assertDoesNotReach(parent, p1, x, AccessType.READ, pa(0x51000));
        assertDoesNotReach(parent, p1, x, AccessType.WRITE, pa(0x51000));
        assertBlocked(parent, p1, x, AccessType.READ);
        assertThat(parent.auxDomains()).containsExactly(Map.entry(d2, p2));
        assertThat(d1.attachmentCount()).as("attachments of a detached aux domain").isZero();
        assertThat(machine.pasidsInUse()).isEqualTo(1);
        assertReaches(parent, p2, x, AccessType.READ, pa(0x52000));
        d1.close();
        assertBlocked(parent, p1, x, AccessType.READ);
    }

    @Test
    @Rule(id = "AUX-8")
    @DisplayName("disabling aux domains while one is attached is refused with BUSY, changing nothing")
    public void disableWhileAttachedRefused() {
        Device parent = auxParent(devA);
        PagingDomain aux = auxDomain();
        long x = iova(aux, 0x10 * PAGE);
        aux.map(x, pa(0x61000), PAGE, Permissions.READ_WRITE);
        int pasid = parent.attachAuxDomain(aux);
        Probe[] probes = {new Probe(parent, pasid, x, AccessType.READ), Probe.read(parent, x)};
        AuxState before = auxState(probes);
        assertRefused(BusyException.class, ErrorCode.BUSY, parent.name(), parent::disableAuxDomains);
        assertAuxUnchanged(before, probes);
        assertThat(parent.auxDomainsEnabled()).isTrue();
        assertReaches(parent, pasid, x, AccessType.WRITE, pa(0x61000));
    }

    @Test
    @Rule(id = "AUX-9")
    @DisplayName("a whole-device attach or replace while aux domains are attached is refused with BUSY naming the device, changing nothing")
    public void wholeDeviceAttachWhileAuxRefused() {
        Device parent = auxParent(devA);
        PagingDomain aux = auxDomain();
        PagingDomain whole = unit.newPagingDomain();
        long x = iova(aux, 0x10 * PAGE);
        aux.map(x, pa(0x71000), PAGE, Permissions.READ_WRITE);
        whole.map(x, pa(0x72000), PAGE, Permissions.READ_WRITE);
        int pasid = parent.attachAuxDomain(aux);
        Probe[] probes = {new Probe(parent, pasid, x, AccessType.READ), Probe.read(parent, x), Probe.write(parent, x)};
        AuxState before = auxState(probes);
        assertRefused(BusyException.class, ErrorCode.BUSY, parent.name(), () -> parent.attach(whole));
        assertRefused(BusyException.class, ErrorCode.BUSY, parent.name(), () -> parent.replace(whole));
        assertAuxUnchanged(before, probes);
        assertFaults(parent, Pasid.NONE, x, AccessType.READ);
        assertThat(whole.attachmentCount()).isZero();
    }

    @Test
    @Rule(id = "AUX-10")
    @DisplayName("attaching the same aux domain twice to one parent is refused with CONFLICT naming 'domain', changing nothing and taking no PASID")
    public void sameDomainTwiceRefused() {
        Device parent = auxParent(devA);
        PagingDomain aux = auxDomain();
        long x = iova(aux, 0x10 * PAGE);
        aux.map(x, pa(0x81000), PAGE, Permissions.READ_WRITE);
        int pasid = parent.attachAuxDomain(aux);
        Probe[] probes = {new Probe(parent, pasid, x, AccessType.READ), new Probe(parent, pasid + 1, x, AccessType.READ)};
        AuxState before = auxState(probes);
        assertRefused(ConflictException.class, ErrorCode.CONFLICT, "domain", () -> parent.attachAuxDomain(aux));
        assertAuxUnchanged(before, probes);
        assertThat(parent.auxPasid(aux)).isEqualTo(pasid);
    }

    @Test
    @Rule(id = "AUX-11")
    @DisplayName("one domain attached as aux domain of two parents answers on each with its own PASID, and only there")
    public void oneDomainOnTwoParents() {
        Device a = auxParent(devA);
        Device b = auxParent(devB);
        PagingDomain shared = auxDomain();
        long x = iova(shared, 0x10 * PAGE);
        shared.map(x, pa(0x91000), PAGE, Permissions.READ_WRITE);
        int pasidA = a.attachAuxDomain(shared);
        int pasidB = b.attachAuxDomain(shared);
        assertThat(pasidA).as("PASIDs of one domain on two parents").isNotEqualTo(pasidB);
        assertThat(a.auxPasid(shared)).isEqualTo(pasidA);
        assertThat(b.auxPasid(shared)).isEqualTo(pasidB);
        assertThat(machine.pasidsInUse()).isEqualTo(2);
        assertMovesBytes(a, pasidA, x, pa(0x91000), 6);
        assertMovesBytes(b, pasidB, x, pa(0x91000), 7);
        assertBlocked(a, pasidB, x, AccessType.READ);
        assertBlocked(b, pasidA, x, AccessType.READ);
        a.detachAuxDomain(shared);
        assertBlocked(a, pasidA, x, AccessType.READ);
        assertReaches(b, pasidB, x, AccessType.READ, pa(0x91000));
        assertThat(machine.pasidsInUse()).isEqualTo(1);
    }

    @Test
    @Rule(id = "AUX-12")
    @DisplayName("a PASID is reused only after its aux domain was detached, a reused PASID reaches only its new domain, and PASIDs in use return to 0")
    public void pasidReusedOnlyAfterRelease() {
        Device parent = auxParent(devA);
        PagingDomain d1 = auxDomain();
        PagingDomain d2 = unit.newPagingDomain();
        PagingDomain d3 = unit.newPagingDomain();
        PagingDomain d4 = unit.newPagingDomain();
        long x = iova(d1, 0x10 * PAGE);
        d1.map(x, pa(0xA1000), PAGE, Permissions.READ_WRITE);
        d2.map(x, pa(0xA2000), PAGE, Permissions.READ_WRITE);
        d3.map(x, pa(0xA3000), PAGE, Permissions.READ_WRITE);
        d4.map(x, pa(0xA4000), PAGE, Permissions.READ_WRITE);
        assertThat(machine.pasidsInUse()).isZero();
        int p1 = parent.attachAuxDomain(d1);
        int p2 = parent.attachAuxDomain(d2);
        assertReaches(parent, p1, x, AccessType.READ, pa(0xA1000));
        parent.detachAuxDomain(d1);
        int p3 = parent.attachAuxDomain(d3);
        assertThat(p3).as("a new aux PASID while %d is in use", p2).isNotEqualTo(p2);
        int p4 = parent.attachAuxDomain(d4);
        assertThat(Set.of(p2, p3, p4)).as("PASIDs of three attached aux domains are distinct").hasSize(3);
        assertThat(machine.pasidsInUse()).isEqualTo(3);
        assertReaches(parent, p2, x, AccessType.READ, pa(0xA2000));
        assertReaches(parent, p3, x, AccessType.READ, pa(0xA3000));
        assertReaches(parent, p4, x, AccessType.READ, pa(0xA4000));
        for (PagingDomain d : Arrays.asList(d2, d3, d4)) {
            parent.detachAuxDomain(d);
        }
        parent.disableAuxDomains();
        assertThat(machine.pasidsInUse()).as("PASIDs in use once every aux domain was detached").isZero();
        for (int p : new int[] {p2, p3, p4}) {
            assertBlocked(parent, p, x, AccessType.READ);
        }
    }

    @Test
    @Rule(id = "AUX-13")
    @DisplayName("unmap in an aux domain is strict: once it returns, nothing reaches the old page through the aux PASID, and a new mapping there is seen")
    public void auxUnmapIsStrict() {
        Device parent = auxParent(devA);
        PagingDomain aux = auxDomain();
        long x = iova(aux, 0x10 * PAGE);
        aux.map(x, pa(0xB1000), 4 * PAGE, Permissions.READ_WRITE);
        int pasid = parent.attachAuxDomain(aux);
        for (long off = 0; off < 4 * PAGE; off += PAGE) {
            assertReaches(parent, pasid, x + off, AccessType.READ, pa(0xB1000 + off));
            assertReaches(parent, pasid, x + off, AccessType.WRITE, pa(0xB1000 + off));
        }
        aux.unmap(x + PAGE, PAGE);
        assertDoesNotReach(parent, pasid, x + PAGE, AccessType.READ, pa(0xB2000));
        assertDoesNotReach(parent, pasid, x + PAGE, AccessType.WRITE, pa(0xB2000));
        assertReaches(parent, pasid, x, AccessType.READ, pa(0xB1000));
        assertReaches(parent, pasid, x + 2 * PAGE, AccessType.READ, pa(0xB3000));
        aux.unmap(x, 4 * PAGE);
        for (long off = 0; off < 4 * PAGE; off += PAGE) {
            assertDoesNotReach(parent, pasid, x + off, AccessType.READ, pa(0xB1000 + off));
        }
        aux.map(x, pa(0xC1000), PAGE, Permissions.READ_WRITE);
        assertReaches(parent, pasid, x, AccessType.READ, pa(0xC1000));
    }

    @Test
    @Rule(id = "AUX-14")
    @DisplayName("an aux attach before enableAuxDomains is refused naming 'device', and one of a blocked domain naming 'domain'; neither takes a PASID or changes anything")
    public void auxAttachRefusals() {
        Assumptions.assumeTrue(devA.capabilities().has(Capability.AUX_DOMAIN),
                () -> "device " + devA.name() + " of backend " + backendId() + " does not advertise AUX_DOMAIN");
        PagingDomain aux = auxDomain();
        long x = iova(aux, 0x10 * PAGE);
        aux.map(x, pa(0xD1000), PAGE, Permissions.READ_WRITE);
        Probe[] probes = {new Probe(devA, 1, x, AccessType.READ), Probe.read(devA, x)};
        AuxState before = auxState(probes);
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "device", () -> devA.attachAuxDomain(aux));
        assertAuxUnchanged(before, probes);
        devA.enableAuxDomains();
        if (caps().has(Capability.BLOCKED_DOMAIN)) {
            Domain blocked = unit.blockedDomain();
            AuxState enabled = auxState(probes);
            assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "domain", () -> devA.attachAuxDomain(blocked));
            assertAuxUnchanged(enabled, probes);
        }
        assertThat(devA.auxDomains()).isEmpty();
        assertThat(machine.pasidsInUse()).isZero();
    }

    @Test
    @Rule(id = "AUX-15")
    @DisplayName("closing a domain attached as an aux domain is refused with BUSY and it keeps answering on its PASID; once detached it closes")
    public void closeAttachedAuxDomainRefused() {
        Device parent = auxParent(devA);
        PagingDomain aux = auxDomain();
        long x = iova(aux, 0x10 * PAGE);
        aux.map(x, pa(0xE1000), PAGE, Permissions.READ_WRITE);
        int pasid = parent.attachAuxDomain(aux);
        assertRefused(BusyException.class, ErrorCode.BUSY, "attached", aux::close);
        assertThat(aux.isClosed()).isFalse();
        assertThat(parent.auxPasid(aux)).isEqualTo(pasid);
        assertMovesBytes(parent, pasid, x, pa(0xE1000), 8);
        parent.detachAuxDomain(aux);
        aux.close();
        assertThat(aux.isClosed()).isTrue();
        assertThat(machine.pasidsInUse()).isZero();
        assertBlocked(parent, pasid, x, AccessType.READ);
    }
}
