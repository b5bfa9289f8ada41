/**
 * The driver half of a VT-d unit, written as the Linux intel-iommu driver works: it builds the
 * structures in memory, programs registers, invalidates through the queue and waits, and drains
 * fault records on the fault interrupt. It never sees a hardware object.
 */
package dev.iommukit.backend.vtd.driver;
