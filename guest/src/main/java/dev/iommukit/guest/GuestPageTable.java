package dev.iommukit.guest;

import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ConflictException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.pgtable.PageTableFormat;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;
import dev.iommukit.spi.pgtable.x86.X86PagingFormat;
import java.util.ArrayList;
import java.util.List;

/**
 * A page table the guest keeps in its own RAM: every table is a guest page from
 * {@link Guest#allocatePage}, every pointer and output address in it is guest-physical, and the
 * entries are encoded with the spi {@link PageTableFormat} of {@link #format()}. The guest maps
 * 4 KiB pages; {@link #translate} and {@link #mappings} read the tables back from memory (larger
 * leaves someone else wrote included). Changes reach an IOMMU only after the guest invalidates
 * through its container. (The spi {@code PageTable} engine writes host-physical memory through a
 * host allocator, so it cannot keep tables whose pointers are guest-physical.)
 */
public final class GuestPageTable {
    private static final long PAGE = 4096;

    /** The formats a guest writes. */
    public enum Format {
        /**
         * x86-64 4-level paging (PML4 root, 48-bit canonical VA), for a VT-d guest PASID bind with
         * address width 48. Entries as Linux writes first-level DMA tables: P, R/W where writable,
         * U/S everywhere, A preset, D preset in writable leaves, no XD (so every mapped page is
         * executable, and read back without {@code EXECUTE}, as the spi x86 codec reports pages
         * when execute-disable is not in use).
         */
        X86_64_4LEVEL(new X86PagingFormat(4, true, true, true, false), 48, 52),
        /** x86-64 5-level paging (PML5 root, 57-bit canonical VA), address width 57; entries as above. */
        X86_64_5LEVEL(new X86PagingFormat(5, true, true, true, false), 57, 52),
        /**
         * VMSAv8-64 stage 1, 4 KiB granule, 48-bit VA (T0SZ 16, walk from level 0), for an SMMUv3
         * guest's CD TTB0. Leaves: AF, AP[1] (EL0 access), AP[2] when read-only, nG, SH inner,
         * AttrIndx {@link VmsaFormat#MAIR_INDEX_WB}, PXN and UXN when not executable.
         */
        AARCH64_4K_48BIT(VmsaFormat.stage1(VmsaGranule.G4K, 48), 48, 48);

        private final PageTableFormat format;
        private final int vaBits;
        private final int outputBits;

        Format(PageTableFormat format, int vaBits, int outputBits) {
            this.format = format;
            this.vaBits = vaBits;
            this.outputBits = outputBits;
        }

        /** The spi format whose encoders write the entries. */
        public PageTableFormat pageTableFormat() {
            return format;
        }

        /** Virtual-address bits translated (48 or 57). */
        public int vaBits() {
            return vaBits;
        }

        /** Widest guest-physical output address, in bits. */
        public int outputBits() {
            return outputBits;
        }

        /** Whether virtual addresses are x86 canonical (sign-extended), rather than a TTB0 range from 0. */
        public boolean canonical() {
            return this != AARCH64_4K_48BIT;
        }
    }

    private final Guest guest;
    private final Format format;
    private final PageTableFormat codec;
    private final GuestMemory memory;
    private final long root;
    private final List<Long> tables = new ArrayList<>();
    private boolean freed;

    GuestPageTable(Guest guest, Format format) {
        this.guest = guest;
        this.format = format;
        this.codec = format.pageTableFormat();
        this.memory = guest.memory();
        this.root = guest.allocatePage();
        tables.add(root);
    }

    public Format format() {
        return format;
    }

    /** The guest-physical address of the root table: the guest's CR3 (VT-d FLPTPTR) or TTB0. */
    public long root() {
        return root;
    }

    /** Guest pages the tables occupy. */
    public synchronized int tablePages() {
        return tables.size();
    }

