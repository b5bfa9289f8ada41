/**
 * Conformance rules for nested translation: nested domains on nesting parents (generic), guest
 * PASID bind (a VT-d guest first level at a guest PASID, through a nesting container) and
 * PASID-table bind (an SMMUv3 guest CD table on a whole device), with a guest model whose tables
 * live in guest-physical memory.
 */
package dev.iommukit.conformance.nesting;
