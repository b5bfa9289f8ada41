package dev.iommukit.backend.smmuv3.arch;

/**
 * Offsets of the SMMUv3 Non-secure programming interface registers (spec §1.1): page 0 from 0,
 * page 1 (EVENTQ/PRIQ PROD and CONS) from 0x10000.
 */
public final class SmmuRegisters {
    public static final int IDR0 = 0x0000;
    public static final int IDR1 = 0x0004;
    public static final int IDR2 = 0x0008;
    public static final int IDR3 = 0x000C;
    public static final int IDR4 = 0x0010;
    public static final int IDR5 = 0x0014;
    public static final int IIDR = 0x0018;
    public static final int AIDR = 0x001C;
    public static final int CR0 = 0x0020;
    public static final int CR0ACK = 0x0024;
    public static final int CR1 = 0x0028;
    public static final int CR2 = 0x002C;
    public static final int STATUSR = 0x0040;
    public static final int GBPA = 0x0044;
    public static final int AGBPA = 0x0048;
    public static final int IRQ_CTRL = 0x0050;
    public static final int IRQ_CTRLACK = 0x0054;
    public static final int GERROR = 0x0060;
    public static final int GERRORN = 0x0064;
    public static final int GERROR_IRQ_CFG0 = 0x0068;
    public static final int GERROR_IRQ_CFG1 = 0x0070;
    public static final int GERROR_IRQ_CFG2 = 0x0074;
    public static final int STRTAB_BASE = 0x0080;
    public static final int STRTAB_BASE_CFG = 0x0088;
    public static final int CMDQ_BASE = 0x0090;
    public static final int CMDQ_PROD = 0x0098;
    public static final int CMDQ_CONS = 0x009C;
    public static final int EVENTQ_BASE = 0x00A0;
    public static final int EVENTQ_IRQ_CFG0 = 0x00B0;
    public static final int EVENTQ_IRQ_CFG1 = 0x00B8;
    public static final int EVENTQ_IRQ_CFG2 = 0x00BC;
    public static final int PRIQ_BASE = 0x00C0;
    public static final int PRIQ_IRQ_CFG0 = 0x00D0;
    public static final int PRIQ_IRQ_CFG1 = 0x00D8;
    public static final int PRIQ_IRQ_CFG2 = 0x00DC;
    /** Page 1 EVENTQ_PROD (written by the SMMU). */
    public static final int EVENTQ_PROD = 0x100A8;
    /** Page 1 EVENTQ_CONS (written by software). */
    public static final int EVENTQ_CONS = 0x100AC;
    /** Page 1 PRIQ_PROD (written by the SMMU). */
    public static final int PRIQ_PROD = 0x100C8;
    /** Page 1 PRIQ_CONS (written by software). */
    public static final int PRIQ_CONS = 0x100CC;

    private SmmuRegisters() {}
}
