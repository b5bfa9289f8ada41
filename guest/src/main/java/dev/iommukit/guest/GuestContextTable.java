package dev.iommukit.guest;

import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.SmmuContextTableConfig.Format;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * An SMMUv3 CD table in guest RAM (spec/smmuv3.md section 4.1), with {@code 2^cdMaxBits}
 * context descriptors of 64 bytes:
 * <ul>
 *   <li>{@link Format#LINEAR} (S1Fmt 0): the CD of substream {@code ssid} at
 *       {@code address() + 64 * ssid}, the table aligned to its size;</li>
 *   <li>{@link Format#TWO_LEVEL_4K} / {@link Format#TWO_LEVEL_64K} (S1Fmt 1 / 2): an L1 table of
 *       8-byte L1CDs indexed by {@code ssid[cdMaxBits-1:6]} / {@code ssid[cdMaxBits-1:10]}, each
 *       (V bit 0, L2Ptr bits [51:12]) pointing to a leaf table of 64 / 1024 CDs indexed by the low
 *       bits; leaves are allocated (zeroed, aligned to their size) when the guest first writes a
 *       CD in them, and the L1CD is written after the leaf.</li>
 * </ul>
 * The guest writes each CD with dwords 1 to 7 first and dword 0 (with V) last, so a walker never
 * sees V=1 before the rest; the IOMMU sees a change only after the guest's invalidation (CFGI_CD:
 * a {@code CacheInvalidation} of the PASID cache).
 */
public final class GuestContextTable {
    private static final long PAGE = 4096;
    /** L1CD bit 0: valid. */
    public static final long L1CD_V = 1L;
    /** L1CD bits [51:12]: the leaf table's address. */
    public static final long L1CD_L2PTR_MASK = 0x000F_FFFF_FFFF_F000L;

    private final Guest guest;
    private final GuestMemory memory;
    private final int cdMaxBits;
    private final Format format;
    private final long address;
    private final int pages;
    /** Leaf tables by L1 index (two-level formats only). */
    private final Map<Integer, Long> leaves = new TreeMap<>();
    private boolean freed;

    GuestContextTable(Guest guest, int cdMaxBits, Format format) {
        if (cdMaxBits < 0 || cdMaxBits > 20) {
            throw IommuException.invalid("cdMaxBits", cdMaxBits + " must be within 0..20 (S1CDMax)");
        }
        this.guest = guest;
        this.memory = guest.memory();
        this.cdMaxBits = cdMaxBits;
        this.format = Objects.requireNonNull(format, "format");
        long bytes = format == Format.LINEAR ? (long) GuestContextDescriptor.SIZE << cdMaxBits : 8L * l1Entries();
        this.pages = (int) Math.max(1, bytes / PAGE);
        this.address = guest.allocatePages(pages);
    }

    /** The table's guest-physical address: what STE.S1ContextPtr holds (the L1 table for two levels). */
    public long address() {
        return address;
    }

    /** S1CDMax: log2 of the number of CDs. */
    public int cdMaxBits() {
        return cdMaxBits;
    }

    /** S1Fmt. */
    public Format format() {
        return format;
    }

    /** Number of CDs. */
    public int size() {
        return 1 << cdMaxBits;
    }

    /** The encoding of an L1CD pointing to a leaf table at {@code leafGpa}: L2Ptr [51:12] and V. */
    public static long l1Descriptor(long leafGpa) {
        if ((leafGpa & ~L1CD_L2PTR_MASK) != 0) {
            throw IommuException.invalid("leafGpa", "0x" + Long.toHexString(leafGpa) + " must be 4 KiB aligned and below 2^52");
        }
        return leafGpa | L1CD_V;
    }

    /** The guest-physical address of the L1CD covering {@code ssid} (two-level formats only). */
    public long l1DescriptorAddress(int ssid) {
        checkSsid(ssid);
        if (format == Format.LINEAR) {
            throw IommuException.invalid("ssid", "a linear CD table has no L1CDs");
        }
        return address + 8L * l1Index(ssid);
    }

    /**
     * The guest-physical address of the CD of {@code ssid}; -1 in a two-level table whose leaf for
     * it was not written yet.
     */
    public synchronized long descriptorAddress(int ssid) {
        checkSsid(ssid);
        if (format == Format.LINEAR) {
            return address + (long) GuestContextDescriptor.SIZE * ssid;
        }
        Long leaf = leaves.get(l1Index(ssid));
        return leaf == null ? -1 : leaf + (long) GuestContextDescriptor.SIZE * (ssid & (leafEntries() - 1));
    }

    /** Writes a valid CD for {@code ssid} translating through {@code table} with {@code asid} ({@link GuestContextDescriptor#forTable}). */
    public synchronized void writeContextDescriptor(int ssid, GuestPageTable table, int asid) {
        Objects.requireNonNull(table, "table");
        write(ssid, GuestContextDescriptor.forTable(table, asid));
    }

    /** Writes {@code cd} for {@code ssid}: dwords 1..7 first, then dword 0 (a two-level leaf made first when needed). */
    public synchronized void write(int ssid, GuestContextDescriptor cd) {
        checkLive();
        Objects.requireNonNull(cd, "cd");
        checkSsid(ssid);
        long at = descriptorAddress(ssid);
        if (at < 0) {
            int index = l1Index(ssid);
            long leaf = guest.allocatePages(leafEntries() * GuestContextDescriptor.SIZE / (int) PAGE);
            leaves.put(index, leaf);
            memory.write64(address + 8L * index, l1Descriptor(leaf));
            at = descriptorAddress(ssid);
        }
        long[] dwords = cd.encode();
        for (int i = 1; i < 8; i++) {
            memory.write64(at + 8L * i, dwords[i]);
        }
        memory.write64(at, dwords[0]);
    }

    /** The eight dwords of the CD of {@code ssid}, as they are in guest memory (zeros where no leaf exists). */
    public synchronized long[] readRaw(int ssid) {
        checkLive();
        long at = descriptorAddress(ssid);
        long[] dwords = new long[8];
        for (int i = 0; at >= 0 && i < 8; i++) {
            dwords[i] = memory.read64(at + 8L * i);
        }
        return dwords;
    }

    /** The CD of {@code ssid}, decoded. */
    public GuestContextDescriptor read(int ssid) {
        return GuestContextDescriptor.decode(readRaw(ssid));
    }

    /** Makes the CD of {@code ssid} invalid: dword 0 (V=0) first, then the rest zeroed. Leaves stay. */
    public synchronized void clear(int ssid) {
        checkLive();
        long at = descriptorAddress(ssid);
        if (at < 0) {
            return;
        }
        memory.write64(at, 0);
        for (int i = 1; i < 8; i++) {
            memory.write64(at + 8L * i, 0);
        }
    }

    /** The PASID-table bind configuration for this table: its address, format, {@code cdMaxBits} and {@code defaultSubstream}. */
    public SmmuContextTableConfig config(SmmuContextTableConfig.DefaultSubstream defaultSubstream) {
        return new SmmuContextTableConfig(address, format, cdMaxBits, defaultSubstream);
    }

    /** Returns the table's pages (and its leaves) to the guest allocator. */
    public synchronized void free() {
        if (!freed) {
            freed = true;
            for (long leaf : leaves.values()) {
                guest.freePages(leaf, leafEntries() * GuestContextDescriptor.SIZE / (int) PAGE);
            }
            leaves.clear();
            guest.freePages(address, pages);
        }
    }

    /** CDs per leaf table: 64 (4 KiB leaves) or 1024 (64 KiB leaves). */
    private int leafEntries() {
        return format == Format.TWO_LEVEL_4K ? 64 : 1024;
    }

    private int l1Entries() {
        int split = Integer.numberOfTrailingZeros(leafEntries());
        return cdMaxBits <= split ? 1 : 1 << (cdMaxBits - split);
    }

    private int l1Index(int ssid) {
        return ssid >>> Integer.numberOfTrailingZeros(leafEntries());
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
        return "guest " + format + " CD table at gpa 0x" + Long.toHexString(address) + " (" + size() + " CDs)";
    }
}
