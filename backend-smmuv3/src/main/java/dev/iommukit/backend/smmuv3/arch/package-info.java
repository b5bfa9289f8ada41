/**
 * SMMUv3 bit layouts as pure codecs, one class per structure or register group, each field a
 * {@link dev.iommukit.backend.smmuv3.arch.Field} named as the architecture names it: registers,
 * STE, L1STD, CD, L1CD, commands, event records and event types with their fault reasons. No
 * state; both halves use them.
 */
package dev.iommukit.backend.smmuv3.arch;
