package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.Bits.address;
import static dev.iommukit.cli.inspect.Bits.b;
import static dev.iommukit.cli.inspect.Bits.bit;
import static dev.iommukit.cli.inspect.Bits.binary;
import static dev.iommukit.cli.inspect.Bits.field;
import static dev.iommukit.cli.inspect.Ranges.hex;

/** VT-d in-memory structure codecs (spec/vtd.md §2–§5), decoding only. Bit numbers are absolute over qwords. */
final class VtdStructures {
    private VtdStructures() {}

    /** Scalable-mode root entry (§2): LP [0], LCTP [63:12], UP [64], UCTP [127:76]. */
    record ScalableRootEntry(long q0, long q1) {
        boolean lowerPresent() {
            return bit(q0, 0);
        }

        long lowerContextTable() {
            return address(q0, 63, 12);
        }

        boolean upperPresent() {
            return bit(q1, 0);
        }

        long upperContextTable() {
            return address(q1, 63, 12);
        }

        /** Reserved bits of the half used by {@code devfn}: 11:1 (lower) or 75:65 (upper). */
        long reservedBits(int devfn) {
            return devfn < 0x80 ? field(q0, 11, 1) : field(q1, 11, 1);
        }

        String describe(long at) {
            return "root entry @" + hex(at) + ": LP=" + b(q0, 0) + " LCTP=" + hex(lowerContextTable()) + " UP="
                    + b(q1, 0) + " UCTP=" + hex(upperContextTable());
        }
    }

    /** Scalable-mode context entry (§3.2), 4 qwords. */
    record ScalableContextEntry(long[] q) {
        boolean present() {
            return bit(q[0], 0);
        }

        boolean fpd() {
            return bit(q[0], 1);
        }

        boolean dte() {
            return bit(q[0], 2);
        }

        boolean paside() {
            return bit(q[0], 3);
        }

        boolean pre() {
            return bit(q[0], 4);
        }

        int pdts() {
            return (int) field(q[0], 11, 9);
        }

        long pasidDirPtr() {
            return address(q[0], 63, 12);
        }

        int ridPasid() {
            return (int) field(q[1], 19, 0);
        }

        boolean ridPriv() {
            return bit(q[1], 20);
        }

        /** Bits 8:5, 127:85 and 255:128 are reserved (3.x). */
        boolean reservedSet() {
            return field(q[0], 8, 5) != 0 || field(q[1], 63, 21) != 0 || q[2] != 0 || q[3] != 0;
        }

        /** Directory entries: 2^(PDTS+7). */
        long directoryEntries() {
            return 1L << (pdts() + 7);
        }

        String describe(long at) {
            return "context entry @" + hex(at) + ": P=" + b(q[0], 0) + " FPD=" + b(q[0], 1) + " DTE=" + b(q[0], 2)
                    + " PASIDE=" + b(q[0], 3) + " PRE=" + b(q[0], 4) + " PDTS=" + pdts() + "(" + directoryEntries()
                    + " dir entries) PASIDDIRPTR=" + hex(pasidDirPtr()) + " RID_PASID=" + ridPasid() + " RID_PRIV="
                    + b(q[1], 20);
        }
    }

    /** Legacy root entry (§2): P [0], CTP [63:12]. */
    record LegacyRootEntry(long q0, long q1) {
        String describe(long at) {
            return "root entry @" + hex(at) + " (legacy): P=" + b(q0, 0) + " CTP=" + hex(address(q0, 63, 12));
        }
    }

    /** Legacy context entry (§3.1): P [0], FPD [1], TT [3:2], SLPTPTR [63:12], AW [66:64], DID [87:72]. */
    record LegacyContextEntry(long q0, long q1) {
        boolean present() {
            return bit(q0, 0);
        }

        int tt() {
            return (int) field(q0, 3, 2);
        }

        long slptptr() {
            return address(q0, 63, 12);
        }

        int aw() {
            return (int) field(q1, 2, 0);
        }

        int did() {
            return (int) field(q1, 23, 8);
        }

        String describe(long at) {
            return "context entry @" + hex(at) + " (legacy): P=" + b(q0, 0) + " FPD=" + b(q0, 1) + " TT="
                    + binary(tt(), 2) + " SLPTPTR=" + hex(slptptr()) + " AW=" + binary(aw(), 3) + " DID=" + did();
        }
    }

    /** PASID directory entry (§4): P [0], FPD [1], SMPTBLPTR [63:12]; 11:2 reserved. */
    record PasidDirEntry(long q) {
        boolean present() {
            return bit(q, 0);
        }

        long tablePtr() {
            return address(q, 63, 12);
        }

        boolean reservedSet() {
            return field(q, 11, 2) != 0;
        }

        String describe(long at) {
            return "PASID-dir entry @" + hex(at) + ": P=" + b(q, 0) + " FPD=" + b(q, 1) + " SMPTBLPTR="
                    + hex(tablePtr());
        }
    }

    /** Scalable-mode PASID table entry (§5), 8 qwords. */
    record PasidEntry(long[] q) {
        boolean present() {
            return bit(q[0], 0);
        }

        int aw() {
            return (int) field(q[0], 4, 2);
        }

        int pgtt() {
            return (int) field(q[0], 8, 6);
        }

        boolean slade() {
            return bit(q[0], 9);
        }

        long slptptr() {
            return address(q[0], 63, 12);
        }

        int did() {
            return (int) field(q[1], 15, 0);
        }

        boolean pwsnp() {
            return bit(q[1], 23);
        }

        boolean sre() {
            return bit(q[2], 0);
        }

        boolean ere() {
            return bit(q[2], 1);
        }

        int flpm() {
            return (int) field(q[2], 3, 2);
        }

        boolean wpe() {
            return bit(q[2], 4);
        }

        boolean eafe() {
            return bit(q[2], 7);
        }

        long flptptr() {
            return address(q[2], 63, 12);
        }

        /** Bits 11:10, 86:80, 139:136 and 511:192 are reserved (3.x). */
        boolean reservedSet() {
            return field(q[0], 11, 10) != 0 || field(q[1], 22, 16) != 0 || field(q[2], 11, 8) != 0
                    || q[3] != 0 || q[4] != 0 || q[5] != 0 || q[6] != 0 || q[7] != 0;
        }

        static String pgttName(int pgtt) {
            return switch (pgtt) {
                case 1 -> "FL only";
                case 2 -> "SL only";
                case 3 -> "nested";
                case 4 -> "pass-through";
                default -> "reserved";
            };
        }

        String describe(long at) {
            return "PASID entry @" + hex(at) + ": P=" + b(q[0], 0) + " FPD=" + b(q[0], 1) + " AW=" + binary(aw(), 3)
                    + " SLEE=" + b(q[0], 5) + " PGTT=" + binary(pgtt(), 3) + "(" + pgttName(pgtt()) + ") SLADE="
                    + b(q[0], 9) + " SLPTPTR=" + hex(slptptr()) + " DID=" + did() + " PWSNP=" + b(q[1], 23)
                    + " PGSNP=" + b(q[1], 24) + " SRE=" + b(q[2], 0) + " ERE=" + b(q[2], 1) + " FLPM=" + flpm()
                    + " WPE=" + b(q[2], 4) + " NXE=" + b(q[2], 5) + " SMEP=" + b(q[2], 6) + " EAFE=" + b(q[2], 7)
                    + " FLPTPTR=" + hex(flptptr());
        }
    }
}
