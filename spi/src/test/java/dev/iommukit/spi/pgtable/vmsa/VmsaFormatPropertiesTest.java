package dev.iommukit.spi.pgtable.vmsa;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.spi.domain.Permissions;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

class VmsaFormatPropertiesTest {
    @Property
    void leafRoundTripsAddressAndPermissions(@ForAll VmsaStage stage, @ForAll VmsaGranule granule,
                                             @ForAll @IntRange(min = 25, max = 48) int inputBits,
                                             @ForAll @LongRange(min = 0, max = (1L << 48) - 1) long address,
                                             @ForAll @IntRange(min = 1, max = 7) int perms) {
        VmsaFormat f = stage == VmsaStage.STAGE1 ? VmsaFormat.stage1(granule, inputBits) : VmsaFormat.stage2(granule, inputBits);
        int permissions = (perms & Permissions.READ_WRITE) == 0 ? perms | Permissions.READ : perms;
        for (int level = 0; level < f.levels(); level++) {
            if (!f.leafAllowed(level)) {
                continue;
            }
            long pa = address & -f.leafSize(level);
            long d = f.encodeLeaf(pa, level, permissions);
            assertThat(f.isLeaf(d, level)).isTrue();
            assertThat(f.isTable(d, level)).isFalse();
            assertThat(f.address(d, level)).isEqualTo(pa);
            int expected = stage == VmsaStage.STAGE1 ? permissions | Permissions.READ : permissions;
            assertThat(f.permissions(d, level)).isEqualTo(expected);
            assertThat(VmsaDescriptors.type(d, f.architecturalLevel(level), granule))
                    .isEqualTo(f.architecturalLevel(level) == 3 ? VmsaDescriptors.Type.PAGE : VmsaDescriptors.Type.BLOCK);
        }
    }

    @Property
    void geometryCoversTheInputExactly(@ForAll VmsaStage stage, @ForAll VmsaGranule granule,
                                       @ForAll @IntRange(min = 25, max = 48) int inputBits) {
        VmsaFormat f = stage == VmsaStage.STAGE1 ? VmsaFormat.stage1(granule, inputBits) : VmsaFormat.stage2(granule, inputBits);
        assertThat(f.indexShift(f.levels() - 1)).isEqualTo(granule.shift());
        for (int l = 1; l < f.levels(); l++) {
            assertThat(f.indexShift(l - 1)).isEqualTo(f.indexShift(l) + granule.stride());
        }
        assertThat(f.indexShift(0) + f.indexBits(0)).isEqualTo(inputBits);
        assertThat(f.indexBits(0)).isPositive();
        assertThat(f.concatenatedTables()).isBetween(1, 16);
        if (stage == VmsaStage.STAGE1) {
            assertThat(f.indexBits(0)).isLessThanOrEqualTo(granule.stride());
        }
    }
}
