package dev.iommukit.spi.pgtable.vmsa;

/** Which VMSAv8-64 translation stage a table serves: its leaf attributes and root rules differ. */
public enum VmsaStage {
    /** Stage 1 (VA to IPA/PA): AP, nG, AttrIndx, PXN/UXN; the root may be a partial table. */
    STAGE1,
    /** Stage 2 (IPA to PA): S2AP, MemAttr, XN; the root may be up to 16 concatenated tables. */
    STAGE2
}
