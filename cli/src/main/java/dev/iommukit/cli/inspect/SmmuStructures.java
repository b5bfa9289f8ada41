package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.Bits.address;
import static dev.iommukit.cli.inspect.Bits.b;
import static dev.iommukit.cli.inspect.Bits.binary;
import static dev.iommukit.cli.inspect.Bits.bit;
import static dev.iommukit.cli.inspect.Bits.field;
import static dev.iommukit.cli.inspect.Ranges.hex;

/** SMMUv3 in-memory structure codecs (spec/smmuv3.md §2–§4), decoding only: the fields the walker uses. */
final class SmmuStructures {
    private SmmuStructures() {}

    /** OAS / IPS / S2PS encoding (§1.4) to bits; 7 = 56. */
    static int addressSizeBits(int encoding) {
        return switch (encoding & 7) {
            case 0 -> 32;
            case 1 -> 36;
            case 2 -> 40;
            case 3 -> 42;
            case 4 -> 44;
            case 5 -> 48;
            case 6 -> 52;
            default -> 56;
        };
    }

    /** Level-1 stream table descriptor (§2): Span [4:0], L2Ptr [51:6]. */
    record L1Std(long raw) {
        int span() {
            return (int) field(raw, 4, 0);
        }

        long l2Ptr() {
            return address(raw, 51, 6);
        }

        String describe(long at) {
            return "L1STD @" + hex(at) + ": Span=" + span() + " L2Ptr=" + hex(l2Ptr());
        }
    }

    /** Stream table entry (§3), 8 dwords. */
    record Ste(long[] d) {
        boolean valid() {
            return bit(d[0], 0);
        }

        int config() {
            return (int) field(d[0], 3, 1);
        }

        int s1Fmt() {
            return (int) field(d[0], 5, 4);
        }

        long s1ContextPtr() {
            return address(d[0], 51, 6);
        }

        int s1CdMax() {
            return (int) field(d[0], 63, 59);
        }

        int s1Dss() {
            return (int) field(d[1], 1, 0);
        }

        boolean s1StallD() {
            return bit(d[1], 27);
        }

        int eats() {
            return (int) field(d[1], 29, 28);
        }

        int strw() {
            return (int) field(d[1], 31, 30);
        }

        int shcfg() {
            return (int) field(d[1], 45, 44);
        }

        int privcfg() {
            return (int) field(d[1], 49, 48);
        }

        int instcfg() {
            return (int) field(d[1], 51, 50);
        }

        int s2Vmid() {
            return (int) field(d[2], 15, 0);
        }

        int s2T0sz() {
            return (int) field(d[2], 37, 32);
        }

        int s2Sl0() {
            return (int) field(d[2], 39, 38);
        }

        int s2Tg() {
            return (int) field(d[2], 47, 46);
        }

        int s2Ps() {
            return (int) field(d[2], 50, 48);
        }

        boolean s2Aa64() {
            return bit(d[2], 51);
        }

        boolean s2Endi() {
            return bit(d[2], 52);
        }

        boolean s2Affd() {
            return bit(d[2], 53);
        }

        boolean s2Ptw() {
            return bit(d[2], 54);
        }

        boolean s2Hd() {
            return bit(d[2], 55);
        }

        boolean s2Ha() {
            return bit(d[2], 56);
        }

        boolean s2S() {
            return bit(d[2], 57);
        }

        boolean s2R() {
            return bit(d[2], 58);
        }

        boolean s2Ds() {
            return bit(d[3], 3);
        }

        long s2Ttb() {
            return address(d[3], 51, 4);
        }

        boolean usesStage1() {
            return config() == 0b101 || config() == 0b111;
        }

        boolean usesStage2() {
            return config() == 0b110 || config() == 0b111;
        }

        static String configName(int config) {
            return switch (config) {
                case 0b100 -> "bypass";
                case 0b101 -> "S1 only";
                case 0b110 -> "S2 only";
                case 0b111 -> "nested";
                case 0b000 -> "abort";
                default -> "reserved, as abort";
            };
        }

        static String s1DssName(int dss) {
            return switch (dss) {
                case 0 -> "terminate";
                case 1 -> "bypass";
                case 2 -> "SSID0";
                default -> "reserved, as terminate";
            };
        }

        static String granuleName(int tg) {
            return switch (tg) {
                case 0 -> "4K";
                case 1 -> "64K";
                case 2 -> "16K";
                default -> "reserved";
            };
        }

