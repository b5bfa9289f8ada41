package dev.iommukit.backend.smmuv3.arch;

/**
 * Command queue entries: 2 dwords, 16 bytes (spec §5): opcodes, the common and per-command fields,
 * and builders for the commands a driver issues. A built command is {@code long[]{d0, d1}}.
 */
public final class Command {
    public static final int PREFETCH_CONFIG = 0x01;
    public static final int PREFETCH_ADDR = 0x02;
    public static final int CFGI_STE = 0x03;
    public static final int CFGI_STE_RANGE = 0x04;
    public static final int CFGI_CD = 0x05;
    public static final int CFGI_CD_ALL = 0x06;
    public static final int CFGI_VMS_PIDM = 0x07;
    public static final int TLBI_NH_ALL = 0x10;
    public static final int TLBI_NH_ASID = 0x11;
    public static final int TLBI_NH_VA = 0x12;
    public static final int TLBI_NH_VAA = 0x13;
    public static final int TLBI_EL3_ALL = 0x18;
    public static final int TLBI_EL3_VA = 0x1A;
    public static final int TLBI_EL2_ALL = 0x20;
    public static final int TLBI_EL2_ASID = 0x21;
    public static final int TLBI_EL2_VA = 0x22;
    public static final int TLBI_EL2_VAA = 0x23;
    public static final int TLBI_S12_VMALL = 0x28;
    public static final int TLBI_S2_IPA = 0x2A;
    public static final int TLBI_NSNH_ALL = 0x30;
    public static final int ATC_INV = 0x40;
    public static final int PRI_RESP = 0x41;
    public static final int RESUME = 0x44;
    public static final int STALL_TERM = 0x45;
    public static final int SYNC = 0x46;

    // dword 0
    public static final Field OPCODE = Field.of("Opcode", 0, 7, 0);
    public static final Field SSEC = Field.of("SSec", 0, 10, 10);
    public static final Field SSV = Field.of("SSV", 0, 11, 11);
    public static final Field SSID = Field.of("SSID", 0, 31, 12);
    public static final Field SID = Field.of("SID", 0, 63, 32);
    public static final Field NUM = Field.of("NUM", 0, 16, 12);
    public static final Field SCALE = Field.of("SCALE", 0, 24, 20);
    public static final Field VMID = Field.of("VMID", 0, 47, 32);
    public static final Field ASID = Field.of("ASID", 0, 63, 48);
    public static final Field SYNC_CS = Field.of("CS", 0, 13, 12);
    public static final Field SYNC_MSH = Field.of("MSH", 0, 23, 22);
    public static final Field SYNC_MSIATTR = Field.of("MSIAttr", 0, 27, 24);
    public static final Field SYNC_MSIDATA = Field.of("MSIData", 0, 63, 32);
    // dword 1
    public static final Field LEAF = Field.of("Leaf", 1, 0, 0);
    public static final Field RANGE = Field.of("Range", 1, 4, 0);
    public static final Field TTL128 = Field.of("TTL128", 1, 7, 7);
    public static final Field TTL = Field.of("TTL", 1, 9, 8);
    public static final Field TG = Field.of("TG", 1, 11, 10);
    /** Addr[63:12] of TLBI_NH_VA/VAA (VA), in place. */
    public static final Field ADDR = Field.of("Addr", 1, 63, 12);
    /** Addr[51:12] of TLBI_S2_IPA (IPA), in place. */
    public static final Field IPA = Field.of("Addr", 1, 51, 12);
    /** MSIAddr[51:2] of CMD_SYNC, in place. */
    public static final Field SYNC_MSIADDR = Field.of("MSIAddr", 1, 51, 2);

    public static final int CS_SIG_NONE = 0;
    public static final int CS_SIG_IRQ = 1;
    public static final int CS_SIG_SEV = 2;
    /** CFGI_STE_RANGE Range = 31: every StreamID (CFGI_ALL). */
    public static final int RANGE_ALL = 31;

    private Command() {}

    private static long op(int opcode) {
        return OPCODE.of(opcode);
    }

    public static long[] cfgiSte(int sid, boolean leaf) {
        return new long[] {op(CFGI_STE) | SID.of(sid & 0xFFFF_FFFFL), LEAF.of(leaf ? 1 : 0)};
    }

    /** CFGI_STE_RANGE: the 2^(range+1) SIDs aligned block containing {@code sid}; 31 = all. */
    public static long[] cfgiSteRange(int sid, int range) {
        return new long[] {op(CFGI_STE_RANGE) | SID.of(sid & 0xFFFF_FFFFL), RANGE.of(range)};
    }

    /** CMD_CFGI_ALL: CFGI_STE_RANGE with Range = 31. */
    public static long[] cfgiAll() {
        return cfgiSteRange(0, RANGE_ALL);
    }

    public static long[] cfgiCd(int sid, int ssid, boolean leaf) {
        return new long[] {op(CFGI_CD) | SSID.of(ssid) | SID.of(sid & 0xFFFF_FFFFL), LEAF.of(leaf ? 1 : 0)};
    }

