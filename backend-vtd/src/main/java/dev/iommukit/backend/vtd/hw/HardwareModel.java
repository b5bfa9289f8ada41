package dev.iommukit.backend.vtd.hw;

import dev.iommukit.backend.vtd.arch.CapabilityRegister;
import dev.iommukit.backend.vtd.arch.ExtendedCapabilityRegister;

/**
 * What the modelled remapping unit implements: its CAP_REG and ECAP_REG values, the host address
 * width (from the ACPI DMAR table on real machines), and VER_REG.
 */
public record HardwareModel(int version, CapabilityRegister cap, ExtendedCapabilityRegister ecap, int hostAddressWidth) {
    /** Fault-recording registers start at 0x400; the IOTLB registers sit at 0x500. */
    public static final int FRO = 0x40;
    public static final int IRO = 0x50;

    /** A unit that reports ECAP.NEST translates PGTT=011 with both levels, so it must report SMTS, PASID, FLTS and SLTS too. */
    public HardwareModel {
        if (ecap.nest() && !(ecap.smts() && ecap.pasid() && ecap.flts() && ecap.slts())) {
            throw new IllegalArgumentException("ECAP.NEST needs ECAP.SMTS, PASID, FLTS and SLTS");
        }
    }

    /**
     * The default VT-d 3.x scalable-mode unit: 65536 domain ids, SAGAW 39/48/57, MGAW 57 bits,
     * SL 2 MiB and 1 GiB pages, 8 fault-recording registers, PSI with MAMV 18, FL 1 GiB and 5-level
     * paging; QI, DT (ATS), PT, PRS (page requests), SRS, 20-bit PASID, PDS (page request drain),
     * SMTS, SLTS, FLTS, SMPWCS, NEST (nested translation needs scalable mode with both FLTS and
     * SLTS, which this unit has); no execute requests, SL A/D, extended-accessed flag, memory
     * types, device-TLB invalidation throttling, RID_PASID field (PASID 0 serves requests without
     * PASID); HAW 48 bits; VER 1.0 as QEMU reports it.
     */
    public static HardwareModel defaults() {
        CapabilityRegister cap = new CapabilityRegister(6, false, false, 0b01110, 56, false, FRO, 0b0011, true, 7, 18, true, true);
        ExtendedCapabilityRegister ecap = new ExtendedCapabilityRegister(false, true, true, false, true, false, IRO, true, true,
                false, true, 19, true, true, true, false, true, true, true, false);
        return new HardwareModel(0x10, cap, ecap, 48);
    }
}
