/**
 * I/O page faults: the PCIe page request and page response messages that cross between a device
 * and its IOMMU, and the vendor-neutral page request a driver half reports to the core.
 */
package dev.iommukit.spi.iopf;
