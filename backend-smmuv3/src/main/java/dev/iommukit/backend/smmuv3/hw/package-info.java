/**
 * The SMMUv3 hardware half: register file, command consumer, event and PRI queue producers,
 * configuration caches, IOTLB and table walkers, ATS translation requests and PRG responses. It sees the driver only through registers and memory. A
 * request whose configuration and translation are cached is translated without a lock or an
 * allocation; misses hold the read side of a lock that CMD_SYNC takes for writing, so a sync
 * completes only after every walk that started before it.
 */
package dev.iommukit.backend.smmuv3.hw;
