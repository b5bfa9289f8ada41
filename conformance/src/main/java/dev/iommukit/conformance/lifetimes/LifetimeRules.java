package dev.iommukit.conformance.lifetimes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Level;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ErrorCode;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Lifetimes: nothing in use can be closed, and nothing closed leaks a table page. */
public abstract class LifetimeRules extends ConformanceGroup {
    protected LifetimeRules(KitSubject subject) {
        super(subject);
    }

    /** Maps pages, a block where possible, and cuts a hole in it: work that makes a backend build tables. */
    private void exercise(PagingDomain d, long slot) {
        long x = iova(d, slot * 64 * MIB);
        d.map(x, pa(0x10000), 16 * PAGE, Permissions.READ_WRITE);
        d.map(x + 16 * MIB, pa(0x100000), PAGE, Permissions.READ);
        long block = Long.highestOneBit(d.pageSizes());
        if (block > PAGE && block <= 32 * MIB) {
            long b = x + 32 * MIB;
            d.map(b, blockPa(block), block, Permissions.READ_WRITE);
            d.unmap(b + block / 2, PAGE);
        }
        d.unmap(x + 4 * PAGE, 2 * PAGE);
    }

    @Test
    @Rule(id = "LIFE-1")
    @DisplayName("closing a domain still attached (with or without PASID) is refused with BUSY and the domain keeps working")
    public void closeAttachedRefused() {
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x10 * PAGE);
        d.map(x, pa(0x1000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertRefused(BusyException.class, ErrorCode.BUSY, "attached", d::close);
        assertThat(d.isClosed()).isFalse();
        assertReaches(devA, x, pa(0x1000));
        devA.detach();
        if (devB.capabilities().has(Capability.PASID_ATTACH) && d.info().attachableAtPasid()) {
            devB.attachPasid(2, d);
            assertRefused(BusyException.class, ErrorCode.BUSY, "attached", d::close);
            assertReaches(devB, 2, x, AccessType.READ, pa(0x1000));
            devB.detachPasid(2);
        }
        d.close();
        assertThat(d.isClosed()).isTrue();
    }

    @Test
    @Rule(id = "LIFE-2")
    @DisplayName("a paging domain that was mapped, split and unmapped returns every table page when closed (after one warm-up domain)")
    public void domainReturnsItsPages() {
        newPagingDomain().close();
        long baseline = machine.tablePagesInUse();
        PagingDomain d = unit.newPagingDomain();
        exercise(d, 0);
        exercise(d, 1);
        d.unmap(iova(d, 0), 128 * MIB);
        d.close();
        assertThat(machine.tablePagesInUse()).as("table pages after closing a domain (%d before it)", baseline).isEqualTo(baseline);
        PagingDomain e = unit.newPagingDomain();
        exercise(e, 2);
        e.close();
        assertThat(machine.tablePagesInUse()).as("table pages after closing a domain that kept mappings").isEqualTo(baseline);
    }

    @Test
    @Rule(id = "LIFE-3")
    @DisplayName("repeated attach, PASID attach, detach and close cycles do not grow the table pages in use")
    public void cyclesDoNotLeak() {
        newPagingDomain().close();
        cycle();
        long baseline = machine.tablePagesInUse();
        for (int i = 0; i < 3; i++) {
            cycle();
            assertThat(machine.tablePagesInUse()).as("table pages after cycle %d (baseline %d after a warm-up cycle)", i + 1, baseline)
                    .isEqualTo(baseline);
        }
    }

    private void cycle() {
        PagingDomain d1 = unit.newPagingDomain();
        PagingDomain d2 = unit.newPagingDomain();
        exercise(d1, 0);
        exercise(d2, 1);
        devA.attach(d1);
        devB.attach(d1);
        devA.replace(d2);
        if (devA.capabilities().has(Capability.PASID_ATTACH) && d2.info().attachableAtPasid()) {
            devA.attachPasid(7, d2);
            devB.attachPasid(1 << (devB.pasidBits() - 1), d1);
            assertReaches(devA, 7, iova(d2, 64 * MIB), AccessType.READ, pa(0x10000));
            devA.detachPasid(7);
            devB.detachPasid(1 << (devB.pasidBits() - 1));
        }
        if (caps().has(Capability.IDENTITY_DOMAIN)) {
            devB.replace(unit.identityDomain());
        }
        devA.detach();
        devB.detach();
        d1.close();
        d2.close();
    }

    @Test
    @Rule(id = "LIFE-7", level = Level.OPTIONAL)
    @DisplayName("after detaching and closing everything, table pages return to their count right after the machine was built")
    public void everythingUndoneReturnsToStart() {
        newPagingDomain().close();
        cycle();
        assertThat(machine.tablePagesInUse())
                .as("table pages after one attach/PASID/detach/close cycle (%d right after build; a backend may keep"
                        + " per-device structures until the device goes, which LIFE-3 and LIFE-4 allow)", pagesAtStart)
                .isEqualTo(pagesAtStart);
    }

    @Test
    @Rule(id = "LIFE-4")
    @DisplayName("after machine.close() no table page is in use, whatever was attached and mapped")
    public void machineCloseFreesEverything() {
        Machine m = track(subject.newMachine());
        var u = m.unit(KitSubject.UNIT);
        var a = m.device(KitSubject.DEVICE_A);
        var b = m.device(KitSubject.DEVICE_B);
        if (caps().has(Capability.PAGING_DOMAIN)) {
            PagingDomain d1 = u.newPagingDomain();
            PagingDomain d2 = u.newPagingDomain();
            if (d1.info().minPageSize() == PAGE) {
                exercise(d1, 0);
                exercise(d2, 1);
            }
            a.attach(d1);
            if (a.capabilities().has(Capability.PASID_ATTACH) && d2.info().attachableAtPasid()) {
                a.attachPasid(3, d2);
            }
            u.newPagingDomain();
        }
        if (caps().has(Capability.IDENTITY_DOMAIN)) {
            b.attach(u.identityDomain());
        }
        if (caps().has(Capability.BLOCKED_DOMAIN)) {
            m.device(KitSubject.DEVICE_NO_PASID).attach(u.blockedDomain());
        }
        m.close();
        assertThat(m.tablePagesInUse()).as("table pages in use after machine.close(); live: %s", m.tableAllocator().liveAllocations())
                .isZero();
    }

    @Test
    @Rule(id = "LIFE-5")
    @DisplayName("a closed machine refuses further use with CLOSED")
    public void closedMachineRefuses() {
        Machine m = track(subject.newMachine());
        var u = m.unit(KitSubject.UNIT);
        var a = m.device(KitSubject.DEVICE_A);
        m.close();
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "machine", () -> u.newPagingDomain());
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "machine", a::detach);
        m.close();
        assertThat(m.tablePagesInUse()).isZero();
    }

    @Test
    @Rule(id = "LIFE-6")
    @DisplayName("a closed domain stays closed: closing again is harmless and it cannot be attached")
    public void closedDomainStaysClosed() {
        PagingDomain d = newPagingDomain();
        d.map(iova(d, 0), pa(0), PAGE, Permissions.READ_WRITE);
        d.close();
        long pages = machine.tablePagesInUse();
        d.close();
        assertThat(machine.tablePagesInUse()).as("table pages after closing twice").isEqualTo(pages);
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "domain", () -> devA.attach(d));
        assertThat(devA.domain()).isNull();
        assertFaults(devA, Pasid.NONE, iova(d, 0), AccessType.READ);
    }
}
