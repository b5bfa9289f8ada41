package dev.iommukit.spi.nested;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.error.IommuException;
import java.util.EnumSet;
import java.util.Objects;
import java.util.Set;

/**
 * One invalidation a guest asks for after changing its own stage-1 structures, in the
 * vendor-neutral shape of Linux's {@code iommu_cache_invalidate_info}: which caches, at what
 * granularity, and for which PASID (a VT-d host PASID bound through the container; an SMMUv3
 * substream of the guest's CD table), architecture tag ({@code archId}: the SMMUv3 ASID; -1 when
 * not given) and address range ({@code granules} pages of {@code granuleSize} from
 * {@code address}; {@code leaf} when only leaf entries changed).
 */
public record CacheInvalidation(Set<Cache> caches, Granularity granularity, int pasid, int archId, long address,
                                long granuleSize, long granules, boolean leaf) {
    /** The caches a guest can ask to invalidate. */
    public enum Cache {
        /** Translations cached by the IOMMU (IOTLB, combined stage-1+2 entries). */
        IOTLB,
        /** Translations cached by the device (ATS). */
        DEVICE_IOTLB,
        /** Cached guest structures: VT-d PASID cache, SMMUv3 CD (and L1CD) cache. */
        PASID
    }

    /** How much of the guest's space an invalidation covers. */
    public enum Granularity {
        /** Everything the nested domain's guest owns. */
        DOMAIN,
        /** One PASID (or, with {@code archId}, one ASID). */
        PASID,
        /** An address range within one PASID or ASID. */
        ADDRESS
    }

    public CacheInvalidation {
        Objects.requireNonNull(granularity, "granularity");
        if (caches == null || caches.isEmpty()) {
            throw IommuException.invalid("caches", "at least one cache must be named");
        }
        caches = Set.copyOf(EnumSet.copyOf(caches));
        if (granularity == Granularity.DOMAIN) {
            if (pasid != Pasid.NONE || archId != -1 || address != 0 || granuleSize != 0 || granules != 0) {
                throw IommuException.invalid("granularity", "a domain-wide invalidation names no PASID, ASID or range");
            }
        } else if (pasid == Pasid.NONE && archId == -1) {
            throw IommuException.invalid("pasid", "a " + granularity + " invalidation needs a PASID or an archId");
        }
        if (pasid != Pasid.NONE && (pasid < 0 || pasid >= (1 << Pasid.MAX_WIDTH))) {
            throw IommuException.invalid("pasid", pasid + " is outside the 20-bit PASID space");
        }
        if (archId < -1 || archId > 0xFFFF) {
            throw IommuException.invalid("archId", archId + " is outside 0..0xFFFF (or -1 for none)");
        }
        if (granularity == Granularity.ADDRESS) {
            if (caches.contains(Cache.PASID)) {
                throw IommuException.invalid("caches", "the PASID cache is not invalidated by address");
            }
            if (granuleSize < 4096 || Long.bitCount(granuleSize) != 1) {
                throw IommuException.invalid("granuleSize", granuleSize + " must be a power of two of at least 4096");
            }
            if ((address & (granuleSize - 1)) != 0) {
                throw IommuException.invalid("address", "0x" + Long.toHexString(address) + " is not aligned to the granule 0x"
                        + Long.toHexString(granuleSize));
            }
            if (granules < 1 || granules > (Long.MAX_VALUE - address) / granuleSize) {
                throw IommuException.invalid("granules", granules + " must be at least 1 and the range must not overflow");
            }
        } else if (address != 0 || granuleSize != 0 || granules != 0) {
            throw IommuException.invalid("address", "only an ADDRESS invalidation names a range");
        }
    }

    /** Everything the guest owns in the named caches. */
    public static CacheInvalidation domain(Cache... caches) {
        return new CacheInvalidation(Set.of(caches), Granularity.DOMAIN, Pasid.NONE, -1, 0, 0, 0, false);
    }

    /** One PASID (substream) in the named caches. */
    public static CacheInvalidation pasid(int pasid, Cache... caches) {
        return new CacheInvalidation(Set.of(caches), Granularity.PASID, pasid, -1, 0, 0, 0, false);
    }

    /** The IOTLB entries of one address-space tag (SMMUv3 ASID). */
    public static CacheInvalidation asid(int asid) {
        return new CacheInvalidation(Set.of(Cache.IOTLB), Granularity.PASID, Pasid.NONE, asid, 0, 0, 0, false);
    }

    /** IOTLB entries for {@code [address, address + granules * granuleSize)} of one PASID. */
    public static CacheInvalidation range(int pasid, long address, long granuleSize, long granules, boolean leaf) {
        return new CacheInvalidation(Set.of(Cache.IOTLB), Granularity.ADDRESS, pasid, -1, address, granuleSize, granules, leaf);
    }

    /** IOTLB entries for an address range of one ASID (SMMUv3 TLBI_NH_VA). */
    public static CacheInvalidation asidRange(int asid, long address, long granuleSize, long granules, boolean leaf) {
        return new CacheInvalidation(Set.of(Cache.IOTLB), Granularity.ADDRESS, Pasid.NONE, asid, address, granuleSize, granules, leaf);
    }

    public boolean hasPasid() {
        return pasid != Pasid.NONE;
    }

    public boolean hasArchId() {
        return archId != -1;
    }

    public boolean covers(Cache cache) {
        return caches.contains(cache);
    }
}
