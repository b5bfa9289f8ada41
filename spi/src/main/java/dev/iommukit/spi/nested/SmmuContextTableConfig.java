package dev.iommukit.spi.nested;

import dev.iommukit.spi.error.IommuException;

/**
 * An SMMUv3 guest context-descriptor table: its guest-physical (IPA) address, format, size and
 * default substream. These are the only STE fields that come from the guest (S1ContextPtr, S1Fmt,
 * S1CDMax, S1DSS); the host owns the rest of the STE, stage 2 included.
 */
public record SmmuContextTableConfig(long contextTableAddress, Format format, int cdMaxBits,
                                     DefaultSubstream defaultSubstream) implements NestedConfig {
    public static final String STAGE1 = "smmuv3-cd-table";

    /** STE.S1Fmt. */
    public enum Format {
        /** 0: a linear table of 2^S1CDMax CDs. */
        LINEAR(0),
        /** 1: two levels, 4 KiB leaf tables of 64 CDs. */
        TWO_LEVEL_4K(1),
        /** 2: two levels, 64 KiB leaf tables of 1024 CDs. */
        TWO_LEVEL_64K(2);

        private final int encoding;

        Format(int encoding) {
            this.encoding = encoding;
        }

        /** The STE.S1Fmt value. */
        public int encoding() {
            return encoding;
        }
    }

    /** STE.S1DSS: what requests without a substream get. */
    public enum DefaultSubstream {
        /** 0: terminated (F_STREAM_DISABLED). */
        TERMINATE(0),
        /** 1: stage 1 bypassed; stage 2 still applies. */
        BYPASS(1),
        /** 2: translated by CD 0 (which then serves no substream traffic). */
        SUBSTREAM_0(2);

        private final int encoding;

        DefaultSubstream(int encoding) {
            this.encoding = encoding;
        }

        /** The STE.S1DSS value. */
        public int encoding() {
            return encoding;
        }
    }

    public SmmuContextTableConfig {
        if ((contextTableAddress & 0x3F) != 0 || contextTableAddress < 0) {
            throw IommuException.invalid("contextTableAddress", "0x" + Long.toHexString(contextTableAddress)
                    + " must be a 64-byte aligned guest-physical address");
        }
        if (cdMaxBits < 0 || cdMaxBits > 20) {
            throw IommuException.invalid("cdMaxBits", cdMaxBits + " must be within 0..20 (S1CDMax)");
        }
        java.util.Objects.requireNonNull(format, "format");
        java.util.Objects.requireNonNull(defaultSubstream, "defaultSubstream");
    }

    /** A linear table of {@code 2^cdMaxBits} CDs whose requests without substream use CD 0. */
    public static SmmuContextTableConfig linear(long contextTableAddress, int cdMaxBits) {
        return new SmmuContextTableConfig(contextTableAddress, Format.LINEAR, cdMaxBits, DefaultSubstream.SUBSTREAM_0);
    }

    @Override
    public String stage1() {
        return STAGE1;
    }
}
