package dev.iommukit.api;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.error.InvalidArgumentException;
import org.junit.jupiter.api.Test;

class PasidLeaseTest {
    @Test
    void aLeaseReleasesItsReferenceOnceAndOnlyItself() {
        try (Machine m = Machine.vtd().build()) {
            PasidLease a = m.allocatePasid(20, "test");
            PasidLease b = m.allocatePasid(20, "test");
            assertThat(a.pasid()).isEqualTo(1);
            assertThat(b.pasid()).isEqualTo(2);
            assertThat(m.pasidsInUse()).isEqualTo(2);
            a.close();
            a.close();
            assertThat(a.isReleased()).isTrue();
            assertThat(m.pasidsInUse()).as("a second close drops nothing of another holder").isEqualTo(1);
            assertThat(m.allocatePasid(20, "test").pasid()).as("the released PASID is reused").isEqualTo(1);
            assertThatThrownBy(() -> m.allocatePasid(0, "test")).isInstanceOf(InvalidArgumentException.class)
                    .hasMessageStartingWith("width:");
        }
    }
}
