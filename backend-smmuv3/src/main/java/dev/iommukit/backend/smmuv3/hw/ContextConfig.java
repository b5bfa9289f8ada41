package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.arch.ContextDescriptor.*;

import dev.iommukit.backend.smmuv3.arch.ContextDescriptor;
import dev.iommukit.backend.smmuv3.arch.Idr5;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;

/**
 * A context descriptor as the configuration cache holds it: decoded once, immutable. A CD with
 * V=0 or an ILLEGAL field combination is cached too and yields C_BAD_CD on every use.
 */
final class ContextConfig {
    final int ssid;
    final boolean valid;
    final boolean legal;
    final String illegalReason;
    final TtRegion ttb0;
    final TtRegion ttb1;
    final int asid;
    final boolean aset;
    final boolean affd;
    final boolean wxn;
    final boolean pan;
    final boolean record;
    final int oaBits;

    /** One VA range of a CD: its table base, granule, size, and whether walks are disabled. */
    record TtRegion(long ttb, VmsaGranule granule, int inputBits, boolean disabled, boolean tbi, int startLevel) {}

    private ContextConfig(int ssid, boolean valid, String illegalReason, TtRegion ttb0, TtRegion ttb1, long d0) {
        this.ssid = ssid;
        this.valid = valid;
        this.legal = valid && illegalReason == null;
        this.illegalReason = illegalReason;
        this.ttb0 = ttb0;
        this.ttb1 = ttb1;
        this.asid = (int) ASID.get(d0);
        this.aset = ASET.isSet(d0);
        this.affd = AFFD.isSet(d0);
        this.wxn = WXN.isSet(d0);
        this.pan = PAN.isSet(d0);
        this.record = R.isSet(d0);
        this.oaBits = Math.min(Idr5.addressBits((int) IPS.get(d0)), Idr5.addressBits(Idr5.OAS_48));
    }

    /** Decodes and checks a CD (spec §4.4) for this SMMU's ID registers. */
    static ContextConfig decode(int ssid, long[] cd) {
        long d0 = cd[0];
        if (!V.isSet(d0)) {
            return new ContextConfig(ssid, false, "V=0", null, null, d0);
        }
        int oa = Math.min(Idr5.addressBits((int) IPS.get(d0)), 48);
        TtRegion r0 = region(Range.TTB0, cd, oa);
        TtRegion r1 = region(Range.TTB1, cd, oa);
        String bad = null;
        if (!AA64.isSet(d0)) {
            bad = "AA64=0 but only AArch64 tables are supported";
        } else if (ENDI.isSet(d0)) {
            bad = "ENDI=1 but TTENDIAN is little-endian only";
        } else if (HA.isSet(d0) || HD.isSet(d0)) {
            bad = "HA/HD set but HTTU=0";
        } else if (!A.isSet(d0)) {
            bad = "A=0 with TERM_MODEL=1";
        } else if (S.isSet(d0)) {
            bad = "S=1 with STALL_MODEL=1 (no stall)";
        } else if (r0 == null) {
            bad = illegalRegion(Range.TTB0, cd, oa);
        } else if (r1 == null) {
            bad = illegalRegion(Range.TTB1, cd, oa);
        }
        return new ContextConfig(ssid, true, bad, r0, r1, d0);
    }

    /** Which of the two VA ranges. */
    enum Range { TTB0, TTB1 }

    private static TtRegion region(Range which, long[] cd, int oaBits) {
        return illegalRegion(which, cd, oaBits) == null ? buildRegion(which, cd) : null;
    }

    private static TtRegion buildRegion(Range which, long[] cd) {
        long d0 = cd[0];
        boolean first = which == Range.TTB0;
        boolean disabled = first ? EPD0.isSet(d0) : EPD1.isSet(d0);
        boolean tbi = first ? TBI0.isSet(d0) : TBI1.isSet(d0);
        if (disabled) {
            return new TtRegion(0, VmsaGranule.G4K, 0, true, tbi, 0);
        }
        VmsaGranule g = first ? VmsaGranule.fromTg0((int) TG0.get(d0)) : VmsaGranule.fromTg1((int) TG1.get(d0));
        int ia = 64 - (int) (first ? T0SZ.get(d0) : T1SZ.get(d0));
        int levels = (ia - g.shift() + g.stride() - 1) / g.stride();
        long ttb = ContextDescriptor.ttb(first ? cd[1] : cd[2]);
        return new TtRegion(ttb, g, ia, false, tbi, 4 - levels);
    }

    private static String illegalRegion(Range which, long[] cd, int oaBits) {
        long d0 = cd[0];
        boolean first = which == Range.TTB0;
        if (first ? EPD0.isSet(d0) : EPD1.isSet(d0)) {
            return null;
        }
        VmsaGranule g = first ? VmsaGranule.fromTg0((int) TG0.get(d0)) : VmsaGranule.fromTg1((int) TG1.get(d0));
        if (g == null) {
            return (first ? "TG0" : "TG1") + " reserved";
        }
        long tsz = first ? T0SZ.get(d0) : T1SZ.get(d0);
        if (tsz < 16 || tsz > 39) {
            return (first ? "T0SZ=" : "T1SZ=") + tsz + " outside 16..39";
        }
        long ttb = ContextDescriptor.ttb(first ? cd[1] : cd[2]);
        if (ttb >= 1L << oaBits) {
            return (first ? "TTB0" : "TTB1") + "=0x" + Long.toHexString(ttb) + " beyond the effective IPS";
        }
        return null;
    }
}
