package dev.iommukit.conformance.domains;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Domain;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.FaultReason;
import java.util.Arrays;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** Identity and blocked domains: pass-through means every address reaches itself; blocked means nothing gets through. */
public abstract class IdentityBlockedRules extends ConformanceGroup {
    protected IdentityBlockedRules(KitSubject subject) {
        super(subject);
    }

    private Domain identity() {
        assumeAdvertised(Capability.IDENTITY_DOMAIN);
        Domain id = unit.identityDomain();
        assertThat(id.type()).as("type of the identity domain").isEqualTo(DomainType.IDENTITY);
        return id;
    }

    private Domain blocked() {
        assumeAdvertised(Capability.BLOCKED_DOMAIN);
        Domain b = unit.blockedDomain();
        assertThat(b.type()).as("type of the blocked domain").isEqualTo(DomainType.BLOCKED);
        return b;
    }

    @Test
    @Rule(id = "DOMAIN-1")
    @DisplayName("a device attached to the identity domain reaches every address untranslated, and its bytes land there")
    public void identityPassesThrough() {
        Domain id = identity();
        devA.attach(id);
        for (long a : new long[] {KitSubject.RAM_BASE, KitSubject.RAM_BASE + 0x1234, KitSubject.RAM_BASE + KitSubject.RAM_SIZE - 8, 0x10_0000}) {
            assertReaches(devA, Pasid.NONE, a, AccessType.READ, a);
            assertReaches(devA, Pasid.NONE, a, AccessType.WRITE, a);
        }
        byte[] data = new byte[300];
        Arrays.fill(data, (byte) 0x3C);
        long at = KitSubject.RAM_BASE + 0x2F00;
        DmaResult w = devA.write(at, data);
        assertThat(w.ok()).as("identity write: %s", w).isTrue();
        byte[] back = new byte[300];
        machine.memory().read(at, back, 0, back.length);
        assertThat(back).isEqualTo(data);
        assertFaults(devB, KitSubject.RAM_BASE);
    }

    @Test
    @Rule(id = "DOMAIN-2")
    @DisplayName("an identity domain advertised at PASIDs passes tagged requests through at its PASID only")
    public void identityAtPasid() {
        Domain id = identity();
        assumePasidAttach(devA);
        boolean advertised = caps().parameter(Capability.IDENTITY_DOMAIN, "atPasid").map(Boolean::parseBoolean).orElse(false);
        if (advertised) {
            assertThat(id.info().attachableAtPasid()).as("identity domain attachable at a PASID, as atPasid=true advertises").isTrue();
        }
        assumeAttachableAtPasid(id);
        devA.attachPasid(14, id);
        assertReaches(devA, 14, KitSubject.RAM_BASE + 0x5000, AccessType.WRITE, KitSubject.RAM_BASE + 0x5000);
        assertFaults(devA, 15, KitSubject.RAM_BASE + 0x5000, AccessType.READ);
        assertFaults(devA, Pasid.NONE, KitSubject.RAM_BASE + 0x5000, AccessType.READ);
    }

    @Test
    @Rule(id = "DOMAIN-3")
    @DisplayName("a device attached to the blocked domain reaches nothing and faults with BLOCKED")
    public void blockedBlocks() {
        Domain b = blocked();
        devA.attach(b);
        for (AccessType access : AccessType.values()) {
            assertThat(assertFaults(devA, Pasid.NONE, KitSubject.RAM_BASE + 0x100, access).reason())
                    .as("reason for a %s through the blocked domain", access).isEqualTo(FaultReason.BLOCKED);
        }
    }

    @Test
    @Rule(id = "DOMAIN-4")
    @DisplayName("replacing a used paging domain by the blocked domain stops DMA at once")
    public void blockedReplacesPaging() {
        Domain b = blocked();
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x10 * PAGE);
        d.map(x, pa(0x1000), PAGE, Permissions.READ_WRITE);
        devA.attach(d);
        assertReaches(devA, x, pa(0x1000));
        devA.replace(b);
        assertDoesNotReach(devA, Pasid.NONE, x, AccessType.READ, pa(0x1000));
        assertDoesNotReach(devA, Pasid.NONE, x, AccessType.WRITE, pa(0x1000));
        devA.replace(d);
        assertReaches(devA, x, pa(0x1000));
    }

    @Test
    @Rule(id = "DOMAIN-5")
    @DisplayName("switching between identity and paging domains takes effect at once, both ways")
    public void identityAndPagingSwitch() {
        Domain id = identity();
        PagingDomain d = newPagingDomain();
        long x = iova(d, 0x20 * PAGE);
        d.map(x, pa(0x2000), PAGE, Permissions.READ_WRITE);
        devA.attach(id);
        assertReaches(devA, x, x);
        devA.replace(d);
        assertReaches(devA, x, pa(0x2000));
        assertFaults(devA, x + PAGE);
        devA.replace(id);
        assertReaches(devA, x + PAGE, x + PAGE);
    }

    @Test
    @Rule(id = "DOMAIN-6")
    @DisplayName("the identity and blocked domains are one per unit, and closing them changes nothing")
    public void unitOwnsIdentityAndBlocked() {
        if (caps().has(Capability.IDENTITY_DOMAIN)) {
            Domain id = unit.identityDomain();
            assertThat(unit.identityDomain()).isSameAs(id);
            devA.attach(id);
            id.close();
            assertReaches(devA, KitSubject.RAM_BASE, KitSubject.RAM_BASE);
        }
        Domain b = blocked();
        assertThat(unit.blockedDomain()).isSameAs(b);
        b.close();
        devB.attach(b);
        assertFaults(devB, KitSubject.RAM_BASE);
    }
}
