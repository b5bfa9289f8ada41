/**
 * The driver half of a VT-d unit, written as the Linux intel-iommu driver works: it builds the
 * structures in memory, programs registers, invalidates through the queue and waits, drains
 * fault records on the fault interrupt and page requests on the page request interrupt, and
 * answers page requests with page group responses. It never sees a hardware object.
 */
package dev.iommukit.backend.vtd.driver;
