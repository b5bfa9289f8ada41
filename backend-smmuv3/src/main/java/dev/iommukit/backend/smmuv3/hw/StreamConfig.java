package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.arch.StreamTableEntry.*;

import dev.iommukit.backend.smmuv3.arch.Idr5;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A stream table entry as the configuration cache holds it: decoded once, immutable apart from the
 * small direct-mapped cache of the CDs fetched through it (discarded with it by CFGI_STE). V=0 and
 * ILLEGAL entries are cached too and give C_BAD_STE on every use.
 */
final class StreamConfig {
    static final int CD_SLOTS = 64;

    enum Kind { INVALID, ILLEGAL, ABORT, BYPASS, STAGE1, STAGE2, NESTED }

    /** Stage 2 walk parameters from STE dword 2/3 ("VTCR" and S2TTB). */
    record Stage2(long ttb, VmsaGranule granule, int inputBits, int startLevel, int oaBits, boolean affd, boolean record, boolean ptw) {}

    final int sid;
    final Kind kind;
    final String illegalReason;
    final int s1Fmt;
    final long contextPtr;
    final int cdMax;
    final int s1dss;
    final int vmid;
    /** Effective STE.EATS: 0 (ATS refused) or 1 (full ATS); 0b11 behaves as 0 without DPT. */
    final int eats;
    /** STE.PPAR: the PRG response to a request with PASID carries it (overflow auto-responses). */
    final boolean ppar;
    final Stage2 s2;
    private final AtomicReferenceArray<ContextConfig> cds = new AtomicReferenceArray<>(CD_SLOTS);
    private final AtomicLong cdEpoch = new AtomicLong();

    private StreamConfig(int sid, Kind kind, String illegalReason, long[] ste, Stage2 s2) {
        this.sid = sid;
        this.kind = kind;
        this.illegalReason = illegalReason;
        this.s1Fmt = (int) S1FMT.get(ste[0]) == 3 ? 0 : (int) S1FMT.get(ste[0]);
        this.contextPtr = contextPointer(ste[0]);
        this.cdMax = (int) S1_CD_MAX.get(ste[0]);
        this.s1dss = (int) S1DSS.get(ste[1]) == 3 ? S1DSS_TERMINATE : (int) S1DSS.get(ste[1]);
        this.vmid = (int) S2VMID.get(ste[2]);
        this.eats = (int) EATS.get(ste[1]) == EATS_FULL ? EATS_FULL : 0;
        this.ppar = PPAR.isSet(ste[1]);
        this.s2 = s2;
    }

    /** The cached CD for {@code ssid}, or null. Lock-free, allocation-free. */
    ContextConfig cd(int ssid) {
        ContextConfig c = cds.get(ssid & (CD_SLOTS - 1));
        return c != null && c.ssid == ssid ? c : null;
    }

    long cdEpoch() {
        return cdEpoch.get();
    }

    /** Caches {@code cd} unless a CFGI_CD raced with its fetch. */
    void fillCd(ContextConfig cd, long epochAtFetch) {
        int i = cd.ssid & (CD_SLOTS - 1);
        cds.set(i, cd);
        if (cdEpoch.get() != epochAtFetch) {
            cds.compareAndSet(i, cd, null);
        }
    }

    void invalidateCd(int ssid) {
        cdEpoch.incrementAndGet();
        int i = ssid & (CD_SLOTS - 1);
        ContextConfig c = cds.get(i);
        if (c != null && c.ssid == ssid) {
            cds.compareAndSet(i, c, null);
        }
    }

    void invalidateAllCds() {
        cdEpoch.incrementAndGet();
        for (int i = 0; i < CD_SLOTS; i++) {
            cds.set(i, null);
        }
    }

