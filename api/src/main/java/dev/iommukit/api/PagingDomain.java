package dev.iommukit.api;

import dev.iommukit.spi.cap.PageSizes;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.IommuException;
import java.util.List;

/**
 * A domain whose translation is programmed with {@link #map} and {@link #unmap}. The core checks
 * every argument here, once for all backends: alignment to the smallest page size, no overflow,
 * inside the aperture and the output width, no overlap with an existing mapping. It then splits
 * the range into the largest pages that alignment allows.
 */
public final class PagingDomain extends Domain {
    private final IovaMappings mappings = new IovaMappings();
    private final boolean nestingParent;
    /** Nested domains using this one as stage 2 and not yet closed. */
    int nestedChildren;

    PagingDomain(Unit unit, BackendDomain backend, String name, boolean nestingParent) {
        super(unit, backend, name);
        this.nestingParent = nestingParent;
    }

    /** Whether this domain was allocated to serve as the stage 2 of nested domains. */
    public boolean isNestingParent() {
        return nestingParent;
    }

    @Override
    void checkClosable() {
        if (nestedChildren > 0) {
            throw new dev.iommukit.spi.error.BusyException("domain " + this + " is the stage 2 of " + nestedChildren
                    + " nested domain(s); close them first");
        }
    }

    /** Bitmap of page sizes (bit n: 2^n bytes). */
    public long pageSizes() {
        return info.pageSizes();
    }

    public long apertureStart() {
        return info.apertureStart();
    }

    /** The last mappable IOVA (inclusive). */
    public long apertureEnd() {
        return info.apertureEnd();
    }

    /**
     * Maps {@code [iova, iova + size)} to {@code [pa, pa + size)} with {@code permissions}
     * ({@link Permissions} bits).
     *
     * @throws dev.iommukit.spi.error.InvalidArgumentException for misaligned, empty, overflowing or
     *     out-of-aperture ranges and bad permissions
     * @throws ConflictException when part of the range is mapped already (the existing mapping is untouched)
     */
    public void map(long iova, long pa, long size, int permissions) {
        synchronized (unit.machine.lock) {
            checkOpen("domain");
            Permissions.check(permissions);
            long min = info.minPageSize();
            checkRange(iova, size, min);
            if ((pa & (min - 1)) != 0) {
                throw IommuException.invalid("pa", "must be aligned to the smallest page size " + PageSizes.formatSize(min)
                        + ", was 0x" + Long.toHexString(pa));
            }
            if (pa < 0 || pa + size < pa || (info.outputBits() < 64 && Long.compareUnsigned(pa + size - 1, (1L << info.outputBits()) - 1) > 0)) {
                throw IommuException.invalid("pa", "range 0x" + Long.toHexString(pa) + "+0x" + Long.toHexString(size)
                        + " exceeds the " + info.outputBits() + "-bit output address size");
            }
            Mapping clash = mappings.firstOverlap(iova, iova + size);
            if (clash != null) {
                throw new ConflictException("iova: range 0x" + Long.toHexString(iova) + "+0x" + Long.toHexString(size)
                        + " overlaps the existing mapping " + clash);
            }
            long done = 0;
            try {
                while (done < size) {
                    long page = largestPage(iova + done, pa + done, size - done);
                    long count = 1;
                    while (done + (count + 1) * page <= size && largestPage(iova + done + count * page, pa + done + count * page, size - done - count * page) == page) {
                        count++;
                    }
                    backend.map(iova + done, pa + done, page, count, permissions);
                    done += page * count;
                }
            } catch (RuntimeException e) {
                if (done > 0) {
                    backend.unmap(iova, done);
                }
                throw e;
            }
            mappings.add(new Mapping(iova, size, pa, permissions));
        }
    }

    private long largestPage(long iova, long pa, long remaining) {
        long best = info.minPageSize();
        for (long b = info.pageSizes(); b != 0; b &= b - 1) {
            long page = Long.lowestOneBit(b);
            if (page <= remaining && ((iova | pa) & (page - 1)) == 0) {
                best = page;
            }
        }
        return best;
    }

    private void checkRange(long iova, long size, long min) {
        if (size <= 0) {
            throw IommuException.invalid("size", "must be positive, was 0x" + Long.toHexString(size));
        }
        if ((iova & (min - 1)) != 0) {
            throw IommuException.invalid("iova", "must be aligned to the smallest page size " + PageSizes.formatSize(min)
                    + ", was 0x" + Long.toHexString(iova));
        }
        if ((size & (min - 1)) != 0) {
            throw IommuException.invalid("size", "must be a multiple of the smallest page size " + PageSizes.formatSize(min)
                    + ", was 0x" + Long.toHexString(size));
        }
        long last = iova + size - 1;
        if (Long.compareUnsigned(last, iova) < 0) {
            throw IommuException.invalid("size", "iova 0x" + Long.toHexString(iova) + " + size 0x" + Long.toHexString(size) + " overflows");
        }
        if (Long.compareUnsigned(iova, info.apertureStart()) < 0 || Long.compareUnsigned(last, info.apertureEnd()) > 0) {
            throw IommuException.invalid("iova", "range 0x" + Long.toHexString(iova) + "..0x" + Long.toHexString(last)
                    + " is outside the aperture 0x" + Long.toHexString(info.apertureStart()) + "..0x" + Long.toHexString(info.apertureEnd()));
        }
    }

    /**
     * Unmaps whatever is mapped in {@code [iova, iova + size)}; a mapping the range cuts keeps its
     * parts outside the range (larger pages are split). Returns when no request that starts
     * afterwards can use the old translation.
     *
     * @return the number of bytes that were mapped in the range (0 when nothing was)
     */
    public long unmap(long iova, long size) {
        synchronized (unit.machine.lock) {
            checkOpen("domain");
            checkRange(iova, size, info.minPageSize());
            long total = 0;
            for (Mapping m : mappings.clipped(iova, iova + size)) {
                backend.unmap(m.iova(), m.size());
                total += m.size();
            }
            mappings.remove(iova, iova + size);
            return total;
        }
    }

    /** The physical address {@code iova} maps to, read from the domain's tables; -1 when unmapped. */
    public long iovaToPhys(long iova) {
        synchronized (unit.machine.lock) {
            checkOpen("domain");
            return backend.iovaToPhys(iova);
        }
    }

    /** The mappings as the core recorded them, lowest IOVA first. */
    public List<Mapping> mappings() {
        synchronized (unit.machine.lock) {
            return mappings.all();
        }
    }
}
