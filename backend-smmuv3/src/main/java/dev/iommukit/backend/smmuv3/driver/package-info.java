/**
 * The SMMUv3 driver half, shaped like Linux's arm-smmu-v3: initialisation through registers,
 * abort STEs for every unused StreamID, tear-free STE and CD updates each followed by CFGI and
 * CMD_SYNC, stage 1 domains with their own ASID and stage 2 (nesting parent) domains with their
 * own VMID, TLB invalidation and sync on unmap, and the event queue drained on its interrupt.
 */
package dev.iommukit.backend.smmuv3.driver;
