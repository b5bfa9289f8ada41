package dev.iommukit.guest;

import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import java.util.Objects;

/**
 * A linear SMMUv3 CD table (S1Fmt 0) in guest RAM: {@code 2^cdMaxBits} context descriptors of 64
 * bytes, the CD of substream {@code ssid} at {@code address() + 64 * ssid}, the table aligned to
 * its size. The guest writes each CD with dwords 1 to 7 first and dword 0 (with V) last, so a
 * walker never sees V=1 before the rest; the IOMMU sees a change only after the guest's
 * invalidation (CFGI_CD: {@code CacheInvalidation} of the PASID cache).
 */
public final class GuestContextTable {
    private final Guest guest;
    private final GuestMemory memory;
    private final int cdMaxBits;
    private final long address;
    private final int pages;
    private boolean freed;

    GuestContextTable(Guest guest, int cdMaxBits) {
        if (cdMaxBits < 0 || cdMaxBits > 20) {
            throw IommuException.invalid("cdMaxBits", cdMaxBits + " must be within 0..20 (S1CDMax)");
        }
        this.guest = guest;
        this.memory = guest.memory();
        this.cdMaxBits = cdMaxBits;
        long bytes = (long) GuestContextDescriptor.SIZE << cdMaxBits;
        this.pages = (int) Math.max(1, bytes / 4096);
        this.address = guest.allocatePages(pages);
    }

    /** The table's guest-physical address: what STE.S1ContextPtr holds. */
    public long address() {
        return address;
    }

    /** S1CDMax: log2 of the number of CDs. */
    public int cdMaxBits() {
        return cdMaxBits;
    }

    /** Number of CDs. */
    public int size() {
        return 1 << cdMaxBits;
    }

    /** The guest-physical address of the CD of {@code ssid}. */
    public long descriptorAddress(int ssid) {
        checkSsid(ssid);
        return address + (long) GuestContextDescriptor.SIZE * ssid;
    }

    /** Writes a valid CD for {@code ssid} translating through {@code table} with {@code asid} ({@link GuestContextDescriptor#forTable}). */
    public synchronized void writeContextDescriptor(int ssid, GuestPageTable table, int asid) {
        Objects.requireNonNull(table, "table");
        write(ssid, GuestContextDescriptor.forTable(table, asid));
    }

    /** Writes {@code cd} for {@code ssid}: dwords 1..7 first, then dword 0. */
    public synchronized void write(int ssid, GuestContextDescriptor cd) {
        checkLive();
        Objects.requireNonNull(cd, "cd");
        long at = descriptorAddress(ssid);
        long[] dwords = cd.encode();
        for (int i = 1; i < 8; i++) {
            memory.write64(at + 8L * i, dwords[i]);
        }
        memory.write64(at, dwords[0]);
    }

    /** The eight dwords of the CD of {@code ssid}, as they are in guest memory. */
    public synchronized long[] readRaw(int ssid) {
        checkLive();
        long at = descriptorAddress(ssid);
        long[] dwords = new long[8];
        for (int i = 0; i < 8; i++) {
            dwords[i] = memory.read64(at + 8L * i);
        }
        return dwords;
    }

    /** The CD of {@code ssid}, decoded. */
    public GuestContextDescriptor read(int ssid) {
        return GuestContextDescriptor.decode(readRaw(ssid));
    }

    /** Makes the CD of {@code ssid} invalid: dword 0 (V=0) first, then the rest zeroed. */
    public synchronized void clear(int ssid) {
        checkLive();
        long at = descriptorAddress(ssid);
        memory.write64(at, 0);
        for (int i = 1; i < 8; i++) {
            memory.write64(at + 8L * i, 0);
        }
    }

    /** The PASID-table bind configuration for this table: linear, {@code cdMaxBits}, and {@code defaultSubstream}. */
    public SmmuContextTableConfig config(SmmuContextTableConfig.DefaultSubstream defaultSubstream) {
        return new SmmuContextTableConfig(address, SmmuContextTableConfig.Format.LINEAR, cdMaxBits, defaultSubstream);
    }

    /** Returns the table's pages to the guest allocator. */
    public synchronized void free() {
        if (!freed) {
            freed = true;
            guest.freePages(address, pages);
        }
    }

    private void checkSsid(int ssid) {
        if (ssid < 0 || ssid >= 1 << cdMaxBits) {
            throw IommuException.invalid("ssid", ssid + " is outside the table's 0.." + ((1 << cdMaxBits) - 1));
        }
    }

    private void checkLive() {
        guest.checkOpen();
        if (freed) {
            throw new ClosedException("table: this guest CD table was freed");
        }
    }

    @Override
    public String toString() {
        return "guest CD table at gpa 0x" + Long.toHexString(address) + " (" + size() + " CDs)";
    }
}