    /**
     * Maps {@code [va, va + size)} to guest-physical {@code [gpa, gpa + size)} with
     * {@code permissions}, in 4 KiB pages. The GPAs need not be RAM (a stage-2 fault is then the
     * IOMMU's answer), but must fit the format's output width. All or nothing: refused with a
     * conflict when any page of the range is mapped, and when guest RAM for tables runs out the
     * leaves written by this call are cleared again.
     */
    public synchronized void map(long va, long gpa, long size, int permissions) {
        checkLive();
        Permissions.check(permissions);
        checkRange(va, size);
        if ((gpa & (PAGE - 1)) != 0 || gpa < 0 || gpa + size < gpa || (gpa + size - 1) >>> format.outputBits() != 0) {
            throw IommuException.invalid("gpa", "range 0x" + Long.toHexString(gpa) + "+0x" + Long.toHexString(size)
                    + " must be 4 KiB aligned and below 2^" + format.outputBits());
        }
        for (long off = 0; off < size; off += PAGE) {
            Leaf leaf = walk(va + off);
            if (leaf != null) {
                throw new ConflictException("va: 0x" + Long.toHexString(va + off) + " is already mapped (to gpa 0x"
                        + Long.toHexString(leaf.gpa(va + off)) + ") in this guest page table");
            }
        }
        List<Long> written = new ArrayList<>();
        try {
            for (long off = 0; off < size; off += PAGE) {
                long slot = leafSlot(va + off);
                memory.write64(slot, codec.encodeLeaf(gpa + off, codec.levels() - 1, permissions));
                written.add(slot);
            }
        } catch (RuntimeException e) {
            for (long slot : written) {
                memory.write64(slot, 0);
            }
            throw e;
        }
    }

    /**
     * Clears every leaf in {@code [va, va + size)} and returns the bytes that were mapped. A larger
     * leaf (one the guest did not write with {@link #map}) is cleared only when the range covers it
     * whole; otherwise the call is refused before any change. Tables stay until {@link #free}.
     */
    public synchronized long unmap(long va, long size) {
        checkLive();
        checkRange(va, size);
        List<Leaf> leaves = new ArrayList<>();
        long off = 0;
        while (off < size) {
            long a = va + off;
            Leaf leaf = walk(a);
            if (leaf == null) {
                off += PAGE;
                continue;
            }
            long start = a & -leaf.size();
            if (Long.compareUnsigned(start, va) < 0 || Long.compareUnsigned(start + leaf.size() - 1, va + size - 1) > 0) {
                throw IommuException.invalid("size", "range 0x" + Long.toHexString(va) + "+0x" + Long.toHexString(size)
                        + " cuts the 0x" + Long.toHexString(leaf.size()) + "-byte leaf at 0x" + Long.toHexString(start));
            }
            leaves.add(leaf);
            off = start + leaf.size() - va;
        }
        long total = 0;
        for (Leaf leaf : leaves) {
            memory.write64(leaf.slot(), 0);
            total += leaf.size();
        }
        return total;
    }

    /** The guest-physical address {@code va} maps to, read from the tables in guest memory; -1 when unmapped. */
    public synchronized long translate(long va) {
        checkLive();
        Leaf leaf = walk(va);
        return leaf == null ? -1 : leaf.gpa(va);
    }

    /** The permissions {@code va} is mapped with, or 0 when unmapped. */
    public synchronized int permissionsAt(long va) {
        checkLive();
        Leaf leaf = walk(va);
        return leaf == null ? 0 : codec.permissions(leaf.descriptor(), leaf.level());
    }

    /**
     * Every mapping read back from the tables, lowest VA first, pages merged into runs where VA,
     * GPA and permissions continue. Tables outside guest RAM are skipped.
     */
    public synchronized List<GuestMapping> mappings() {
        checkLive();
        List<GuestMapping> out = new ArrayList<>();
        collect(root, 0, 0, out);
        return out;
    }

    /** Returns every table page to the guest allocator; the table must no longer be in use. */
    public synchronized void free() {
        if (freed) {
            return;
        }
        freed = true;
        for (long t : tables) {
            guest.freePages(t, 1);
        }
        tables.clear();
    }

    // ---------------------------------------------------------------- walking

    /** A leaf found by a walk: where it sits, its value, its level and the bytes it maps. */
    private record Leaf(long slot, long descriptor, int level, long size, long output) {
        long gpa(long va) {
            return output + (va & (size - 1));
        }
    }

