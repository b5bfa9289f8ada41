package dev.iommukit.spi.tlb;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class TranslationCacheTest {
    @Test
    void hitsOnlyTheTagAndPageItWasFilledFor() {
        TranslationCache tlb = new TranslationCache(256, 12, 21);
        tlb.fill(new TlbEntry(7, 0x20_0000, 21, 0x8000_0000L, 3, 0), tlb.epoch());
        assertThat(tlb.lookup(7, 0x21_2345).translate(0x21_2345)).isEqualTo(0x8001_2345L);
        assertThat(tlb.lookup(8, 0x21_2345)).isNull();
        assertThat(tlb.lookup(7, 0x40_0000)).isNull();
    }

    @Test
    void aFillThatRacedAnInvalidationIsWithdrawn() {
        TranslationCache tlb = new TranslationCache(64, 12);
        long epoch = tlb.epoch();
        tlb.invalidateAll();
        tlb.fill(new TlbEntry(1, 0x1000, 12, 0x5000, 1, 0), epoch);
        assertThat(tlb.lookup(1, 0x1000)).isNull();
        assertThat(tlb.size()).isZero();
    }

    @Test
    void invalidationDropsOnlyMatchingEntries() {
        TranslationCache tlb = new TranslationCache(64, 12);
        tlb.fill(new TlbEntry(1, 0x1000, 12, 0x5000, 1, 0), tlb.epoch());
        tlb.fill(new TlbEntry(2, 0x1000, 12, 0x6000, 1, 0), tlb.epoch());
        tlb.invalidate(e -> e.tag() == 1);
        assertThat(tlb.lookup(1, 0x1000)).isNull();
        assertThat(tlb.lookup(2, 0x1000)).isNotNull();
    }
}
