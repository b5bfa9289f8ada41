package dev.iommukit.spi;

import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.nested.NestedConfig;
import dev.iommukit.spi.nested.NestedDomain;

import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.error.NotSupportedException;
import java.util.Map;

/**
 * One IOMMU unit as the core sees it. Everything but {@link #dmaPort()} and {@link #registers()}
 * is the driver half, which reaches its hardware half only through registers and memory. The
 * core serialises control calls per unit and has checked their arguments and capabilities.
 */
public interface IommuUnit extends AutoCloseable {
    /** The unit's name, as given in its context. */
    String name();

    /** What this unit advertises. */
    CapabilitySet capabilities();

    /**
     * Makes {@code rid} known to the unit with a device PASID width of {@code pasidBits} (0 for
     * none). Afterwards every request from it is blocked until a domain is attached.
     */
    DeviceInfo probeDevice(RequesterId rid, int pasidBits);

    /** Forgets a probed device; the core calls it only when the device is blocked at every PASID. */
    void releaseDevice(RequesterId rid);

    /** Allocates a domain of {@code type}; for paging domains {@code options} chooses the level. */
    BackendDomain allocateDomain(DomainType type, DomainOptions options);

    /**
     * Allocates an SVA domain that translates through {@code space}; the core calls it only when
     * the unit advertises {@link dev.iommukit.spi.cap.Capability#SVA} with the space's format.
     */
    default SvaDomain allocateSvaDomain(CpuAddressSpace space) {
        throw new NotSupportedException("unit " + name() + ": SVA is not implemented by this backend");
    }

    /**
     * Allocates a nested domain: {@code config} as stage 1 on {@code parent} (a paging domain of
     * this unit allocated as nesting parent) as stage 2. The core calls it only when the unit
     * advertises {@link dev.iommukit.spi.cap.Capability#NESTING} with the config's stage 1 and the
     * bind capability it belongs to.
     */
    default NestedDomain allocateNestedDomain(BackendDomain parent, NestedConfig config) {
        throw new NotSupportedException("unit " + name() + ": nested domains are not implemented by this backend");
    }

    /**
     * Enables ATS and page requests for {@code rid} (SMMUv3 STE.EATS; VT-d context DTE and PRE), so
     * that its ATS translation requests are answered and its page requests queued and reported.
     */
    default void enablePageRequests(RequesterId rid) {
        throw new NotSupportedException("unit " + name() + ": page requests are not implemented by this backend");
    }

    /**
     * Disables ATS and page requests for {@code rid}; the core calls it only after draining them.
     */
    default void disablePageRequests(RequesterId rid) {
        throw new NotSupportedException("unit " + name() + ": page requests are not implemented by this backend");
    }

    /**
     * Returns once every page request of {@code rid} at {@code pasid} ({@link Pasid#NONE}: all of
     * the device's) that the hardware accepted before the call has been read from the queue and
     * reported (SMMUv3: PRI queue consumed up to PRIQ_PROD; VT-d: page request drain).
     */
    default void drainPageRequests(RequesterId rid, int pasid) {
        throw new NotSupportedException("unit " + name() + ": page requests are not implemented by this backend");
    }

    /**
     * Sends the page response for {@code request} (SMMUv3 CMD_PRI_RESP; VT-d page group response
     * descriptor) and returns once the command completed.
     */
    default void respondPageRequest(PageRequest request, PageResponseCode code) {
        throw new NotSupportedException("unit " + name() + ": page requests are not implemented by this backend");
    }

    /**
     * Attaches {@code domain} to {@code rid} for requests without PASID ({@code pasid ==
     * Pasid.NONE}) or with {@code pasid}, replacing whatever was attached there. A blocked domain
     * at a PASID removes that PASID's translation. Returns after the change is visible to every
     * later request (configuration caches invalidated through the architecture's queue).
     */
    void attach(RequesterId rid, int pasid, BackendDomain domain);

    /** The hardware half's input: where devices behind this unit send DMA. */
    DmaPort dmaPort();

    /** The architectural registers, by the architecture's names, as the hardware holds them now. */
    Map<String, Long> registers();

    /** Disables the unit and frees its structures; the core calls it after every device and domain is gone. */
    @Override
    void close();
}