    private long index(long va, int level) {
        return (va >>> codec.indexShift(level)) & ((1L << codec.indexBits(level)) - 1);
    }

    /** The leaf translating {@code va}, or null (also when a table lies outside guest RAM). */
    private Leaf walk(long va) {
        if (!validVa(va)) {
            return null;
        }
        long table = root;
        for (int level = 0; level < codec.levels(); level++) {
            long slot = table + index(va, level) * 8;
            if (!memory.contains(slot, 8)) {
                return null;
            }
            long d = memory.read64(slot);
            if (codec.isLeaf(d, level)) {
                return new Leaf(slot, d, level, codec.leafSize(level), codec.address(d, level));
            }
            if (!codec.isTable(d, level)) {
                return null;
            }
            table = codec.address(d, level);
        }
        return null;
    }

    /** The slot of the 4 KiB leaf for {@code va}, allocating the tables on the way. */
    private long leafSlot(long va) {
        long table = root;
        int last = codec.levels() - 1;
        for (int level = 0; level < last; level++) {
            long slot = table + index(va, level) * 8;
            long d = memory.read64(slot);
            if (codec.isTable(d, level)) {
                table = codec.address(d, level);
                continue;
            }
            long next = guest.allocatePage();
            tables.add(next);
            memory.write64(slot, codec.encodeTable(next, level));
            table = next;
        }
        return table + index(va, last) * 8;
    }

    private void collect(long table, int level, long vaPrefix, List<GuestMapping> out) {
        int entries = 1 << codec.indexBits(level);
        for (int i = 0; i < entries; i++) {
            long slot = table + i * 8L;
            if (!memory.contains(slot, 8)) {
                return;
            }
            long d = memory.read64(slot);
            long va = vaPrefix | ((long) i << codec.indexShift(level));
            if (codec.isLeaf(d, level)) {
                add(out, new GuestMapping(canonical(va), codec.address(d, level), codec.leafSize(level), codec.permissions(d, level)));
            } else if (codec.isTable(d, level) && level < codec.levels() - 1) {
                collect(codec.address(d, level), level + 1, va, out);
            }
        }
    }

    private static void add(List<GuestMapping> out, GuestMapping m) {
        if (!out.isEmpty()) {
            GuestMapping p = out.get(out.size() - 1);
            if (p.va() + p.size() == m.va() && p.gpa() + p.size() == m.gpa() && p.permissions() == m.permissions()) {
                out.set(out.size() - 1, new GuestMapping(p.va(), p.gpa(), p.size() + m.size(), p.permissions()));
                return;
            }
        }
        out.add(m);
    }

    private long canonical(long va) {
        int bits = format.vaBits();
        return format.canonical() ? (va << (64 - bits)) >> (64 - bits) : va;
    }

    private boolean validVa(long va) {
        int bits = format.vaBits();
        return format.canonical() ? canonical(va) == va : va >>> bits == 0;
    }

    private void checkRange(long va, long size) {
        if (size <= 0 || (size & (PAGE - 1)) != 0) {
            throw IommuException.invalid("size", "must be a positive multiple of 4 KiB, was 0x" + Long.toHexString(size));
        }
        if ((va & (PAGE - 1)) != 0) {
            throw IommuException.invalid("va", "must be 4 KiB aligned, was 0x" + Long.toHexString(va));
        }
        long last = va + size - 1;
        boolean ok = validVa(va) && validVa(last) && (va < 0) == (last < 0) && last >= va;
        if (!ok) {
            throw IommuException.invalid("va", "range 0x" + Long.toHexString(va) + "+0x" + Long.toHexString(size)
                    + (format.canonical() ? " is not within one canonical half of the " + format.vaBits() + "-bit address space"
                            : " is outside the " + format.vaBits() + "-bit TTB0 range"));
        }
    }

    private void checkLive() {
        guest.checkOpen();
        if (freed) {
            throw new ClosedException("table: this guest page table was freed");
        }
    }

    @Override
    public String toString() {
        return "guest " + codec.name() + " table at gpa 0x" + Long.toHexString(root);
    }
}
