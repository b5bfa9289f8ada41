package dev.iommukit.guest;

import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.memory.PhysicalMemory;

/**
 * A guest's RAM, addressed by guest-physical address (0 up to the RAM size): what the guest's CPUs
 * load and store. Each access goes to the VMM page backing it (pinned for the guest's life), with
 * the machine memory's single-copy-atomic 64-bit loads and stores, so an IOMMU walking guest
 * structures sees every entry whole. An access outside the RAM is refused with an
 * invalid-argument error naming {@code gpa}.
 */
public final class GuestMemory {
    private static final long PAGE = 4096;
    private final Guest guest;
    private final PhysicalMemory memory;
    private final long[] hostPages;

    GuestMemory(Guest guest, PhysicalMemory memory, long[] hostPages) {
        this.guest = guest;
        this.memory = memory;
        this.hostPages = hostPages;
    }

    /** Bytes of guest RAM. */
    public long size() {
        return hostPages.length * PAGE;
    }

    /** Whether {@code [gpa, gpa + length)} lies inside the guest's RAM. */
    public boolean contains(long gpa, long length) {
        return gpa >= 0 && length >= 0 && gpa <= size() && length <= size() - gpa;
    }

    /** The 64-bit little-endian value at 8-byte aligned {@code gpa}. */
    public long read64(long gpa) {
        check(gpa, 8);
        checkAligned(gpa);
        return memory.read64(host(gpa));
    }

    /** Stores {@code value} at 8-byte aligned {@code gpa}, single-copy atomic. */
    public void write64(long gpa, long value) {
        check(gpa, 8);
        checkAligned(gpa);
        memory.write64(host(gpa), value);
    }

    /** {@code length} bytes from {@code gpa}. */
    public byte[] read(long gpa, int length) {
        if (length < 0) {
            throw IommuException.invalid("length", "must not be negative, was " + length);
        }
        check(gpa, length);
        byte[] out = new byte[length];
        int done = 0;
        while (done < length) {
            long a = gpa + done;
            int chunk = (int) Math.min(length - done, PAGE - (a & (PAGE - 1)));
            memory.read(host(a), out, done, chunk);
            done += chunk;
        }
        return out;
    }

    /** Stores {@code data} at {@code gpa}; refused whole when any byte would fall outside the RAM. */
    public void write(long gpa, byte[] data) {
        check(gpa, data.length);
        int done = 0;
        while (done < data.length) {
            long a = gpa + done;
            int chunk = (int) Math.min(data.length - done, PAGE - (a & (PAGE - 1)));
            memory.write(host(a), data, done, chunk);
            done += chunk;
        }
    }

    /** The host-physical address backing {@code gpa}, or -1 outside the RAM. */
    public long hostPhysical(long gpa) {
        if (gpa < 0 || gpa >= size()) {
            return -1;
        }
        return host(gpa);
    }

    /** Zeroes the 4 KiB page at {@code gpa} (aligned, inside the RAM). */
    void zeroPage(long gpa) {
        long hpa = host(gpa);
        for (long off = 0; off < PAGE; off += 8) {
            memory.write64(hpa + off, 0);
        }
    }

    private long host(long gpa) {
        return hostPages[(int) (gpa >>> 12)] + (gpa & (PAGE - 1));
    }

    private void check(long gpa, long length) {
        if (guest.isClosed()) {
            throw new ClosedException("guest: it was closed; its RAM is gone");
        }
        if (!contains(gpa, length)) {
            throw IommuException.invalid("gpa", "range 0x" + Long.toHexString(gpa) + "+0x" + Long.toHexString(length)
                    + " is outside the guest's RAM 0x0..0x" + Long.toHexString(size() - 1));
        }
    }

    private static void checkAligned(long gpa) {
        if ((gpa & 7) != 0) {
            throw IommuException.invalid("gpa", "a 64-bit access must be 8-byte aligned, was 0x" + Long.toHexString(gpa));
        }
    }
}
