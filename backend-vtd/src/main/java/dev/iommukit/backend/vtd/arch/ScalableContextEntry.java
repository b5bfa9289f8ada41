package dev.iommukit.backend.vtd.arch;

/**
 * A scalable-mode context entry (256 bits, digest §3.2). SM context tables hold 128 entries of 32
 * bytes, indexed by devfn &amp; 0x7F in the table the root entry half selects.
 *
 * @param p present
 * @param fpd fault processing disable
 * @param dte device-TLB enable
 * @param paside requests-with-PASID enable
 * @param pre page-request enable
 * @param pdts PASID directory size: 2^(PDTS+7) entries
 * @param pasidDirPtr PASID directory base
 * @param ridPasid PASID for requests without PASID (only with ECAP.RPS)
 * @param ridPriv privilege for requests without PASID (only with ECAP.RPRIVS)
 */
public record ScalableContextEntry(boolean p, boolean fpd, boolean dte, boolean paside, boolean pre, int pdts, long pasidDirPtr,
                                   int ridPasid, boolean ridPriv) {
    public static final int SIZE = 32;
    /** qword 0 DTE (bit 2): device-TLB enable, translation and translated requests allowed. */
    public static final long DTE = 1L << 2;
    /** qword 0 PRE (bit 4): page requests allowed (needs DTE). */
    public static final long PRE = 1L << 4;
    /** qword 0 reserved bits 8:5. */
    public static final long QW0_RESERVED = Bits.mask(8, 5);
    /** qword 1 reserved bits 127:85 (63:21 within qword 1). */
    public static final long QW1_RESERVED = Bits.mask(63, 21);

    public long[] encode() {
        long qw0 = Bits.flag(p, 0) | Bits.flag(fpd, 1) | Bits.flag(dte, 2) | Bits.flag(paside, 3) | Bits.flag(pre, 4)
                | Bits.put(pdts, 9, 3) | (pasidDirPtr & Bits.mask(63, 12));
        long qw1 = Bits.put(ridPasid, 0, 20) | Bits.flag(ridPriv, 20);
        return new long[] {qw0, qw1, 0, 0};
    }

    public static ScalableContextEntry decode(long qw0, long qw1) {
        return new ScalableContextEntry(Bits.bit(qw0, 0), Bits.bit(qw0, 1), Bits.bit(qw0, 2), Bits.bit(qw0, 3), Bits.bit(qw0, 4),
                (int) Bits.get(qw0, 9, 3), qw0 & Bits.mask(63, 12), (int) Bits.get(qw1, 0, 20), Bits.bit(qw1, 20));
    }

    /** Address of the entry for {@code devfn} in the context table at {@code table}. */
    public static long address(long table, int devfn) {
        return table + (long) (devfn & 0x7F) * SIZE;
    }

    /** Number of PASID directory entries: 2^(PDTS+7). */
    public int directoryEntries() {
        return 1 << (pdts + 7);
    }

    /** The PDTS for a device whose PASIDs have {@code pasidBits} bits: max(0, bits - 13). */
    public static int pdtsFor(int pasidBits) {
        return Math.max(0, pasidBits - 13);
    }
}
