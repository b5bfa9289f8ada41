package dev.iommukit.api;

import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.ClosedException;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * A translation that devices and PASIDs attach to, owned by the unit that made it. Blocked and
 * identity domains are one per unit and live as long as the unit; paging domains are closed by
 * their user, which is refused while anything is attached.
 */
public class Domain implements AutoCloseable {
    final Unit unit;
    final BackendDomain backend;
    final DomainInfo info;
    final Set<Attachment> attachments = new LinkedHashSet<>();
    private final String name;
    boolean closed;

    /** Where a domain is attached: a device, at a PASID or without one. */
    record Attachment(Device device, int pasid) {}

    Domain(Unit unit, BackendDomain backend, String name) {
        this.unit = unit;
        this.backend = backend;
        this.info = backend.info();
        this.name = name;
    }

    public Unit unit() {
        return unit;
    }

    public DomainType type() {
        return info.type();
    }

    /** What the backend built: page sizes, aperture, attachability at a PASID, translation used. */
    public DomainInfo info() {
        return info;
    }

    public boolean isClosed() {
        synchronized (unit.machine.lock) {
            return closed;
        }
    }

    /** Number of device or PASID attachments now. */
    public int attachmentCount() {
        synchronized (unit.machine.lock) {
            return attachments.size();
        }
    }

    void checkOpen(String argument) {
        if (closed) {
            throw new ClosedException(argument + ": domain " + name + " was closed");
        }
    }

    /**
     * Closes a paging or nested domain and frees its tables. Refused with {@link BusyException} while it is
     * attached anywhere. Blocked and identity domains belong to their unit: closing them does nothing.
     */
    @Override
    public void close() {
        synchronized (unit.machine.lock) {
            if (closed || (type() != DomainType.PAGING && type() != DomainType.NESTED)) {
                return;
            }
            if (!attachments.isEmpty()) {
                throw new BusyException("domain " + name + " is still attached to " + describeAttachments()
                        + "; detach it first");
            }
            checkClosable();
            backend.free();
            closed = true;
            freed();
            unit.domainClosed(this);
        }
    }

    /** Refuses the close when something else still depends on this domain. */
    void checkClosable() {}

    /** Bookkeeping after the backend freed the domain. */
    void freed() {}

    String describeAttachments() {
        StringBuilder sb = new StringBuilder();
        for (Attachment a : attachments) {
            if (sb.length() > 0) {
                sb.append(", ");
            }
            sb.append(a.device().name()).append(a.pasid() < 0 ? "" : " pasid " + a.pasid());
        }
        return sb.toString();
    }

    @Override
    public String toString() {
        return name;
    }
}
