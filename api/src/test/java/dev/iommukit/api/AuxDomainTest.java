package dev.iommukit.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.FaultReason;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Aux domains as the 2018 discussion defined them, on both backends. */
class AuxDomainTest {
    private static final long RAM = 0x8000_0000L;

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void anAuxDomainAnswersOnItsOwnPasidAndIsIsolatedFromTheParent(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Device parent = m.devices().get(0);
            assertThat(parent.capabilities().parameter(Capability.AUX_DOMAIN, "level"))
                    .hasValue(backend.equals("smmuv3") ? "first" : "second");
            PagingDomain parentDomain = parent.unit().newPagingDomain();
            parentDomain.map(0x1000, RAM, 0x1000, Permissions.READ_WRITE);
            parent.attach(parentDomain);
            parent.enableAuxDomains();
            PagingDomain aux1 = parent.unit().newPagingDomain();
            PagingDomain aux2 = parent.unit().newPagingDomain();
            aux1.map(0x1000, RAM + 0x10_0000, 0x1000, Permissions.READ_WRITE);
            aux2.map(0x1000, RAM + 0x20_0000, 0x1000, Permissions.READ_WRITE);
            int p1 = parent.attachAuxDomain(aux1);
            int p2 = parent.attachAuxDomain(aux2);
            assertThat(p1).isPositive().isNotEqualTo(p2);
            assertThat(parent.auxPasid(aux1)).isEqualTo(p1);
            assertThat(parent.translate(0x1000, AccessType.READ).physicalAddress()).isEqualTo(RAM);
            assertThat(parent.translate(0x1000, AccessType.READ, DmaAttributes.pasid(p1)).physicalAddress()).isEqualTo(RAM + 0x10_0000);
            assertThat(parent.translate(0x1000, AccessType.READ, DmaAttributes.pasid(p2)).physicalAddress()).isEqualTo(RAM + 0x20_0000);
            parent.detachAuxDomain(aux1);
            assertThat(parent.translate(0x1000, AccessType.READ, DmaAttributes.pasid(p1)).fault().reason()).isEqualTo(FaultReason.BLOCKED);
            assertThat(m.pasidsInUse()).isEqualTo(1);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void theRulesOfTheTimeHold(String backend) {
        try (Machine m = Machine.preset(backend).device(backend.equals("smmuv3") ? "smmu0" : "dmar0", "00:05.0", 0).build()) {
            Device parent = m.devices().get(0);
            PagingDomain aux = parent.unit().newPagingDomain();
            assertThatThrownBy(() -> parent.attachAuxDomain(aux)).isInstanceOf(InvalidArgumentException.class).hasMessageContaining("enableAuxDomains");
            assertThatThrownBy(() -> m.device("00:05.0").enableAuxDomains()).isInstanceOf(NotSupportedException.class).hasMessageContaining("AUX_DOMAIN");
            parent.enableAuxDomains();
            int pasid = parent.attachAuxDomain(aux);
            assertThatThrownBy(() -> parent.attachAuxDomain(aux)).isInstanceOf(ConflictException.class);
            assertThatThrownBy(parent::disableAuxDomains).isInstanceOf(BusyException.class);
            assertThatThrownBy(() -> parent.attach(parent.unit().newPagingDomain())).isInstanceOf(BusyException.class).hasMessageContaining("aux");
            assertThatThrownBy(() -> parent.detachPasid(pasid)).isInstanceOf(BusyException.class).hasMessageContaining("detachAuxDomain");
            assertThatThrownBy(() -> parent.attachAuxDomain(parent.unit().identityDomain())).isInstanceOf(InvalidArgumentException.class);
            parent.detachAuxDomain(aux);
            parent.disableAuxDomains();
            assertThat(m.pasidsInUse()).isZero();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmuv3", "vtd"})
    void oneDomainOnTwoParentsAnswersOnEachWithItsOwnPasidAndPasidsAreReusedOnlyWhenFree(String backend) {
        try (Machine m = Machine.preset(backend).build()) {
            Device a = m.devices().get(0);
            Device b = m.devices().get(1);
            a.enableAuxDomains();
            b.enableAuxDomains();
            PagingDomain shared = a.unit().newPagingDomain();
            shared.map(0x1000, RAM, 0x1000, Permissions.READ);
            int pa = a.attachAuxDomain(shared);
            int pb = b.attachAuxDomain(shared);
            assertThat(pa).isNotEqualTo(pb);
            assertThat(a.translate(0x1000, AccessType.READ, DmaAttributes.pasid(pa)).ok()).isTrue();
            assertThat(b.translate(0x1000, AccessType.READ, DmaAttributes.pasid(pb)).ok()).isTrue();
            assertThat(b.translate(0x1000, AccessType.READ, DmaAttributes.pasid(pa)).ok()).isFalse();
            a.detachAuxDomain(shared);
            PagingDomain next = a.unit().newPagingDomain();
            assertThat(a.attachAuxDomain(next)).isEqualTo(pa);
            assertThatThrownBy(shared::close).isInstanceOf(BusyException.class);
        }
    }
}
