package dev.iommukit.backend.vtd.arch;

/** Offsets of the VT-d remapping registers (digest §1, register map) and the bits the model uses. */
public final class RegisterOffsets {
    private RegisterOffsets() {}

    public static final int VER_REG = 0x000;
    public static final int CAP_REG = 0x008;
    public static final int ECAP_REG = 0x010;
    public static final int GCMD_REG = 0x018;
    public static final int GSTS_REG = 0x01C;
    public static final int RTADDR_REG = 0x020;
    public static final int CCMD_REG = 0x028;
    public static final int FSTS_REG = 0x034;
    public static final int FECTL_REG = 0x038;
    public static final int FEDATA_REG = 0x03C;
    public static final int FEADDR_REG = 0x040;
    public static final int FEUADDR_REG = 0x044;
    public static final int IQH_REG = 0x080;
    public static final int IQT_REG = 0x088;
    public static final int IQA_REG = 0x090;
    public static final int ICS_REG = 0x09C;
    public static final int IECTL_REG = 0x0A0;
    public static final int IEDATA_REG = 0x0A4;
    public static final int IEADDR_REG = 0x0A8;
    public static final int IEUADDR_REG = 0x0AC;
    public static final int IQERCD_REG = 0x0B0;
    public static final int PQH_REG = 0x0C0;
    public static final int PQT_REG = 0x0C8;
    public static final int PQA_REG = 0x0D0;
    public static final int PRS_REG = 0x0DC;
    public static final int PECTL_REG = 0x0E0;
    public static final int PEDATA_REG = 0x0E4;
    public static final int PEADDR_REG = 0x0E8;
    public static final int PEUADDR_REG = 0x0EC;

    /** Size of the register window the model decodes. */
    public static final int WINDOW = 0x1000;

    /** GCMD/GSTS bits (digest §1.4). */
    public static final int GCMD_TE = 1 << 31;
    public static final int GCMD_SRTP = 1 << 30;
    public static final int GCMD_SFL = 1 << 29;
    public static final int GCMD_EAFL = 1 << 28;
    public static final int GCMD_WBF = 1 << 27;
    public static final int GCMD_QIE = 1 << 26;
    public static final int GCMD_IRE = 1 << 25;
    public static final int GCMD_SIRTP = 1 << 24;
    public static final int GCMD_CFI = 1 << 23;
    public static final int GSTS_TES = 1 << 31;
    public static final int GSTS_RTPS = 1 << 30;
    public static final int GSTS_FLS = 1 << 29;
    public static final int GSTS_AFLS = 1 << 28;
    public static final int GSTS_WBFS = 1 << 27;
    public static final int GSTS_QIES = 1 << 26;
    public static final int GSTS_IRES = 1 << 25;
    public static final int GSTS_IRTPS = 1 << 24;
    public static final int GSTS_CFIS = 1 << 23;
    /** What software keeps of GSTS when it writes GCMD: everything but the one-shot bits. */
    public static final int GCMD_PRESERVE_MASK = 0x96FF_FFFF;

    /** RTADDR_REG: TTM at 11:10, RTA at 63:12 (digest §1.5). */
    public static final int RTADDR_TTM_SHIFT = 10;
    public static final long RTADDR_TTM_MASK = 3L << RTADDR_TTM_SHIFT;
    public static final long RTADDR_RTA_MASK = Bits.mask(63, 12);
    public static final int TTM_LEGACY = 0;
    public static final int TTM_SCALABLE = 1;
    public static final int TTM_ABORT_DMA = 3;

    /** FSTS bits (digest §1.7). */
    public static final int FSTS_PFO = 1;
    public static final int FSTS_PPF = 1 << 1;
    public static final int FSTS_AFO = 1 << 2;
    public static final int FSTS_APF = 1 << 3;
    public static final int FSTS_IQE = 1 << 4;
    public static final int FSTS_ICE = 1 << 5;
    public static final int FSTS_ITE = 1 << 6;
    public static final int FSTS_FRI_SHIFT = 8;
    public static final int FSTS_FRI_MASK = 0xFF << FSTS_FRI_SHIFT;

    /** FECTL/IECTL bits. */
    public static final int ECTL_IM = 1 << 31;
    public static final int ECTL_IP = 1 << 30;

    /** ICS bit. */
    public static final int ICS_IWC = 1;

    /** IQA_REG fields (digest §1.9): QS 2:0, DW 11, IQA 63:12. */
    public static final long IQA_QS_MASK = 7;
    public static final long IQA_DW = 1L << 11;
    public static final long IQA_BASE_MASK = Bits.mask(63, 12);
    /** IQH/IQT: offset in bits 18:4. */
    public static final long IQ_OFFSET_MASK = Bits.mask(18, 4);

    /** PQH/PQT: byte offset of a 32-byte descriptor in bits 18:5 (digest §1.10). */
    public static final long PQ_OFFSET_MASK = Bits.mask(18, 5);
    /** PQA_REG fields: PQS 2:0 (2^PQS pages, 2^(PQS+7) descriptors), PQA 63:12. */
    public static final long PQA_PQS_MASK = 7;
    public static final long PQA_BASE_MASK = Bits.mask(63, 12);
    /** PRS_REG bits, both write-1-to-clear: pending page request, page request overflow. */
    public static final int PRS_PPR = 1;
    public static final int PRS_PRO = 1 << 1;

    /** IQERCD IQEI values (digest §1.9). */
    public static final int IQEI_TAIL_BEYOND_QUEUE = 1;
    public static final int IQEI_FETCH_ERROR = 2;
    public static final int IQEI_INVALID_TYPE = 3;
    public static final int IQEI_RESERVED_FIELD = 4;
    public static final int IQEI_WRONG_WIDTH = 5;
    public static final int IQEI_TAIL_MISALIGNED = 6;
    public static final int IQEI_INVALID_TTM = 7;

    /** IOTLB_REG bits used by the register interface (digest §1.6). */
    public static final long IOTLB_IVT = 1L << 63;
    public static final long CCMD_ICC = 1L << 63;

    /** The offset of FRCD register {@code index} for fault-recording offset field {@code fro}. */
    public static int frcd(int fro, int index) {
        return fro * 16 + index * 16;
    }

    /** IVA_REG offset for IOTLB-register offset field {@code iro}. */
    public static int iva(int iro) {
        return iro * 16;
    }

    /** IOTLB_REG offset for {@code iro}. */
    public static int iotlb(int iro) {
        return iro * 16 + 8;
    }
}
