package dev.iommukit.conformance.invalidation;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.PagingDomain;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/**
 * Invalidation: once a change returns, no request that starts afterwards uses the old translation.
 * Every rule first issues DMA so that a caching backend holds the old translation.
 */
public abstract class InvalidationRules extends ConformanceGroup {
    protected InvalidationRules(KitSubject subject) {
        super(subject);
    }

    @Test
    @Rule(id = "INVAL-1")
    @DisplayName("after unmap returns, no read or write reaches the old page")
    public void unmapInvalidates() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x10 * PAGE);
        d.map(x, pa(0x11000), 2 * PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, Pasid.NONE, x, AccessType.READ, pa(0x11000));
        assertReaches(devA, Pasid.NONE, x + PAGE, AccessType.WRITE, pa(0x12000));
        d.unmap(x, 2 * PAGE);
        assertDoesNotReach(devA, Pasid.NONE, x, AccessType.READ, pa(0x11000));
        assertDoesNotReach(devA, Pasid.NONE, x + PAGE, AccessType.WRITE, pa(0x12000));
        assertDoesNotReach(devA, Pasid.NONE, x + PAGE, AccessType.READ, pa(0x12000));
    }

    @Test
    @Rule(id = "INVAL-2")
    @DisplayName("remapping an IOVA to another physical page takes effect for the next request")
    public void remapTakesEffect() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x20 * PAGE);
        d.map(x, pa(0x21000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, x + 0x40, pa(0x21040));
        d.unmap(x, PAGE);
        d.map(x, pa(0x22000), PAGE, Permissions.READ_WRITE);
        assertReaches(devA, x + 0x40, pa(0x22040));
        assertReaches(devA, Pasid.NONE, x + 0x80, AccessType.WRITE, pa(0x22080));
    }

    @Test
    @Rule(id = "INVAL-3")
    @DisplayName("replace() switches a device to the new domain's translation at once, and back")
    public void replaceSwitches() {
        PagingDomain d1 = newPagingDomain();
        PagingDomain d2 = unit.newPagingDomain();
        long x = iova(d1, 0x30 * PAGE);
        d1.map(x, pa(0x31000), PAGE, Permissions.READ_WRITE);
        d2.map(x, pa(0x32000), PAGE, Permissions.READ_WRITE);
        d2.map(x + PAGE, pa(0x33000), PAGE, Permissions.READ_WRITE);
        devA.attach(d1);
        assertReaches(devA, x, pa(0x31000));
        assertFaults(devA, x + PAGE);
        devA.replace(d2);
        assertReaches(devA, x, pa(0x32000));
        assertReaches(devA, x + PAGE, pa(0x33000));
        assertThat(d1.attachmentCount()).as("attachments of the replaced domain").isZero();
        devA.replace(d1);
        assertReaches(devA, x, pa(0x31000));
        assertDoesNotReach(devA, Pasid.NONE, x + PAGE, AccessType.READ, pa(0x33000));
    }

    @Test
    @Rule(id = "INVAL-4")
    @DisplayName("after a used block mapping is unmapped, no page inside it is reached")
    public void blockUnmapInvalidates() {
        PagingDomain d = newPagingDomain();
        long block = largestBlock(d) > GIB ? GIB : largestBlock(d);
        long x = iova(d, GIB);
        long p = blockPa(block);
        d.map(x, p, block, Permissions.READ_WRITE);
        devA.attach(d);
        long[] offsets = {0, PAGE, block / 2, block - PAGE};
        for (long off : offsets) {
            assertReaches(devA, x + off, p + off);
        }
        d.unmap(x, block);
        for (long off : offsets) {
            assertDoesNotReach(devA, Pasid.NONE, x + off, AccessType.READ, p + off);
        }
    }

    @Test
    @Rule(id = "INVAL-5")
    @DisplayName("after one used page of a block is unmapped, it is not reached while its neighbours still are")
    public void partialBlockUnmapInvalidates() {
        PagingDomain d = newPagingDomain();
        long block = largestBlock(d) > GIB ? GIB : largestBlock(d);
        long min = d.info().minPageSize();
        long x = iova(d, GIB);
        long p = blockPa(block);
        long hole = block / 2;
        d.map(x, p, block, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, x + hole, p + hole);
        assertReaches(devA, x + hole - min, p + hole - min);
        assertReaches(devA, x + hole + min, p + hole + min);
        d.unmap(x + hole, min);
        assertDoesNotReach(devA, Pasid.NONE, x + hole, AccessType.READ, p + hole);
        assertReaches(devA, x + hole - min, p + hole - min);
        assertReaches(devA, x + hole + min, p + hole + min);
    }

    @Test
    @Rule(id = "INVAL-6")
    @DisplayName("a page remapped read-only after being written refuses the next write")
    public void permissionDowngradeTakesEffect() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x60 * PAGE);
        d.map(x, pa(0x61000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, Pasid.NONE, x, AccessType.WRITE, pa(0x61000));
        d.unmap(x, PAGE);
        d.map(x, pa(0x61000), PAGE, Permissions.READ);
        assertFaults(devA, Pasid.NONE, x, AccessType.WRITE);
        assertReaches(devA, Pasid.NONE, x, AccessType.READ, pa(0x61000));
    }

    @Test
    @Rule(id = "INVAL-7")
    @DisplayName("after detach returns, the device reaches nothing")
    public void detachInvalidates() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x70 * PAGE);
        d.map(x, pa(0x71000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, x, pa(0x71000));
        devA.detach();
        assertDoesNotReach(devA, Pasid.NONE, x, AccessType.READ, pa(0x71000));
        assertDoesNotReach(devA, Pasid.NONE, x, AccessType.WRITE, pa(0x71000));
    }

    @Test
    @Rule(id = "INVAL-8")
    @DisplayName("after detachPasid returns, that PASID reaches nothing while untagged requests are unaffected")
    public void detachPasidInvalidates() {
        assumePasidAttach(devA);
        PagingDomain rid = newPagingDomain();
        PagingDomain aux = unit.newPagingDomain();
        assumeAttachableAtPasid(aux);
        long x = iova(rid, 0x80 * PAGE);
        rid.map(x, pa(0x81000), PAGE, Permissions.READ_WRITE);
        aux.map(x, pa(0x82000), PAGE, Permissions.READ_WRITE);
        devA.attach(rid);
        devA.attachPasid(11, aux);
        assertReaches(devA, 11, x, AccessType.READ, pa(0x82000));
        devA.detachPasid(11);
        assertDoesNotReach(devA, 11, x, AccessType.READ, pa(0x82000));
        assertReaches(devA, x, pa(0x81000));
    }

    @Test
    @Rule(id = "INVAL-9")
    @DisplayName("replacePasid() switches the PASID's translation at once")
    public void replacePasidSwitches() {
        assumePasidAttach(devA);
        PagingDomain a = newPagingDomain();
        PagingDomain b = unit.newPagingDomain();
        assumeAttachableAtPasid(a);
        long x = iova(a, 0x90 * PAGE);
        a.map(x, pa(0x91000), PAGE, Permissions.READ_WRITE);
        b.map(x, pa(0x92000), PAGE, Permissions.READ_WRITE);
        devA.attachPasid(12, a);
        assertReaches(devA, 12, x, AccessType.READ, pa(0x91000));
        devA.replacePasid(12, b);
        assertReaches(devA, 12, x, AccessType.READ, pa(0x92000));
    }

    @Test
    @Rule(id = "INVAL-10")
    @DisplayName("an unmap in a domain shared by two devices takes effect for both")
    public void sharedDomainUnmapInvalidatesBoth() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0xA0 * PAGE);
        d.map(x, pa(0xA1000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        devB.attach(d);
        assertReaches(devA, x, pa(0xA1000));
        assertReaches(devB, x, pa(0xA1000));
        d.unmap(x, PAGE);
        assertDoesNotReach(devA, Pasid.NONE, x, AccessType.READ, pa(0xA1000));
        assertDoesNotReach(devB, Pasid.NONE, x, AccessType.READ, pa(0xA1000));
    }

    @Test
    @Rule(id = "INVAL-11")
    @DisplayName("an unmap in a domain attached at a PASID takes effect for tagged requests")
    public void pasidDomainUnmapInvalidates() {
        assumePasidAttach(devA);
        PagingDomain aux = newPagingDomain();
        assumeAttachableAtPasid(aux);
        long x = iova(aux, 0xB0 * PAGE);
        aux.map(x, pa(0xB1000), PAGE, Permissions.READ_WRITE);
        devA.attachPasid(13, aux);
        assertReaches(devA, 13, x, AccessType.WRITE, pa(0xB1000));
        aux.unmap(x, PAGE);
        assertDoesNotReach(devA, 13, x, AccessType.WRITE, pa(0xB1000));
    }
}
