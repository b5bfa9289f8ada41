/**
 * The hardware half of a VT-d unit: register file, context/PASID caches and IOTLB, the
 * scalable-mode translation walk, ATS translation requests, fault recording, the invalidation
 * queue and the page request queue (page requests in, page group responses out). It never sees a
 * driver object: only register accesses and memory.
 */
package dev.iommukit.backend.vtd.hw;
