package dev.iommukit.backend.vtd.arch;

/**
 * CAP_REG (offset 0x08), digest §1.2: the fields the model reports, with codec.
 *
 * @param nd domain-id width code (2^(4+2*ND) domains)
 * @param rwbf write-buffer flush required
 * @param cm caching mode
 * @param sagaw supported SL address widths bitmap (bit 1: 39, bit 2: 48, bit 3: 57)
 * @param mgaw maximum guest address width minus one
 * @param zlr zero-length reads
 * @param fro fault-recording register offset in 16-byte units
 * @param sllps SL large-page support (bit 0: 2 MiB, bit 1: 1 GiB)
 * @param psi page-selective invalidation
 * @param nfr number of fault-recording registers minus one
 * @param mamv maximum address-mask value
 * @param fl1gp first-level 1 GiB pages
 * @param fl5lp first-level 5-level paging
 */
public record CapabilityRegister(int nd, boolean rwbf, boolean cm, int sagaw, int mgaw, boolean zlr, int fro, int sllps,
                                 boolean psi, int nfr, int mamv, boolean fl1gp, boolean fl5lp) {
    public long encode() {
        return Bits.put(nd, 0, 3) | Bits.flag(rwbf, 4) | Bits.flag(cm, 7) | Bits.put(sagaw, 8, 5) | Bits.put(mgaw, 16, 6)
                | Bits.flag(zlr, 22) | Bits.put(fro, 24, 10) | Bits.put(sllps, 34, 4) | Bits.flag(psi, 39) | Bits.put(nfr, 40, 8)
                | Bits.put(mamv, 48, 6) | Bits.flag(fl1gp, 56) | Bits.flag(fl5lp, 60);
    }

    public static CapabilityRegister decode(long v) {
        return new CapabilityRegister((int) Bits.get(v, 0, 3), Bits.bit(v, 4), Bits.bit(v, 7), (int) Bits.get(v, 8, 5),
                (int) Bits.get(v, 16, 6), Bits.bit(v, 22), (int) Bits.get(v, 24, 10), (int) Bits.get(v, 34, 4), Bits.bit(v, 39),
                (int) Bits.get(v, 40, 8), (int) Bits.get(v, 48, 6), Bits.bit(v, 56), Bits.bit(v, 60));
    }

    /** Whether AW code {@code aw} (1, 2, 3) is in SAGAW. */
    public boolean supportsAw(int aw) {
        return aw >= 1 && aw <= 3 && (sagaw >>> aw & 1) != 0;
    }

    /** Number of fault-recording registers (NFR + 1). */
    public int faultRecordCount() {
        return nfr + 1;
    }

    /** Number of domain ids: 2^(4 + 2*ND). */
    public int domainCount() {
        return 1 << (4 + 2 * nd);
    }
}
