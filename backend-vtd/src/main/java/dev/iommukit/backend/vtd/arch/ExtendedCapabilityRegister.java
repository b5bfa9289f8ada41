package dev.iommukit.backend.vtd.arch;

/**
 * ECAP_REG (offset 0x10), digest §1.3: the fields the model reports, with codec.
 *
 * @param c page-walk coherency (legacy)
 * @param qi queued invalidation
 * @param dt device-TLB
 * @param ir interrupt remapping
 * @param pt pass-through
 * @param sc snoop control
 * @param iro IOTLB register offset in 16-byte units
 * @param nest nested translation
 * @param prs page requests
 * @param ers execute requests
 * @param srs supervisor requests
 * @param pss PASID width minus one
 * @param pasid PASID support
 * @param pds page-request drain
 * @param smts scalable-mode translation
 * @param slads SL accessed/dirty
 * @param slts SL translation in scalable mode
 * @param flts FL translation
 * @param smpwcs scalable-mode page-walk coherency
 * @param rps RID_PASID supported
 */
public record ExtendedCapabilityRegister(boolean c, boolean qi, boolean dt, boolean ir, boolean pt, boolean sc, int iro, boolean nest,
                                         boolean prs, boolean ers, boolean srs, int pss, boolean pasid, boolean pds, boolean smts,
                                         boolean slads, boolean slts, boolean flts, boolean smpwcs, boolean rps) {
    public long encode() {
        return Bits.flag(c, 0) | Bits.flag(qi, 1) | Bits.flag(dt, 2) | Bits.flag(ir, 3) | Bits.flag(pt, 6) | Bits.flag(sc, 7)
                | Bits.put(iro, 8, 10) | Bits.flag(nest, 26) | Bits.flag(prs, 29) | Bits.flag(ers, 30) | Bits.flag(srs, 31)
                | Bits.put(pss, 35, 5) | Bits.flag(pasid, 40) | Bits.flag(pds, 42) | Bits.flag(smts, 43) | Bits.flag(slads, 45)
                | Bits.flag(slts, 46) | Bits.flag(flts, 47) | Bits.flag(smpwcs, 48) | Bits.flag(rps, 49);
    }

    public static ExtendedCapabilityRegister decode(long v) {
        return new ExtendedCapabilityRegister(Bits.bit(v, 0), Bits.bit(v, 1), Bits.bit(v, 2), Bits.bit(v, 3), Bits.bit(v, 6),
                Bits.bit(v, 7), (int) Bits.get(v, 8, 10), Bits.bit(v, 26), Bits.bit(v, 29), Bits.bit(v, 30), Bits.bit(v, 31),
                (int) Bits.get(v, 35, 5), Bits.bit(v, 40), Bits.bit(v, 42), Bits.bit(v, 43), Bits.bit(v, 45), Bits.bit(v, 46),
                Bits.bit(v, 47), Bits.bit(v, 48), Bits.bit(v, 49));
    }

    /** PASID width in bits: PSS + 1. */
    public int pasidBits() {
        return pss + 1;
    }
}
