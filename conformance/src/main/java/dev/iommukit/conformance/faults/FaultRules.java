package dev.iommukit.conformance.faults;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Device;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Level;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Faults: the vendor-neutral reason, the vendor record, and delivery to the device's handler. */
public abstract class FaultRules extends ConformanceGroup {
    protected FaultRules(KitSubject subject) {
        super(subject);
    }

    /** Checks who, where, what and the record of {@code f}, and its reason. */
    private static void assertFault(Fault f, Device d, int pasid, long iova, AccessType access, FaultReason reason) {
        assertThat(f.reason()).as("reason of %s", f).isEqualTo(reason);
        assertThat(f.requester()).as("requester of %s", f).isEqualTo(d.rid());
        assertThat(f.pasid()).as("pasid of %s", f).isEqualTo(pasid);
        assertThat(f.access()).as("access of %s", f).isEqualTo(access);
        assertThat(f.address() >>> 12).as("page of the fault address 0x%x (request at 0x%x)", f.address(), iova).isEqualTo(iova >>> 12);
        assertThat(f.record()).as("vendor record of %s", f).isNotNull();
        assertThat(f.record().format()).as("vendor record format of %s", f).isNotBlank();
        assertThat(f.record().name()).as("vendor record name of %s", f).isNotBlank();
        assertThat(f.record().words()).as("vendor record words of %s", f).isNotNull();
        assertThat(f.record().fields()).as("vendor record fields of %s", f).isNotNull();
    }

