/**
 * The hardware half of a VT-d unit: register file, context/PASID caches and IOTLB, the
 * scalable-mode translation walk, fault recording and the invalidation queue. It never sees a
 * driver object: only register accesses and memory.
 */
package dev.iommukit.backend.vtd.hw;
