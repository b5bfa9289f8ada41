package dev.iommukit.spi.domain;

/**
 * A process's address space as an IOMMU sees it for SVA: the physical address of the root of its
 * CPU page tables (TTBR0 on AArch64, CR3 on x86-64), their format ({@code aarch64}: VMSAv8-64
 * stage 1 with a 4 KiB granule; {@code x86-64}: 4-level IA-32e paging) and the number of
 * virtual-address bits they translate. The tables belong to the process, not to the IOMMU.
 */
public record CpuAddressSpace(long pageTableRoot, String cpuFormat, int addressBits) {}