    public static long[] cfgiCdAll(int sid) {
        return new long[] {op(CFGI_CD_ALL) | SID.of(sid & 0xFFFF_FFFFL), 0};
    }

    public static long[] tlbiNhAll(int vmid) {
        return new long[] {op(TLBI_NH_ALL) | VMID.of(vmid), 0};
    }

    public static long[] tlbiNhAsid(int vmid, int asid) {
        return new long[] {op(TLBI_NH_ASID) | VMID.of(vmid) | ASID.of(asid), 0};
    }

    /** TLBI_NH_VA without range (TG = 0): the entries covering {@code va}. */
    public static long[] tlbiNhVa(int vmid, int asid, long va, boolean leaf) {
        return new long[] {op(TLBI_NH_VA) | VMID.of(vmid) | ASID.of(asid), (va & ADDR.mask()) | LEAF.of(leaf ? 1 : 0)};
    }

    /** TLBI_NH_VA with range: (num + 1) * 2^scale granules from {@code va}; {@code tg} 1 4K, 2 16K, 3 64K. */
    public static long[] tlbiNhVaRange(int vmid, int asid, long va, boolean leaf, int tg, int ttl, int num, int scale) {
        return new long[] {op(TLBI_NH_VA) | VMID.of(vmid) | ASID.of(asid) | NUM.of(num) | SCALE.of(scale),
            (va & ADDR.mask()) | LEAF.of(leaf ? 1 : 0) | TG.of(tg) | TTL.of(ttl)};
    }

    public static long[] tlbiS2Ipa(int vmid, long ipa, boolean leaf) {
        return new long[] {op(TLBI_S2_IPA) | VMID.of(vmid), (ipa & IPA.mask()) | LEAF.of(leaf ? 1 : 0)};
    }

    public static long[] tlbiS12Vmall(int vmid) {
        return new long[] {op(TLBI_S12_VMALL) | VMID.of(vmid), 0};
    }

    public static long[] tlbiNsnhAll() {
        return new long[] {op(TLBI_NSNH_ALL), 0};
    }

    /** CMD_SYNC with CS = SIG_NONE: completion is seen by polling CMDQ_CONS. */
    public static long[] sync() {
        return new long[] {op(SYNC) | SYNC_CS.of(CS_SIG_NONE), 0};
    }

    /** CMD_SYNC with CS = SIG_IRQ and an MSI write of {@code data} to {@code msiAddress}. */
    public static long[] syncMsi(long msiAddress, int data) {
        return new long[] {op(SYNC) | SYNC_CS.of(CS_SIG_IRQ) | SYNC_MSH.of(3) | SYNC_MSIATTR.of(0xF)
            | SYNC_MSIDATA.of(data & 0xFFFF_FFFFL), msiAddress & SYNC_MSIADDR.mask()};
    }

    /** The architectural name of an opcode, or {@code reserved}. */
    public static String name(int opcode) {
        return switch (opcode) {
            case PREFETCH_CONFIG -> "CMD_PREFETCH_CONFIG";
            case PREFETCH_ADDR -> "CMD_PREFETCH_ADDR";
            case CFGI_STE -> "CMD_CFGI_STE";
            case CFGI_STE_RANGE -> "CMD_CFGI_STE_RANGE";
            case CFGI_CD -> "CMD_CFGI_CD";
            case CFGI_CD_ALL -> "CMD_CFGI_CD_ALL";
            case CFGI_VMS_PIDM -> "CMD_CFGI_VMS_PIDM";
            case TLBI_NH_ALL -> "CMD_TLBI_NH_ALL";
            case TLBI_NH_ASID -> "CMD_TLBI_NH_ASID";
            case TLBI_NH_VA -> "CMD_TLBI_NH_VA";
            case TLBI_NH_VAA -> "CMD_TLBI_NH_VAA";
            case TLBI_EL3_ALL -> "CMD_TLBI_EL3_ALL";
            case TLBI_EL3_VA -> "CMD_TLBI_EL3_VA";
            case TLBI_EL2_ALL -> "CMD_TLBI_EL2_ALL";
            case TLBI_EL2_ASID -> "CMD_TLBI_EL2_ASID";
            case TLBI_EL2_VA -> "CMD_TLBI_EL2_VA";
            case TLBI_EL2_VAA -> "CMD_TLBI_EL2_VAA";
            case TLBI_S12_VMALL -> "CMD_TLBI_S12_VMALL";
            case TLBI_S2_IPA -> "CMD_TLBI_S2_IPA";
            case TLBI_NSNH_ALL -> "CMD_TLBI_NSNH_ALL";
            case ATC_INV -> "CMD_ATC_INV";
            case PRI_RESP -> "CMD_PRI_RESP";
            case RESUME -> "CMD_RESUME";
            case STALL_TERM -> "CMD_STALL_TERM";
            case SYNC -> "CMD_SYNC";
            default -> "reserved";
        };
    }
}
