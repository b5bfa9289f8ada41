package dev.iommukit.conformance.input;

import dev.iommukit.api.Device;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Bad input: every refusal carries the canonical error, a message that names the argument, and
 * leaves everything as it was (mappings, attachments, table pages, where DMA goes).
 */
public abstract class BadInputRules extends ConformanceGroup {
    private PagingDomain domain;
    private long x;
    private Probe[] probes;

    protected BadInputRules(KitSubject subject) {
        super(subject);
    }

    /** A paging domain with one mapping, attached to device A: the state each refusal must leave alone. */
    @BeforeEach
    final void establishState() {
        if (!caps().has(Capability.PAGING_DOMAIN)) {
            return;
        }
        domain = unit.newPagingDomain();
        if (domain.info().minPageSize() != PAGE || Long.compareUnsigned(domain.apertureEnd(), 8 * GIB) < 0) {
            return;
        }
        x = iova(domain, 0x10 * PAGE);
        domain.map(x, pa(0x10000), 2 * PAGE, Permissions.READ_WRITE);
        devA.attach(domain);
        probes = new Probe[] {Probe.read(devA, x), Probe.write(devA, x + PAGE), Probe.read(devA, x + 2 * PAGE), Probe.read(devB, x)};
    }

    private State before() {
        assumeAdvertised(Capability.PAGING_DOMAIN);
        Assumptions.assumeTrue(probes != null, "the kit's standard mapping could not be set up on this backend");
        return state(machine, probes);
    }

    private void unchanged(State before) {
        assertUnchanged(machine, before, probes);
    }

