package dev.iommukit.backend.smmuv3.driver;

import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.cap.PageSizes;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;

/** What an SMMUv3 unit with a given translation granule advertises. */
public final class SmmuCapabilities {
    /** PASID width the unit honours (IDR1.SSIDSIZE). */
    public static final int PASID_BITS = 20;
    /** Entries of the PRI queue the driver programs (PAGE_REQUEST queueEntries). */
    public static final int PRIQ_ENTRIES = 1 << PriQueueReader.LOG2_ENTRIES;

    private SmmuCapabilities() {}

    /** The guest stage 1 table formats a nested STE walks: VMSAv8-64 (AArch64) tables with any of the three granules. */
    public static final String STAGE1_FORMATS = "aarch64-4K,aarch64-16K,aarch64-64K";

    /** What a unit built by this backend advertises (IDR0.CD2L=1, IDR1.SSIDSIZE=20). */
    public static CapabilitySet of(VmsaGranule granule) {
        return of(granule, true, PASID_BITS);
    }

    /**
     * What a unit with {@code granule} advertises, given its IDR0.CD2L and IDR1.SSIDSIZE: guest
     * PASID-table bind takes LINEAR CD tables, and 2-level ones only with CD2L; S1CDMax up to
     * SSIDSIZE.
     */
    public static CapabilitySet of(VmsaGranule granule, boolean cd2l, int ssidBits) {
        String s1Pages = PageSizes.format(VmsaFormat.stage1(granule, PagingDomain.INPUT_BITS).pageSizes());
        String s2Pages = PageSizes.format(VmsaFormat.stage2(granule, PagingDomain.INPUT_BITS).pageSizes());
        String in = Integer.toString(PagingDomain.INPUT_BITS);
        String out = Integer.toString(PagingDomain.OUTPUT_BITS);
        return CapabilitySet.builder()
                .add(Capability.BLOCKED_DOMAIN)
                .add(Capability.IDENTITY_DOMAIN, "mechanism", "STE bypass", "atPasid", "false")
                .add(Capability.PAGING_DOMAIN, "pageSizes", s1Pages, "inputBits", in, "outputBits", out, "level", "stage 1")
                .add(Capability.NESTING_PARENT_DOMAIN, "pageSizes", s2Pages, "inputBits", in, "outputBits", out, "level", "stage 2")
                .add(Capability.PASID_ATTACH, "pasidBits", Integer.toString(PASID_BITS))
                .add(Capability.AUX_DOMAIN, "level", "first", "pasidBits", Integer.toString(PASID_BITS))
                .add(Capability.SVA, "cpuFormat", CpuSvaDomain.CPU_FORMAT, "addressBits", Integer.toString(CpuSvaDomain.ADDRESS_BITS),
                        "pasidBits", Integer.toString(PASID_BITS))
                .add(Capability.NESTING, "stage1", SmmuContextTableConfig.STAGE1, "stage1Formats", STAGE1_FORMATS)
                .add(Capability.PASID_TABLE_BIND, "formats", cd2l ? "LINEAR,TWO_LEVEL_4K,TWO_LEVEL_64K" : "LINEAR",
                        "cdMaxBits", Integer.toString(ssidBits))
                .add(Capability.PAGE_REQUEST, "queue", "priq", "queueEntries", Integer.toString(PRIQ_ENTRIES))
                .build();
    }

    /**
     * A device's capabilities: PASID_ATTACH, AUX_DOMAIN (a context descriptor per substream,
     * stage 1: "first level") and SVA (a CD sharing the CPU's AArch64 tables) only when it has
     * PASIDs, with its own width.
     */
    static CapabilitySet forDevice(CapabilitySet unit, int pasidBits) {
        CapabilitySet without = unit.without(Capability.PASID_ATTACH).without(Capability.AUX_DOMAIN).without(Capability.SVA);
        if (pasidBits > 0) {
            String bits = Integer.toString(pasidBits);
            return CapabilitySet.builder().addAll(without)
                    .add(Capability.PASID_ATTACH, "pasidBits", bits)
                    .add(Capability.AUX_DOMAIN, "level", "first", "pasidBits", bits)
                    .add(Capability.SVA, "cpuFormat", CpuSvaDomain.CPU_FORMAT, "addressBits", Integer.toString(CpuSvaDomain.ADDRESS_BITS),
                            "pasidBits", bits).build();
        }
        return without;
    }
}