    /** Decodes and checks an STE (spec §3.5) against this SMMU's ID registers. */
    static StreamConfig decode(int sid, long[] ste, int ssidBits) {
        if (!V.isSet(ste[0])) {
            return new StreamConfig(sid, Kind.INVALID, "V=0", ste, null);
        }
        int config = (int) CONFIG.get(ste[0]);
        if (config < CONFIG_BYPASS) {
            return new StreamConfig(sid, Kind.ABORT, null, ste, null);
        }
        if (config == CONFIG_BYPASS) {
            return new StreamConfig(sid, Kind.BYPASS, null, ste, null);
        }
        String bad = null;
        if (EATS.get(ste[1]) == EATS_SPLIT) {
            bad = "EATS=0b10 (split-stage ATS) but IDR0.NS1ATS=1";
        } else if (STRW.get(ste[1]) != 0) {
            bad = "STRW=" + STRW.get(ste[1]) + " but only NS-EL1 is implemented (HYP=0)";
        }
        Stage2 s2 = null;
        if (bad == null && (config == CONFIG_S1 || config == CONFIG_NESTED)) {
            if (S1_CD_MAX.get(ste[0]) > ssidBits) {
                bad = "S1CDMax=" + S1_CD_MAX.get(ste[0]) + " > SSIDSIZE=" + ssidBits;
            } else if (contextPointer(ste[0]) >>> 48 != 0) {
                bad = "S1ContextPtr beyond the 48-bit OAS";
            } else if (S1STALLD.isSet(ste[1])) {
                bad = "S1STALLD=1 with STALL_MODEL=1";
            }
        }
        if (bad == null && (config == CONFIG_S2 || config == CONFIG_NESTED)) {
            bad = stage2Problem(ste);
            if (bad == null) {
                s2 = stage2(ste);
            }
        }
        if (bad != null) {
            return new StreamConfig(sid, Kind.ILLEGAL, bad, ste, null);
        }
        Kind kind = config == CONFIG_S1 ? Kind.STAGE1 : config == CONFIG_S2 ? Kind.STAGE2 : Kind.NESTED;
        return new StreamConfig(sid, kind, null, ste, s2);
    }

    /** Why the stage 2 fields make the STE ILLEGAL, or null when they are legal. */
    private static String stage2Problem(long[] ste) {
        long d2 = ste[2];
        if (!S2AA64.isSet(d2)) {
            return "S2AA64=0 but only AArch64 tables are supported";
        }
        if (S2ENDI.isSet(d2)) {
            return "S2ENDI=1 but TTENDIAN is little-endian only";
        }
        if (S2HA.isSet(d2) || S2HD.isSet(d2)) {
            return "S2HA/S2HD set but HTTU=0";
        }
        if (S2S.isSet(d2)) {
            return "S2S=1 with STALL_MODEL=1 (no stall)";
        }
        VmsaGranule g = VmsaGranule.fromTg0((int) S2TG.get(d2));
        if (g == null) {
            return "S2TG=3 reserved";
        }
        int t0sz = (int) S2T0SZ.get(d2);
        if (t0sz < 16 || t0sz > 39) {
            return "S2T0SZ=" + t0sz + " outside 16..39";
        }
        int ia = 64 - t0sz;
        int sl0 = (int) S2SL0.get(d2);
        if (sl0 == 3) {
            return "S2SL0=3 reserved without STT/DS";
        }
        int start = startLevel(g, sl0);
        if (start < 0 || (g == VmsaGranule.G64K && start == 0)) {
            return "S2SL0=" + sl0 + " selects a start level the granule does not have";
        }
        int resolved = (4 - start) * g.stride() + g.shift();
        if (ia < resolved - g.stride() + 1 || ia > resolved + 4) {
            return "S2SL0=" + sl0 + " inconsistent with S2T0SZ=" + t0sz + " for the " + g.label() + " granule";
        }
        if (s2ttb(ste[3]) >= 1L << outputBits(d2)) {
            return "S2TTB=0x" + Long.toHexString(s2ttb(ste[3])) + " beyond the effective S2PS";
        }
        return null;
    }

    private static int startLevel(VmsaGranule g, int sl0) {
        return (g == VmsaGranule.G4K ? 2 : 3) - sl0;
    }

    private static int outputBits(long d2) {
        return Math.min(Idr5.addressBits((int) S2PS.get(d2)), 48);
    }

    /** The stage 2 walk parameters of an STE whose stage 2 fields are legal. */
    private static Stage2 stage2(long[] ste) {
        long d2 = ste[2];
        VmsaGranule g = VmsaGranule.fromTg0((int) S2TG.get(d2));
        return new Stage2(s2ttb(ste[3]), g, 64 - (int) S2T0SZ.get(d2), startLevel(g, (int) S2SL0.get(d2)), outputBits(d2),
                S2AFFD.isSet(d2), S2R.isSet(d2), S2PTW.isSet(d2));
    }
}
