package dev.iommukit.guest;

import dev.iommukit.spi.error.IommuException;

/**
 * An SMMUv3 context descriptor as a guest writes it into its own CD table: the fields of dwords 0,
 * 1 and 3 (SMMUv3 architecture, section 5.4 CD; iommukit digest spec/smmuv3.md section 4), encoded
 * here from the architecture and not borrowed from a backend. Fields not listed (ENDI, T1SZ, TG1,
 * IR1/OR1/SH1, WXN, UWXN, TBI, PAN, TTB1, AMAIR, PARTID ...) are written as 0. Addresses are
 * guest-physical (IPA): a nested walk sends TTB0 and every table through stage 2.
 *
 * <p>Dword 0: T0SZ [5:0], TG0 [7:6], IR0 [9:8], OR0 [11:10], SH0 [13:12], EPD0 [14], EPD1 [30],
 * V [31], IPS [34:32], AFFD [35], AA64 [41], HD [42], HA [43], S [44], R [45], A [46], ASET [47],
 * ASID [63:48]. Dword 1: TTB0 [51:4]. Dword 3: MAIR0 [31:0], MAIR1 [63:32].
 */
public record GuestContextDescriptor(boolean valid, int t0sz, int tg0, int ir0, int or0, int sh0, boolean epd0,
                                     boolean epd1, int ips, boolean affd, boolean aa64, boolean hd, boolean ha,
                                     boolean stall, boolean record, boolean abort, boolean aset, int asid, long ttb0,
                                     long mair) {
    /** Bytes of one CD: 8 dwords. */
    public static final int SIZE = 64;
    /** TG0 encoding of the 4 KiB granule. */
    public static final int TG0_4K = 0;
    /** IR0/OR0 encoding: Normal, write-back read/write-allocate. */
    public static final int CACHE_WBWA = 1;
    /** SH0 encoding: inner shareable. */
    public static final int SH_INNER = 3;
    /** IPS (OAS encoding) for a 48-bit intermediate physical address: 5. */
    public static final int IPS_48 = 5;
    /** Bits of TTB0 kept in dword 1: [51:4]. */
    public static final long TTB0_MASK = 0x000F_FFFF_FFFF_FFF0L;

    public GuestContextDescriptor {
        field("t0sz", t0sz, 6);
        field("tg0", tg0, 2);
        field("ir0", ir0, 2);
        field("or0", or0, 2);
        field("sh0", sh0, 2);
        field("ips", ips, 3);
        field("asid", asid, 16);
        if ((ttb0 & ~TTB0_MASK) != 0) {
            throw IommuException.invalid("ttb0", "0x" + Long.toHexString(ttb0) + " must be 16-byte aligned and below 2^52 (CD TTB0[51:4])");
        }
    }

    private static void field(String name, int value, int bits) {
        if (value < 0 || value >= 1 << bits) {
            throw IommuException.invalid(name, value + " does not fit the " + bits + "-bit CD field");
        }
    }

    /**
     * A valid CD for a guest DMA address space on {@code table}'s VMSAv8-64 4 KiB 48-bit tables,
     * as a Linux guest writes one for a DMA domain: V=1, T0SZ=16, TG0=4K, IR0=OR0=WBWA, SH0=ISH,
     * EPD1=1 (no TTB1 walks), IPS=48 bits, AA64=1, R=1 (record faults), A=1 (abort terminated
     * transactions), S=0 (no stall), ASET=1 (an SMMU-private ASID: nothing broadcasts CPU TLB
     * maintenance to it), AFFD=0 (leaves carry AF=1), HA=HD=0, TTB0 = the root's GPA, MAIR with
     * {@code AttrIndx 1} = Normal WB (the attribute index the leaves use).
     */
    public static GuestContextDescriptor forTable(GuestPageTable table, int asid) {
        if (table.format() != GuestPageTable.Format.AARCH64_4K_48BIT) {
            throw IommuException.invalid("table", table + " is " + table.format() + "; a CD's TTB0 needs AARCH64_4K_48BIT tables");
        }
        return new GuestContextDescriptor(true, 16, TG0_4K, CACHE_WBWA, CACHE_WBWA, SH_INNER, false, true, IPS_48, false, true,
                false, false, false, true, true, true, asid, table.root(), dev.iommukit.spi.pgtable.vmsa.VmsaFormat.MAIR);
    }

    /** The eight dwords of this CD. */
    public long[] encode() {
        long d0 = t0sz
                | (long) tg0 << 6
                | (long) ir0 << 8
                | (long) or0 << 10
                | (long) sh0 << 12
                | bit(epd0, 14)
                | bit(epd1, 30)
                | bit(valid, 31)
                | (long) ips << 32
                | bit(affd, 35)
                | bit(aa64, 41)
                | bit(hd, 42)
                | bit(ha, 43)
                | bit(stall, 44)
                | bit(record, 45)
                | bit(abort, 46)
                | bit(aset, 47)
                | (long) asid << 48;
        long[] cd = new long[8];
        cd[0] = d0;
        cd[1] = ttb0 & TTB0_MASK;
        cd[3] = mair;
        return cd;
    }

    /** The fields of {@code dwords} (at least 4) that this record holds; other bits are ignored. */
    public static GuestContextDescriptor decode(long[] dwords) {
        long d0 = dwords[0];
        return new GuestContextDescriptor(on(d0, 31), (int) (d0 & 0x3F), (int) (d0 >>> 6) & 3, (int) (d0 >>> 8) & 3,
                (int) (d0 >>> 10) & 3, (int) (d0 >>> 12) & 3, on(d0, 14), on(d0, 30), (int) (d0 >>> 32) & 7, on(d0, 35),
                on(d0, 41), on(d0, 42), on(d0, 43), on(d0, 44), on(d0, 45), on(d0, 46), on(d0, 47), (int) (d0 >>> 48) & 0xFFFF,
                dwords[1] & TTB0_MASK, dwords[3]);
    }

    private static long bit(boolean set, int position) {
        return set ? 1L << position : 0;
    }

    private static boolean on(long word, int position) {
        return (word >>> position & 1) != 0;
    }
}
