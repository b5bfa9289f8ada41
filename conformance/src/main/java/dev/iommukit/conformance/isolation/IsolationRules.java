package dev.iommukit.conformance.isolation;

import dev.iommukit.api.PagingDomain;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Isolation: a requester reaches only what its own domain (at its own PASID) maps. */
public abstract class IsolationRules extends ConformanceGroup {
    protected IsolationRules(KitSubject subject) {
        super(subject);
    }

    @Test
    @Rule(id = "ISOL-1")
    @DisplayName("two devices in two domains each reach only their own domain's pages")
    public void twoDomainsTwoDevices() {
        PagingDomain d1 = newPagingDomain();
        PagingDomain d2 = unit.newPagingDomain();
        long x = iova(d1, 0x10 * PAGE);
        long y = iova(d1, 0x20 * PAGE);
        d1.map(x, pa(0x1000), PAGE, Permissions.READ_WRITE);
        d2.map(x, pa(0x2000), PAGE, Permissions.READ_WRITE);
        d2.map(y, pa(0x3000), PAGE, Permissions.READ_WRITE);
        devA.attach(d1);
        devB.attach(d2);
        assertReaches(devA, Pasid.NONE, x, AccessType.WRITE, pa(0x1000));
        assertReaches(devB, Pasid.NONE, x, AccessType.WRITE, pa(0x2000));
        assertReaches(devB, y + 4, pa(0x3004));
        assertFaults(devA, Pasid.NONE, y, AccessType.READ);
        assertFaults(devA, Pasid.NONE, y, AccessType.WRITE);
    }

    @Test
    @Rule(id = "ISOL-2")
    @DisplayName("a device with nothing attached reaches nothing, not even what other devices map")
    public void unattachedDeviceIsBlocked() {
        assertFaults(devB, 0);
        assertFaults(devB, Pasid.NONE, KitSubject.RAM_BASE, AccessType.WRITE);
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x30 * PAGE);
        d.map(x, pa(0x4000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, x, pa(0x4000));
        assertFaults(devB, Pasid.NONE, x, AccessType.READ);
        assertFaults(devB, Pasid.NONE, x, AccessType.WRITE);
        assertFaults(devNoPasid, Pasid.NONE, x, AccessType.READ);
    }

    @Test
    @Rule(id = "ISOL-3")
    @DisplayName("a request tagged with a PASID that has nothing attached faults, even when the device has a domain without PASID")
    public void pasidWithNothingAttachedFaults() {
        assumePasidAttach(devA);
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x40 * PAGE);
        d.map(x, pa(0x5000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, x, pa(0x5000));
        assertFaults(devA, 7, x, AccessType.READ);
        assertFaults(devA, 7, x, AccessType.WRITE);
        assertFaults(devA, 1, x, AccessType.READ);
    }

    @Test
    @Rule(id = "ISOL-4")
    @DisplayName("a domain attached at a PASID is reached only by requests with that PASID from that device")
    public void pasidDomainOnlyAtItsPasid() {
        assumePasidAttach(devA);
        PagingDomain rid = newPagingDomain();
        PagingDomain aux = unit.newPagingDomain();
        assumeAttachableAtPasid(aux);
        long x = iova(rid, 0x50 * PAGE);
        rid.map(x, pa(0x6000), PAGE, Permissions.READ_WRITE);
        aux.map(x, pa(0x7000), PAGE, Permissions.READ_WRITE);
        devA.attach(rid);
        devA.attachPasid(5, aux);
        assertReaches(devA, 5, x, AccessType.WRITE, pa(0x7000));
        assertReaches(devA, Pasid.NONE, x, AccessType.WRITE, pa(0x6000));
        assertFaults(devA, 6, x, AccessType.READ);
        assertFaults(devB, 5, x, AccessType.READ);
        assertFaults(devB, Pasid.NONE, x, AccessType.READ);
    }

    @Test
    @Rule(id = "ISOL-5")
    @DisplayName("a domain attached at a PASID of a device without a domain for untagged requests leaves those blocked")
    public void pasidOnlyLeavesUntaggedBlocked() {
        assumePasidAttach(devA);
        PagingDomain aux = newPagingDomain();
        assumeAttachableAtPasid(aux);
        long x = iova(aux, 0x60 * PAGE);
        aux.map(x, pa(0x8000), PAGE, Permissions.READ_WRITE);
        devA.attachPasid(9, aux);
        assertReaches(devA, 9, x, AccessType.READ, pa(0x8000));
        assertFaults(devA, Pasid.NONE, x, AccessType.READ);
    }

    @Test
    @Rule(id = "ISOL-6")
    @DisplayName("one domain attached at PASIDs of two devices serves both, each at its own PASID only")
    public void sameDomainAtTwoDevicesPasids() {
        assumePasidAttach(devA);
        assumePasidAttach(devB);
        PagingDomain aux = newPagingDomain();
        assumeAttachableAtPasid(aux);
        long x = iova(aux, 0x70 * PAGE);
        aux.map(x, pa(0x9000), PAGE, Permissions.READ_WRITE);
        devA.attachPasid(3, aux);
        devB.attachPasid(4, aux);
        assertReaches(devA, 3, x, AccessType.READ, pa(0x9000));
        assertReaches(devB, 4, x, AccessType.READ, pa(0x9000));
        assertFaults(devA, 4, x, AccessType.READ);
        assertFaults(devB, 3, x, AccessType.READ);
    }

    @Test
    @Rule(id = "ISOL-7")
    @DisplayName("a PASID-tagged request from a device without PASID support is not translated as an untagged one")
    public void pasidRequestFromDeviceWithoutPasid() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x80 * PAGE);
        d.map(x, pa(0xA000), PAGE, Permissions.READ_WRITE);
        devNoPasid.attach(d);
        assertReaches(devNoPasid, x, pa(0xA000));
        assertFaults(devNoPasid, 1, x, AccessType.READ);
    }
}
