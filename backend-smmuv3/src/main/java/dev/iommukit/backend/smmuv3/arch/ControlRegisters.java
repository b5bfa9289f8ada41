package dev.iommukit.backend.smmuv3.arch;

/** Fields of CR0/CR0ACK, CR1, CR2, GBPA, IRQ_CTRL/IRQ_CTRLACK and GERROR/GERRORN (spec §1.1, §1.5, §1.6). */
public final class ControlRegisters {
    public static final Field CR0_SMMUEN = Field.bit("SMMUEN", 0);
    public static final Field CR0_PRIQEN = Field.bit("PRIQEN", 1);
    public static final Field CR0_EVENTQEN = Field.bit("EVENTQEN", 2);
    public static final Field CR0_CMDQEN = Field.bit("CMDQEN", 3);
    public static final Field CR0_ATSCHK = Field.bit("ATSCHK", 4);
    public static final Field CR0_VMW = Field.of("VMW", 8, 6);
    public static final Field CR0_DPT_WALK_EN = Field.bit("DPT_WALK_EN", 10);

    public static final Field CR1_QUEUE_IC = Field.of("QUEUE_IC", 1, 0);
    public static final Field CR1_QUEUE_OC = Field.of("QUEUE_OC", 3, 2);
    public static final Field CR1_QUEUE_SH = Field.of("QUEUE_SH", 5, 4);
    public static final Field CR1_TABLE_IC = Field.of("TABLE_IC", 7, 6);
    public static final Field CR1_TABLE_OC = Field.of("TABLE_OC", 9, 8);
    public static final Field CR1_TABLE_SH = Field.of("TABLE_SH", 11, 10);

    public static final Field CR2_E2H = Field.bit("E2H", 0);
    public static final Field CR2_RECINVSID = Field.bit("RECINVSID", 1);
    public static final Field CR2_PTM = Field.bit("PTM", 2);
    /** CR2.REC_CFG_ATS: record configuration errors of ATS and PRI requests (present when IDR0.ATSRECERR). */
    public static final Field CR2_REC_CFG_ATS = Field.bit("REC_CFG_ATS", 3);

    public static final Field GBPA_MEMATTR = Field.of("MemAttr", 3, 0);
    public static final Field GBPA_MTCFG = Field.bit("MTCFG", 4);
    public static final Field GBPA_ALLOCCFG = Field.of("ALLOCCFG", 11, 8);
    public static final Field GBPA_SHCFG = Field.of("SHCFG", 13, 12);
    public static final Field GBPA_PRIVCFG = Field.of("PRIVCFG", 17, 16);
    public static final Field GBPA_INSTCFG = Field.of("INSTCFG", 19, 18);
    public static final Field GBPA_ABORT = Field.bit("ABORT", 20);
    public static final Field GBPA_UPDATE = Field.bit("UPDATE", 31);

    public static final Field IRQ_GERROR_IRQEN = Field.bit("GERROR_IRQEN", 0);
    public static final Field IRQ_PRIQ_IRQEN = Field.bit("PRIQ_IRQEN", 1);
    public static final Field IRQ_EVENTQ_IRQEN = Field.bit("EVENTQ_IRQEN", 2);

    /** PRIQ_IRQ_CFG2.LO: interrupt only for a message with Last=1 (0: on the empty to non-empty transition). */
    public static final Field PRIQ_IRQ_CFG2_LO = Field.bit("LO", 31);

    public static final Field GERROR_CMDQ_ERR = Field.bit("CMDQ_ERR", 0);
    public static final Field GERROR_EVENTQ_ABT_ERR = Field.bit("EVENTQ_ABT_ERR", 2);
    public static final Field GERROR_PRIQ_ABT_ERR = Field.bit("PRIQ_ABT_ERR", 3);
    public static final Field GERROR_MSI_CMDQ_ABT_ERR = Field.bit("MSI_CMDQ_ABT_ERR", 4);
    public static final Field GERROR_MSI_EVENTQ_ABT_ERR = Field.bit("MSI_EVENTQ_ABT_ERR", 5);
    public static final Field GERROR_MSI_PRIQ_ABT_ERR = Field.bit("MSI_PRIQ_ABT_ERR", 6);
    public static final Field GERROR_MSI_GERROR_ABT_ERR = Field.bit("MSI_GERROR_ABT_ERR", 7);
    public static final Field GERROR_SFM_ERR = Field.bit("SFM_ERR", 8);

    /** CR1/CR2-style cache encoding: write-back. */
    public static final int CACHE_WB = 1;
    /** Shareability encoding: inner shareable. */
    public static final int SH_ISH = 3;

    private ControlRegisters() {}
}
