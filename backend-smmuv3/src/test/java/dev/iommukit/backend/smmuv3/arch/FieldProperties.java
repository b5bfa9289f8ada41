package dev.iommukit.backend.smmuv3.arch;

import static org.assertj.core.api.Assertions.assertThat;

import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class FieldProperties {
    @Property
    void setThenGetRoundTripsAndLeavesOtherBits(@ForAll long word, @ForAll long value, @ForAll @IntRange(min = 0, max = 63) int lo,
                                                @ForAll @IntRange(min = 0, max = 63) int width) {
        int hi = Math.min(63, lo + width);
        Field f = Field.of("f", hi, lo);
        long v = value & (f.width() == 64 ? -1L : (1L << f.width()) - 1);
        long w = f.set(word, v);
        assertThat(f.get(w)).isEqualTo(v);
        assertThat(w & ~f.mask()).isEqualTo(word & ~f.mask());
    }
}