    @Test
    @Rule(id = "INPUT-1")
    @DisplayName("map and unmap at a misaligned iova are refused naming 'iova', changing nothing")
    public void misalignedIova() {
        State before = before();
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "iova",
                () -> domain.map(x + 4 * PAGE + 0x10, pa(0x20000), PAGE, Permissions.READ_WRITE));
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "iova", () -> domain.unmap(x + 0x800, PAGE));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-2")
    @DisplayName("map with a misaligned physical address is refused naming 'pa', changing nothing")
    public void misalignedPa() {
        State before = before();
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "pa",
                () -> domain.map(x + 4 * PAGE, pa(0x20000) + 0x200, PAGE, Permissions.READ_WRITE));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-3")
    @DisplayName("map with a size that is not a multiple of the smallest page is refused naming 'size', changing nothing")
    public void misalignedSize() {
        State before = before();
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "size",
                () -> domain.map(x + 4 * PAGE, pa(0x20000), PAGE + 0x100, Permissions.READ_WRITE));
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "size", () -> domain.unmap(x, PAGE + 8));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-4")
    @DisplayName("map and unmap of zero or negative size are refused naming 'size', changing nothing")
    public void zeroSize() {
        State before = before();
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "size",
                () -> domain.map(x + 4 * PAGE, pa(0x20000), 0, Permissions.READ_WRITE));
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "size",
                () -> domain.map(x + 4 * PAGE, pa(0x20000), -PAGE, Permissions.READ_WRITE));
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "size", () -> domain.unmap(x, 0));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-5")
    @DisplayName("a range whose iova + size overflows 64 bits is refused naming 'size', changing nothing")
    public void overflowingRange() {
        State before = before();
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "size",
                () -> domain.map(-PAGE, pa(0x20000), 2 * PAGE, Permissions.READ_WRITE));
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "size", () -> domain.unmap(-PAGE, 2 * PAGE));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-6")
    @DisplayName("a range beyond the aperture is refused naming 'iova', changing nothing")
    public void beyondAperture() {
        State before = before();
        Assumptions.assumeTrue(domain.apertureEnd() != -1L, "the aperture ends at the top of the 64-bit space");
        long beyond = domain.apertureEnd() + 1;
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "iova",
                () -> domain.map(beyond, pa(0x20000), PAGE, Permissions.READ_WRITE));
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "iova",
                () -> domain.map(domain.apertureEnd() - PAGE + 1, pa(0x20000), 2 * PAGE, Permissions.READ_WRITE));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-7")
    @DisplayName("permissions without read or write, or with unknown bits, are refused naming 'permissions', changing nothing")
    public void badPermissions() {
        State before = before();
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "permissions",
                () -> domain.map(x + 4 * PAGE, pa(0x20000), PAGE, Permissions.NONE));
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "permissions",
                () -> domain.map(x + 4 * PAGE, pa(0x20000), PAGE, 0x40 | Permissions.READ));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-8")
    @DisplayName("an unknown device name is refused with NOT_FOUND naming 'device', changing nothing")
    public void unknownDevice() {
        State before = before();
        assertRefused(NotFoundException.class, ErrorCode.NOT_FOUND, "device", () -> machine.device("00:1f.7"));
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "rid", () -> machine.device("not-a-rid"));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-9")
    @DisplayName("attaching the domain a device already has is refused with CONFLICT naming 'domain', changing nothing")
    public void doubleAttach() {
        State before = before();
        assertRefused(ConflictException.class, ErrorCode.CONFLICT, "domain", () -> devA.attach(domain));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-10")
    @DisplayName("attaching while another domain is attached is refused with BUSY naming the device, changing nothing")
    public void attachWhileAttached() {
        State before = before();
        PagingDomain other = unit.newPagingDomain();
        State withOther = state(machine, probes);
        assertRefused(BusyException.class, ErrorCode.BUSY, devA.name(), () -> devA.attach(other));
        assertUnchanged(machine, withOther, probes);
        other.close();
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-11")
    @DisplayName("a closed domain is refused with CLOSED naming 'domain' for map, unmap and attach, changing nothing")
    public void closedDomain() {
        State before = before();
        PagingDomain closed = unit.newPagingDomain();
        closed.close();
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "domain", () -> closed.map(x, pa(0x20000), PAGE, Permissions.READ_WRITE));
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "domain", () -> closed.unmap(x, PAGE));
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "domain", () -> devB.attach(closed));
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "domain", () -> devA.replace(closed));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-12")
    @DisplayName("a domain of another unit is refused naming 'domain', changing nothing on either unit")
    public void domainOfAnotherUnit() {
        before();
        Machine two = track(subject.newTwoUnitMachine());
        PagingDomain foreign = two.unit(KitSubject.OTHER_UNIT).newPagingDomain();
        Device local = two.device(KitSubject.DEVICE_B);
        Device remote = two.device(KitSubject.DEVICE_OTHER_UNIT);
        Probe[] p = {Probe.read(local, x), Probe.read(remote, x)};
        State twoBefore = state(two, p);
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "domain", () -> local.attach(foreign));
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "domain", () -> local.replace(foreign));
        assertUnchanged(two, twoBefore, p);
    }

    @Test
    @Rule(id = "INPUT-13")
    @DisplayName("attaching at PASID 0 is refused naming 'pasid', changing nothing")
    public void pasidZero() {
        State before = before();
        assumePasidAttach(devB);
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "pasid", () -> devB.attachPasid(0, domain));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-14")
    @DisplayName("attaching at a PASID beyond the device's width, or negative, is refused naming 'pasid', changing nothing")
    public void pasidBeyondWidth() {
        State before = before();
        assumePasidAttach(devB);
        int beyond = 1 << devB.pasidBits();
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "pasid", () -> devB.attachPasid(beyond, domain));
        assertRefused(InvalidArgumentException.class, ErrorCode.INVALID_ARGUMENT, "pasid", () -> devB.attachPasid(-2, domain));
        unchanged(before);
    }

    @Test
    @Rule(id = "INPUT-15")
    @DisplayName("attaching at a PASID of a device with PASID width 0 is refused with NOT_SUPPORTED naming 'pasid', changing nothing")
    public void pasidOnDeviceWithoutPasid() {
        State before = before();
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "pasid", () -> devNoPasid.attachPasid(1, domain));
        unchanged(before);
        assertFaults(devNoPasid, 1, x, AccessType.READ);
    }

    @Test
    @Rule(id = "INPUT-16")
    @DisplayName("detaching a PASID with nothing attached is refused with NOT_FOUND naming 'pasid', changing nothing")
    public void detachUnattachedPasid() {
        State before = before();
        assumePasidAttach(devA);
        assertRefused(NotFoundException.class, ErrorCode.NOT_FOUND, "pasid", () -> devA.detachPasid(33));
        unchanged(before);
        assertFaults(devA, 33, x, AccessType.READ);
        assertReaches(devA, Pasid.NONE, x, AccessType.READ, pa(0x10000));
    }
}
