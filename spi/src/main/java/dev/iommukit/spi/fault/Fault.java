package dev.iommukit.spi.fault;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;

/**
 * A fault on one DMA request: who asked (requester id and PASID, or {@link Pasid#NONE}), for what
 * address and access, the vendor-neutral reason, and the architecture's record (never null; its
 * {@code words()} are empty where the architecture aborts without writing one, as an SMMUv3 STE
 * with Config abort does).
 */
public record Fault(RequesterId requester, int pasid, long address, AccessType access, FaultReason reason,
                    VendorFaultRecord record, FaultStage stage) {
    /** A fault that is not a translation stage's ({@link FaultStage#NONE}). */
    public Fault(RequesterId requester, int pasid, long address, AccessType access, FaultReason reason,
                 VendorFaultRecord record) {
        this(requester, pasid, address, access, reason, record, FaultStage.NONE);
    }

    /** Whether the fault arose in the host's stage of a nested (or stage-2-only) translation. */
    public boolean secondStage() {
        return stage == FaultStage.STAGE_2;
    }

    @Override
    public String toString() {
        return reason + " " + access + " 0x" + Long.toHexString(address) + " from " + requester
                + (pasid == Pasid.NONE ? "" : " pasid " + pasid)
                + (stage == FaultStage.STAGE_2 ? " stage 2" : "")
                + " [" + record.name() + " 0x" + Integer.toHexString(record.code()) + "]";
    }
}
