package dev.iommukit.cli.fake;

import dev.iommukit.spi.DeviceInfo;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.pgtable.PageTable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** One unit of {@link FakeBackend}. */
final class FakeUnit implements IommuUnit {
    /** A register value above 2^53, so dumps must write it as a hex string. */
    static final long FAKE_CAP = 0xFEDC_BA98_7654_3210L;
    private final UnitContext context;
    private final int unitPasidBits;
    private final CapabilitySet capabilities;
    private final Map<Long, FakeDomain> contexts = new ConcurrentHashMap<>();
    private final Map<Integer, Integer> devices = new ConcurrentHashMap<>();
    private int nextDomainId = 1;

    FakeUnit(UnitContext context) {
        this.context = context;
        int bits = 8;
        for (Map.Entry<String, String> o : context.options().entrySet()) {
            if (!o.getKey().equals("pasidBits")) {
                throw IommuException.invalid("options." + o.getKey(), "unknown option of the fake backend; known: pasidBits");
            }
            bits = Integer.parseInt(o.getValue());
        }
        this.unitPasidBits = bits;
        this.capabilities = FakeBackend.CAPABILITIES;
    }

    private static long key(int rid, int pasid) {
        return ((long) rid << 32) | (pasid & 0xFFFF_FFFFL);
    }

    @Override
    public String name() {
        return context.name();
    }

    @Override
    public CapabilitySet capabilities() {
        return capabilities;
    }

    @Override
    public DeviceInfo probeDevice(RequesterId rid, int pasidBits) {
        int bits = Math.min(pasidBits, unitPasidBits);
        devices.put(rid.value(), bits);
        CapabilitySet caps = bits > 0 ? capabilities : capabilities.without(Capability.PASID_ATTACH);
        return new DeviceInfo(bits, caps);
    }

    @Override
    public void releaseDevice(RequesterId rid) {
        devices.remove(rid.value());
        contexts.keySet().removeIf(k -> (int) (k >>> 32) == rid.value());
    }

    @Override
    public BackendDomain allocateDomain(DomainType type, DomainOptions options) {
        return new FakeDomain(type, nextDomainId++);
    }

    @Override
    public void attach(RequesterId rid, int pasid, BackendDomain domain) {
        FakeDomain d = (FakeDomain) domain;
        if (pasid != Pasid.NONE && d.type == DomainType.BLOCKED) {
            contexts.remove(key(rid.value(), pasid));
        } else {
            contexts.put(key(rid.value(), pasid), d);
        }
    }

    @Override
    public DmaPort dmaPort() {
        return this::translate;
    }

    private void translate(DmaRequest r, TranslationOutcome out) {
        FakeDomain d = contexts.get(key(r.rid(), r.pasid()));
        if (d == null || d.type == DomainType.BLOCKED) {
            fault(r, out, FaultReason.BLOCKED, "FAKE_BLOCKED", 1);
        } else if (d.type == DomainType.IDENTITY) {
            out.translated(r.address());
        } else {
            long pa = d.table.iovaToPhys(r.address());
            long perms = d.table.permissionsAt(r.address());
            int needed = r.execute() ? Permissions.EXECUTE : r.isWrite() ? Permissions.WRITE : Permissions.READ;
            if (pa < 0) {
                fault(r, out, FaultReason.NOT_MAPPED, "FAKE_NOT_MAPPED", 2);
            } else if ((perms & needed) == 0) {
                fault(r, out, FaultReason.PERMISSION, "FAKE_PERMISSION", 3);
            } else {
                out.translated(pa);
            }
        }
    }

    private void fault(DmaRequest r, TranslationOutcome out, FaultReason reason, String name, int code) {
        Fault f = new Fault(RequesterId.of(r.rid()), r.pasid(), r.address(), r.access(), reason,
                new FakeFaultRecord(name, code, r.address()));
        out.faulted(f);
        context.faults().report(f);
    }

    @Override
    public Map<String, Long> registers() {
        Map<String, Long> regs = new LinkedHashMap<>();
        regs.put("FAKE_ID", 0x4641_4B45L);
        regs.put("FAKE_CAP", FAKE_CAP);
        regs.put("FAKE_CONTEXTS", (long) contexts.size());
        return regs;
    }

    @Override
    public void close() {
        contexts.clear();
    }

    /** A fake domain: its type and, for paging, its table. */
    private final class FakeDomain implements BackendDomain {
        final DomainType type;
        final PageTable table;
        private final DomainInfo info;

        FakeDomain(DomainType type, int id) {
            this.type = type;
            if (type == DomainType.PAGING) {
                this.table = new PageTable(FakeFormat.INSTANCE, context.tableAllocator(), context.name() + "/domain" + id);
                this.info = new DomainInfo(type, FakeFormat.INSTANCE.pageSizes(), 0, (1L << 39) - 1, 48, true,
                        FakeFormat.INSTANCE.name());
            } else {
                this.table = null;
                this.info = DomainInfo.unmapped(type, true, type == DomainType.IDENTITY ? "identity" : "blocked");
            }
        }

        @Override
        public DomainInfo info() {
            return info;
        }

        @Override
        public void map(long iova, long pa, long pageSize, long count, int permissions) {
            table.map(iova, pa, pageSize, count, permissions);
        }

        @Override
        public void unmap(long iova, long size) {
            table.unmap(iova, size);
        }

        @Override
        public long iovaToPhys(long iova) {
            return table.iovaToPhys(iova);
        }

        @Override
        public void free() {
            if (table != null) {
                table.free();
            }
        }
    }
}
