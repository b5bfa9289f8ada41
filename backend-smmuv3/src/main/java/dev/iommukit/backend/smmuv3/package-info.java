/**
 * The Arm SMMUv3 backend: {@link dev.iommukit.backend.smmuv3.SmmuV3Backend} wires a hardware half
 * ({@code hw}) and a driver half ({@code driver}) that meet only at the register file, physical
 * memory and the event and PRI queue interrupts; {@code arch} holds the bit layouts both read.
 *
 * <p>Modelled: Non-secure SMMUv3 with stage 1, stage 2 and nested translation, AArch64
 * (VMSAv8-64) tables with 4K/16K/64K granules, 48-bit OAS/IAS, linear and 2-level stream tables,
 * linear and 2-level (S1Fmt 1/2) CD tables, 20-bit SubstreamIDs, configuration caches, an IOTLB
 * tagged by ASID/VMID, range TLBI (RIL), command and event queues, ATS translation requests (full ATS
 * only: NS1ATS=1) and the PRI queue with overflow auto-responses (IDR3.PPS=0: STE.PPAR decides),
 * CMD_PRI_RESP and CMD_ATC_INV (no ATC is modelled, so it has nothing to wait for). Choices where
 * the architecture leaves room: GBPA resets to ABORT=1; STALL_MODEL=1 (no stall), TERM_MODEL=1;
 * ATSRECERR=1; MSIs for CMD_SYNC and the queues; no HTTU, BTM, HYP (EL2), ATS Translated traffic
 * (ATSCHK has no effect) or Secure state; AIDR reads 0x02. Unit option {@code pri=false} builds an
 * SMMU without PRI.
 */
package dev.iommukit.backend.smmuv3;
