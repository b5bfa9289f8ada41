/**
 * Conformance rules for shared virtual addressing: a process's address space bound to devices,
 * reached through its own CPU page tables at its PASID, kept coherent with munmap, and made to
 * fault quietly when the process exits until the binding is dropped.
 */
package dev.iommukit.conformance.sva;