        String describe(long at) {
            StringBuilder s = new StringBuilder("STE @" + hex(at) + ": V=" + b(d[0], 0) + " Config="
                    + binary(config(), 3) + "(" + configName(config()) + ")");
            if (usesStage1()) {
                s.append(" S1Fmt=").append(s1Fmt()).append(" S1ContextPtr=").append(hex(s1ContextPtr()))
                        .append(" S1CDMax=").append(s1CdMax()).append(" S1DSS=").append(binary(s1Dss(), 2))
                        .append('(').append(s1DssName(s1Dss())).append(')').append(" S1STALLD=").append(b(d[1], 27));
            }
            s.append(" EATS=").append(eats()).append(" STRW=").append(strw())
                    .append(strw() == 0 ? "(NS-EL1)" : strw() == 2 ? "(EL2)" : "(reserved)")
                    .append(" SHCFG=").append(shcfg()).append(" PRIVCFG=").append(privcfg())
                    .append(" INSTCFG=").append(instcfg());
            if (usesStage2()) {
                s.append(" S2VMID=").append(s2Vmid()).append(" S2T0SZ=").append(s2T0sz())
                        .append(" S2SL0=").append(s2Sl0()).append(" S2TG=").append(s2Tg())
                        .append('(').append(granuleName(s2Tg())).append(')').append(" S2PS=").append(s2Ps())
                        .append('(').append(addressSizeBits(s2Ps())).append("-bit)").append(" S2AA64=")
                        .append(b(d[2], 51)).append(" S2ENDI=").append(b(d[2], 52)).append(" S2AFFD=")
                        .append(b(d[2], 53)).append(" S2PTW=").append(b(d[2], 54)).append(" S2HD=")
                        .append(b(d[2], 55)).append(" S2HA=").append(b(d[2], 56)).append(" S2S=")
                        .append(b(d[2], 57)).append(" S2R=").append(b(d[2], 58)).append(" S2DS=")
                        .append(b(d[3], 3)).append(" S2TTB=").append(hex(s2Ttb()));
            }
            return s.toString();
        }
    }

    /** Level-1 context descriptor (§4.1): V [0], L2Ptr [51:12]. */
    record L1Cd(long raw) {
        boolean valid() {
            return bit(raw, 0);
        }

        long l2Ptr() {
            return address(raw, 51, 12);
        }

        String describe(long at) {
            return "L1CD @" + hex(at) + ": V=" + b(raw, 0) + " L2Ptr=" + hex(l2Ptr());
        }
    }

    /** Context descriptor (§4.2, §4.3), 8 dwords. */
    record Cd(long[] d) {
        int t0sz() {
            return (int) field(d[0], 5, 0);
        }

        int tg0() {
            return (int) field(d[0], 7, 6);
        }

        boolean epd0() {
            return bit(d[0], 14);
        }

        boolean endi() {
            return bit(d[0], 15);
        }

        int t1sz() {
            return (int) field(d[0], 21, 16);
        }

        int tg1() {
            return (int) field(d[0], 23, 22);
        }

        boolean epd1() {
            return bit(d[0], 30);
        }

        boolean valid() {
            return bit(d[0], 31);
        }

        int ips() {
            return (int) field(d[0], 34, 32);
        }

        boolean affd() {
            return bit(d[0], 35);
        }

        boolean tbi0() {
            return bit(d[0], 38);
        }

        boolean tbi1() {
            return bit(d[0], 39);
        }

        boolean pan() {
            return bit(d[0], 40);
        }

        boolean aa64() {
            return bit(d[0], 41);
        }

        boolean hd() {
            return bit(d[0], 42);
        }

        boolean ha() {
            return bit(d[0], 43);
        }

        boolean s() {
            return bit(d[0], 44);
        }

        boolean r() {
            return bit(d[0], 45);
        }

        boolean a() {
            return bit(d[0], 46);
        }

        int asid() {
            return (int) field(d[0], 63, 48);
        }

        boolean had0() {
            return bit(d[1], 1);
        }

        long ttb0() {
            return address(d[1], 51, 4);
        }

        boolean had1() {
            return bit(d[2], 1);
        }

        long ttb1() {
            return address(d[2], 51, 4);
        }

        boolean ds() {
            return bit(d[2], 58);
        }

        long mair() {
            return d[3];
        }

        /** TG0 encoding: 0 4K, 1 64K, 2 16K; granule bits or −1 (reserved). */
        static int tg0Bits(int tg0) {
            return switch (tg0) {
                case 0 -> 12;
                case 1 -> 16;
                case 2 -> 14;
                default -> -1;
            };
        }

        /** TG1's different encoding: 1 16K, 2 4K, 3 64K; granule bits or −1 (reserved). */
        static int tg1Bits(int tg1) {
            return switch (tg1) {
                case 1 -> 14;
                case 2 -> 12;
                case 3 -> 16;
                default -> -1;
            };
        }

        String describe(long at) {
            return "CD @" + hex(at) + ": V=" + b(d[0], 31) + " T0SZ=" + t0sz() + " TG0=" + tg0() + "("
                    + (tg0Bits(tg0()) < 0 ? "reserved" : Ranges.size(1L << tg0Bits(tg0()))) + ") EPD0=" + b(d[0], 14)
                    + " T1SZ=" + t1sz() + " TG1=" + tg1() + " EPD1=" + b(d[0], 30) + " ENDI=" + b(d[0], 15)
                    + " IPS=" + ips() + "(" + addressSizeBits(ips()) + "-bit) AFFD=" + b(d[0], 35)
                    + " TBI0=" + b(d[0], 38) + " TBI1=" + b(d[0], 39) + " PAN=" + b(d[0], 40)
                    + " AA64=" + b(d[0], 41) + " HD=" + b(d[0], 42) + " HA=" + b(d[0], 43) + " S=" + b(d[0], 44)
                    + " R=" + b(d[0], 45) + " A=" + b(d[0], 46) + " ASET=" + b(d[0], 47) + " ASID=" + asid()
                    + " HAD0=" + b(d[1], 1) + " TTB0=" + hex(ttb0()) + " HAD1=" + b(d[2], 1) + " TTB1=" + hex(ttb1())
                    + " DS=" + b(d[2], 58) + " MAIR=" + hex(mair());
        }
    }
}