    @Test
    @Rule(id = "FAULT-1")
    @DisplayName("a request to a not-present page faults with NOT_MAPPED and the vendor record, naming requester, address and access")
    public void notMapped() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x10 * PAGE);
        d.map(x, pa(0x1000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertFault(assertFaults(devA, Pasid.NONE, x + PAGE + 0x80, AccessType.READ), devA, Pasid.NONE, x + PAGE + 0x80, AccessType.READ, FaultReason.NOT_MAPPED);
        assertFault(assertFaults(devA, Pasid.NONE, x - PAGE, AccessType.WRITE), devA, Pasid.NONE, x - PAGE, AccessType.WRITE, FaultReason.NOT_MAPPED);
    }

    @Test
    @Rule(id = "FAULT-2")
    @DisplayName("a write through a read-only mapping faults with PERMISSION and the vendor record")
    public void permission() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x20 * PAGE);
        d.map(x, pa(0x2000), PAGE, Permissions.READ);
        devA.attach(d);
        assertFault(assertFaults(devA, Pasid.NONE, x + 0x10, AccessType.WRITE), devA, Pasid.NONE, x + 0x10, AccessType.WRITE, FaultReason.PERMISSION);
    }

    @Test
    @Rule(id = "FAULT-3")
    @DisplayName("a request from a device with nothing attached faults with BLOCKED")
    public void blockedDevice() {
        assertFault(assertFaults(devB, Pasid.NONE, 0x10_0000, AccessType.READ), devB, Pasid.NONE, 0x10_0000, AccessType.READ, FaultReason.BLOCKED);
        assertFault(assertFaults(devB, Pasid.NONE, KitSubject.RAM_BASE, AccessType.WRITE), devB, Pasid.NONE, KitSubject.RAM_BASE, AccessType.WRITE, FaultReason.BLOCKED);
    }

    @Test
    @Rule(id = "FAULT-4")
    @DisplayName("a request tagged with a PASID that has nothing attached faults with BLOCKED and names the PASID")
    public void blockedPasid() {
        assumePasidAttach(devA);
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x30 * PAGE);
        d.map(x, pa(0x3000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertFault(assertFaults(devA, 21, x, AccessType.READ), devA, 21, x, AccessType.READ, FaultReason.BLOCKED);
    }

    @Test
    @Rule(id = "FAULT-5")
    @DisplayName("the device's fault handler receives a NOT_MAPPED fault once, with the same reason and vendor record")
    public void handlerReceivesNotMappedOnce() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x40 * PAGE);
        d.map(x, pa(0x4000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        FaultCollector collector = new FaultCollector();
        devA.onFault(collector);
        long target = x + 3 * PAGE;
        Fault seen = assertFaults(devA, Pasid.NONE, target, AccessType.READ);
        assertDeliveredOnce(collector, devA, seen, target, x + 5 * PAGE);
    }

    @Test
    @Rule(id = "FAULT-6")
    @DisplayName("the device's fault handler receives a PERMISSION fault once, with the same reason and vendor record")
    public void handlerReceivesPermissionOnce() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x50 * PAGE);
        d.map(x, pa(0x5000), PAGE, Permissions.READ);
        devA.attach(d);
        FaultCollector collector = new FaultCollector();
        devA.onFault(collector);
        Fault seen = assertFaults(devA, Pasid.NONE, x + 0x20, AccessType.WRITE);
        assertDeliveredOnce(collector, devA, seen, x + 0x20, x + 7 * PAGE);
    }

    /** Waits for a sentinel fault at {@code sentinel}, then checks {@code seen} arrived exactly once. */
    private static void assertDeliveredOnce(FaultCollector collector, Device dev, Fault seen, long target, long sentinel) {
        assertFaults(dev, Pasid.NONE, sentinel, AccessType.READ);
        boolean arrived = collector.await(f -> f.address() >>> 12 == sentinel >>> 12);
        assertThat(arrived).withFailMessage("no fault reached the handler of %s; received %s", dev.name(), collector.received()).isTrue();
        var delivered = collector.matching(f -> f.address() >>> 12 == target >>> 12);
        assertThat(delivered).as("faults delivered for 0x%x", target).hasSize(1);
        Fault f = delivered.get(0);
        assertThat(f.reason()).as("reason delivered").isEqualTo(seen.reason());
        assertThat(f.requester()).as("requester delivered").isEqualTo(dev.rid());
        assertThat(f.access()).as("access delivered").isEqualTo(seen.access());
        assertThat(f.record().format()).as("record format delivered").isEqualTo(seen.record().format());
        assertThat(f.record().name()).as("record name delivered").isEqualTo(seen.record().name());
    }

    @Test
    @Rule(id = "FAULT-7")
    @DisplayName("a device's fault handler receives no fault of another device")
    public void handlerSeesOnlyItsDevice() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x60 * PAGE);
        d.map(x, pa(0x6000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        FaultCollector a = new FaultCollector();
        FaultCollector b = new FaultCollector();
        devA.onFault(a);
        devB.onFault(b);
        assertFaults(devA, Pasid.NONE, x + PAGE, AccessType.READ);
        assertFaults(devA, Pasid.NONE, x + 2 * PAGE, AccessType.READ);
        assertThat(a.await(f -> f.address() >>> 12 == (x + 2 * PAGE) >>> 12))
                .withFailMessage("no fault reached the handler of %s", devA.name()).isTrue();
        assertThat(b.received()).as("faults delivered to %s", devB.name()).isEmpty();
    }

    @Test
    @Rule(id = "FAULT-8")
    @DisplayName("a request beyond the aperture faults with NOT_MAPPED or ADDRESS_SIZE")
    public void beyondAperture() {
        PagingDomain d = newPagingDomain();
        Assumptions.assumeTrue(d.apertureEnd() != -1L, "the aperture ends at the top of the 64-bit space");
        d.map(d.apertureEnd() - PAGE + 1, pa(0x7000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        long beyond = d.apertureEnd() + 1;
        Fault f = assertFaults(devA, beyond);
        assertThat(f.reason()).as("reason of %s", f).isIn(FaultReason.NOT_MAPPED, FaultReason.ADDRESS_SIZE);
    }

    @Test
    @Rule(id = "FAULT-9", level = Level.OPTIONAL)
    @DisplayName("the vendor records of a not-present page and of a permission violation differ")
    public void recordsDistinguishReasons() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x70 * PAGE);
        d.map(x, pa(0x7000), PAGE, Permissions.READ);
        devA.attach(d);
        Fault notMapped = assertFaults(devA, x + PAGE);
        Fault permission = assertFaults(devA, Pasid.NONE, x, AccessType.WRITE);
        assertThat(notMapped.record().name() + "/" + notMapped.record().code())
                .as("records of %s and %s", notMapped, permission)
                .isNotEqualTo(permission.record().name() + "/" + permission.record().code());
    }
}
