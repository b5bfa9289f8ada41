/**
 * VT-d bit layouts as stateless codecs, one per structure or register (digest sections in each
 * javadoc): registers, root/context/PASID entries, invalidation descriptors, fault records and
 * fault reason codes. Both halves may use them; they hold no state.
 */
package dev.iommukit.backend.vtd.arch;
