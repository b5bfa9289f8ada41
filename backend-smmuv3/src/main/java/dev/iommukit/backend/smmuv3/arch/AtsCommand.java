package dev.iommukit.backend.smmuv3.arch;

/**
 * The two ATS/PRI commands (spec §5.2, §5.4): CMD_ATC_INV and CMD_PRI_RESP, their dword 1 fields
 * and builders. The common dword 0 fields (Opcode, SSV, SSID, SID) are those of {@link Command}.
 */
public final class AtsCommand {
    /** CMD_ATC_INV Global, d0[9] (ignored when SSV=0). */
    public static final Field ATC_GLOBAL = Field.of("Global", 0, 9, 9);
    /** CMD_ATC_INV Size, d1[5:0]: span of 4 KiB * 2^Size. */
    public static final Field ATC_SIZE = Field.of("Size", 1, 5, 0);
    /** CMD_ATC_INV Addr[63:12], in place. */
    public static final Field ATC_ADDR = Field.of("Addr", 1, 63, 12);
    /** CMD_PRI_RESP PRGIndex, d1[8:0]. */
    public static final Field PRI_PRG_INDEX = Field.of("PRGIndex", 1, 8, 0);
    /** CMD_PRI_RESP Resp, d1[13:12]. */
    public static final Field PRI_RESP = Field.of("Resp", 1, 13, 12);

    /** ATC_INV Size covering every address (a 2^64-byte span). */
    public static final int ATC_SIZE_ALL = 52;
    /** Resp = ResponseFailure (Linux: DENY): a permanent error. */
    public static final int RESP_FAILURE = 0;
    /** Resp = InvalidRequest (Linux: FAIL): a page could not be made resident. */
    public static final int RESP_INVALID = 1;
    /** Resp = Success (Linux: SUCC). */
    public static final int RESP_SUCCESS = 2;
    /** Resp = 3 is reserved: the command is ILLEGAL. */
    public static final int RESP_RESERVED = 3;

    private AtsCommand() {}

    private static long common(int opcode, int sid, boolean ssv, int ssid) {
        return Command.OPCODE.of(opcode) | Command.SID.of(sid & 0xFFFF_FFFFL) | Command.SSV.of(ssv ? 1 : 0)
                | Command.SSID.of(ssv ? ssid & 0xFFFFF : 0);
    }

    /** CMD_PRI_RESP to {@code sid} (with {@code ssid} when {@code ssv}) for group {@code prgIndex}. */
    public static long[] priResp(int sid, boolean ssv, int ssid, int prgIndex, int resp) {
        return new long[] {common(Command.PRI_RESP, sid, ssv, ssid), PRI_PRG_INDEX.of(prgIndex) | PRI_RESP.of(resp)};
    }

    /** CMD_ATC_INV of the 4 KiB * 2^{@code size} span holding {@code address} (Global = 0). */
    public static long[] atcInv(int sid, boolean ssv, int ssid, long address, int size) {
        return new long[] {common(Command.ATC_INV, sid, ssv, ssid), (address & ATC_ADDR.mask()) | ATC_SIZE.of(size)};
    }

    /** CMD_ATC_INV of everything the device cached for {@code sid} (and {@code ssid} when {@code ssv}). */
    public static long[] atcInvAll(int sid, boolean ssv, int ssid) {
        return atcInv(sid, ssv, ssid, 0, ATC_SIZE_ALL);
    }

    /**
     * CMD_ATC_INV covering {@code [iova, iova + size)}: the smallest naturally aligned power-of-two
     * span of 4 KiB pages holding the range (as Linux computes it); everything when it would not fit.
     */
    public static long[] atcInvRange(int sid, boolean ssv, int ssid, long iova, long size) {
        if (size <= 0 || Long.compareUnsigned(iova + size - 1, iova) < 0) {
            return atcInvAll(sid, ssv, ssid);
        }
        long first = iova >>> 12;
        long last = (iova + size - 1) >>> 12;
        int span = 64 - Long.numberOfLeadingZeros(first ^ last);
        if (span >= ATC_SIZE_ALL) {
            return atcInvAll(sid, ssv, ssid);
        }
        return atcInv(sid, ssv, ssid, (first >>> span) << span << 12, span);
    }

    /** The response code Resp of {@code resp} names; null for the reserved value 3. */
    public static String respName(int resp) {
        return switch (resp) {
            case RESP_FAILURE -> "ResponseFailure";
            case RESP_INVALID -> "InvalidRequest";
            case RESP_SUCCESS -> "Success";
            default -> null;
        };
    }
}
