package dev.iommukit.api;

import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.nested.NestedConfig;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

/** One IOMMU unit of a machine, made by a backend; devices sit behind it and domains are made by it. */
public final class Unit {
    final Machine machine;
    final IommuUnit driver;
    private final IommuBackend backend;
    private final String name;
    final Map<Integer, Device> devicesByRid = new ConcurrentHashMap<>();
    private final Set<Domain> pagingDomains = new LinkedHashSet<>();
    /** One SVA domain per bound process, shared by every device of this unit bound to it. */
    private final Map<Process, Domain> svaDomains = new java.util.HashMap<>();
    private Domain blocked;
    private Domain identity;
    private int domainCounter;
    /** Orders page responses (sent from any thread) before the driver's close. */
    private final Object responseLock = new Object();
    private boolean driverClosed;

    Unit(Machine machine, IommuBackend backend, IommuUnit driver, String name) {
        this.machine = machine;
        this.backend = backend;
        this.driver = driver;
        this.name = name;
        if (driver.capabilities().has(Capability.PAGE_REQUEST)) {
            driver.dmaPort().connectPageResponses(response -> {
                Device d = devicesByRid.get(response.rid());
                if (d != null) {
                    d.pageResponseArrived(response);
                }
            });
        }
    }

    /** Page requests handed to the page request thread and not yet taken up there; a drain answers its own. */
    final ConcurrentLinkedQueue<PageRequest> queuedPageRequests =
            new ConcurrentLinkedQueue<>();

    /** A page request the driver read from the queue: handled on the machine's page request thread. */
    void pageRequestArrived(PageRequest request) {
        queuedPageRequests.add(request);
        machine.pageRequestQueue().submit(sequence -> {
            if (!queuedPageRequests.remove(request)) {
                return; // a drain took it (or an equal one) and answered it
            }
            Device d = devicesByRid.get(request.requester().value());
            if (d != null) {
                d.pageRequestArrived(request, sequence);
            } else if (request.last()) {
                respond(request, PageResponseCode.INVALID_REQUEST);
            }
        });
    }

    /**
     * Sends a page response unless the unit was closed: a machine closing with requests pending
     * answers them while its units are still open, so devices waiting for them stop waiting.
     */
    void respond(PageRequest request, PageResponseCode code) {
        synchronized (responseLock) {
            if (!driverClosed) {
                driver.respondPageRequest(request, code);
            }
        }
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
                    name + "/paging" + (++domainCounter), options.nestingParent());
            pagingDomains.add(d);
            return d;
        }
    }

    /**
     * A nested domain: {@code config} as stage 1 on {@code parent} as stage 2. Needs
     * {@link Capability#NESTING} with the config's stage 1, and {@link Capability#GUEST_PASID_BIND}
     * for a VT-d guest first level or {@link Capability#PASID_TABLE_BIND} for an SMMUv3 guest CD
     * table, each within its advertised parameters; {@code parent} must be a nesting parent of
     * this unit. The parent cannot be closed while the nested domain lives.
     */
    public NestedDomain newNestedDomain(PagingDomain parent, NestedConfig config) {
        synchronized (machine.lock) {
            machine.checkOpen();
            Objects.requireNonNull(parent, "parent");
            Objects.requireNonNull(config, "config");
            NestingChecks.check(this, parent, config);
            NestedDomain d = new NestedDomain(this, driver.allocateNestedDomain(parent.backend, config),
                    name + "/nested" + (++domainCounter), parent, config);
            parent.nestedChildren++;
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
                if (d instanceof PagingDomain p) {
                    list.add(p);
                }
            }
            return list;
        }
    }

    /** The nested domains made here and not yet closed. */
    public List<NestedDomain> nestedDomains() {
        synchronized (machine.lock) {
            List<NestedDomain> list = new ArrayList<>();
            for (Domain d : pagingDomains) {
                if (d instanceof NestedDomain n) {
                    list.add(n);
                }
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
            if (d instanceof NestedDomain) {
                d.close();
            }
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
        synchronized (responseLock) {
            driverClosed = true;
        }
        driver.close();
    }

    @Override
    public String toString() {
        return name + " (" + backend.id() + ")";
    }
}
