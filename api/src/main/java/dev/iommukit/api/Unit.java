package dev.iommukit.api;

import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.SvaDomain;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** One IOMMU unit of a machine, made by a backend; devices sit behind it and domains are made by it. */
public final class Unit {
    final Machine machine;
    final IommuUnit driver;
    private final IommuBackend backend;
    private final String name;
    final Map<Integer, Device> devicesByRid = new java.util.concurrent.ConcurrentHashMap<>();
    private final Set<Domain> pagingDomains = new LinkedHashSet<>();
    /** One SVA domain per bound process, shared by every device of this unit bound to it. */
    private final Map<Process, Domain> svaDomains = new java.util.HashMap<>();
    private Domain blocked;
    private Domain identity;
    private int domainCounter;

    Unit(Machine machine, IommuBackend backend, IommuUnit driver, String name) {
        this.machine = machine;
        this.backend = backend;
        this.driver = driver;
        this.name = name;
    }

    public String name() {
        return name;
    }

    /** The id of the backend that made this unit. */
    public String backendId() {
        return backend.id();
    }

    public CapabilitySet capabilities() {
        return driver.capabilities();
    }

    /** The architectural registers by name, as the hardware holds them now. */
    public Map<String, Long> registers() {
        return driver.registers();
    }

    /** The devices behind this unit, by requester id. */
    public List<Device> devices() {
        List<Device> list = new ArrayList<>(devicesByRid.values());
        list.sort((a, b) -> a.rid().compareTo(b.rid()));
        return list;
    }

    /** A new paging domain at the unit's default translation level. */
    public PagingDomain newPagingDomain() {
        return newPagingDomain(DomainOptions.DEFAULT);
    }

    /** A new paging domain; {@code options.nestingParent()} needs {@link Capability#NESTING_PARENT_DOMAIN}. */
    public PagingDomain newPagingDomain(DomainOptions options) {
        synchronized (machine.lock) {
            machine.checkOpen();
            capabilities().require(options.nestingParent() ? Capability.NESTING_PARENT_DOMAIN : Capability.PAGING_DOMAIN,
                    "unit " + name + ": paging domain");
            PagingDomain d = new PagingDomain(this, driver.allocateDomain(DomainType.PAGING, options),
                    name + "/paging" + (++domainCounter));
            pagingDomains.add(d);
            return d;
        }
    }

    /** The unit's identity domain; needs {@link Capability#IDENTITY_DOMAIN}. */
    public Domain identityDomain() {
        synchronized (machine.lock) {
            machine.checkOpen();
            capabilities().require(Capability.IDENTITY_DOMAIN, "unit " + name + ": identity domain");
            if (identity == null) {
                identity = new Domain(this, driver.allocateDomain(DomainType.IDENTITY, DomainOptions.DEFAULT), name + "/identity");
            }
            return identity;
        }
    }

    /** The unit's blocked domain; needs {@link Capability#BLOCKED_DOMAIN}. */
    public Domain blockedDomain() {
        synchronized (machine.lock) {
            machine.checkOpen();
            capabilities().require(Capability.BLOCKED_DOMAIN, "unit " + name + ": blocked domain");
            return internalBlocked();
        }
    }

    Domain internalBlocked() {
        if (blocked == null) {
            blocked = new Domain(this, driver.allocateDomain(DomainType.BLOCKED, DomainOptions.DEFAULT), name + "/blocked");
        }
        return blocked;
    }

    /** The SVA domain of {@code process} on this unit, made on first use. */
    Domain svaDomain(Process process) {
        Domain d = svaDomains.get(process);
        if (d == null) {
            d = new Domain(this, driver.allocateSvaDomain(process.addressSpace()), name + "/sva-" + process.pid());
            svaDomains.put(process, d);
            process.addNotifier((SvaDomain) d.backend);
        }
        return d;
    }

    /** Frees the SVA domain of {@code process} once nothing is attached to it. */
    void releaseSvaDomain(Process process) {
        Domain d = svaDomains.get(process);
        if (d != null && d.attachments.isEmpty()) {
            svaDomains.remove(process);
            process.removeNotifier((SvaDomain) d.backend);
            d.backend.free();
            d.closed = true;
        }
    }

    /** The paging domains made here and not yet closed. */
    public List<PagingDomain> pagingDomains() {
        synchronized (machine.lock) {
            List<PagingDomain> list = new ArrayList<>();
            for (Domain d : pagingDomains) {
                list.add((PagingDomain) d);
            }
            return list;
        }
    }

    void domainClosed(Domain d) {
        pagingDomains.remove(d);
    }

    void shutdown() {
        for (Device dev : devices()) {
            dev.shutdown();
        }
        for (Domain d : new ArrayList<>(pagingDomains)) {
            d.close();
        }
        if (blocked != null) {
            blocked.backend.free();
        }
        if (identity != null) {
            identity.backend.free();
        }
        driver.close();
    }

    @Override
    public String toString() {
        return name + " (" + backend.id() + ")";
    }
}
