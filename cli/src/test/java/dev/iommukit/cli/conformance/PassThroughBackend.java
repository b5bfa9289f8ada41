package dev.iommukit.cli.conformance;

import dev.iommukit.spi.DeviceInfo;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.VendorFaultRecord;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A tiny backend for the command's tests: blocked and identity domains only. With a non-zero
 * {@code offset} its identity domain is wrong (it adds the offset), so the kit fails it.
 */
final class PassThroughBackend implements IommuBackend {
    private final String id;
    private final long offset;

    PassThroughBackend(String id, long offset) {
        this.id = id;
        this.offset = offset;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public String description() {
        return "pass-through test backend";
    }

    @Override
    public CapabilitySet capabilities() {
        return CapabilitySet.builder().add(Capability.BLOCKED_DOMAIN).add(Capability.IDENTITY_DOMAIN, "atPasid", "false").build();
    }

    private record Record(String name) implements VendorFaultRecord {
        @Override
        public String format() {
            return "pass-through";
        }

        @Override
        public int code() {
            return 1;
        }

        @Override
        public List<Long> words() {
            return List.of();
        }

        @Override
        public Map<String, Long> fields() {
            return Map.of();
        }
    }

    private record Dom(DomainInfo info) implements BackendDomain {
        @Override
        public void map(long iova, long pa, long pageSize, long count, int permissions) {
            throw new NotSupportedException("map: no paging");
        }

        @Override
        public void unmap(long iova, long size) {
            throw new NotSupportedException("unmap: no paging");
        }

        @Override
        public long iovaToPhys(long iova) {
            return -1;
        }

        @Override
        public void free() {
        }
    }

    @Override
    public IommuUnit createUnit(UnitContext context) {
        if (!context.options().isEmpty()) {
            throw IommuException.invalid("options", "none are known, was " + context.options());
        }
        Map<Integer, Boolean> identity = new ConcurrentHashMap<>();
        CapabilitySet caps = capabilities();
        return new IommuUnit() {
            @Override
            public String name() {
                return context.name();
            }

            @Override
            public CapabilitySet capabilities() {
                return caps;
            }

            @Override
            public DeviceInfo probeDevice(RequesterId rid, int pasidBits) {
                identity.put(rid.value(), false);
                return new DeviceInfo(0, caps);
            }

            @Override
            public void releaseDevice(RequesterId rid) {
                identity.remove(rid.value());
            }

            @Override
            public BackendDomain allocateDomain(DomainType type, DomainOptions options) {
                return new Dom(DomainInfo.unmapped(type, false, type.name()));
            }

            @Override
            public void attach(RequesterId rid, int pasid, BackendDomain domain) {
                identity.put(rid.value(), domain.info().type() == DomainType.IDENTITY);
            }

            @Override
            public DmaPort dmaPort() {
                return (r, out) -> {
                    if (!r.hasPasid() && Boolean.TRUE.equals(identity.get(r.rid()))) {
                        out.translated(r.address() + offset);
                        return;
                    }
                    Fault f = new Fault(RequesterId.of(r.rid()), r.pasid(), r.address(), r.access(), FaultReason.BLOCKED, new Record("BLOCKED"));
                    context.faults().report(f);
                    out.faulted(f);
                };
            }

            @Override
            public Map<String, Long> registers() {
                return Map.of("CTRL", 1L);
            }

            @Override
            public void close() {
            }
        };
    }
}
