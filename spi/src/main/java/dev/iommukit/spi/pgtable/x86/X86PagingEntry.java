package dev.iommukit.spi.pgtable.x86;

/**
 * Bit layout of one IA-32e (x86-64) paging-structure entry, as the VT-d first level uses it
 * (VT-d spec digest §7): static decode helpers shared by the software format and by hardware
 * walkers. Bit 7 is PS in a PDPE or PDE and must be 0 (reserved) in a PML5E or PML4E.
 */
public final class X86PagingEntry {
    /** Bit 0: present. */
    public static final long P = 1L;
    /** Bit 1: read/write; 0 makes the mapping read-only. */
    public static final long RW = 1L << 1;
    /** Bit 2: user/supervisor; 1 lets user-mode (PR=0) requests through. */
    public static final long US = 1L << 2;
    /** Bit 3: page-level write-through. */
    public static final long PWT = 1L << 3;
    /** Bit 4: page-level cache disable. */
    public static final long PCD = 1L << 4;
    /** Bit 5: accessed. */
    public static final long A = 1L << 5;
    /** Bit 6: dirty (leaves only). */
    public static final long D = 1L << 6;
    /** Bit 7: page size in a PDPE (1 GiB) or PDE (2 MiB); PAT in a PTE. */
    public static final long PS = 1L << 7;
    /** Bit 8: global (ignored by remapping hardware). */
    public static final long G = 1L << 8;
    /** Bit 10: extended-accessed (VT-d EAFE). */
    public static final long EA = 1L << 10;
    /** Bit 12: PAT of a 2 MiB or 1 GiB leaf. */
    public static final long LARGE_PAT = 1L << 12;
    /** Bit 63: execute-disable; honoured only with NXE (VT-d PASID entry) / EFER.NXE. */
    public static final long XD = 1L << 63;
    /** Bits 51:12: the address field of a table pointer or 4 KiB leaf. */
    public static final long ADDRESS_MASK = 0x000F_FFFF_FFFF_F000L;
    /** Bits 62:52: ignored. */
    public static final long IGNORED_HIGH = 0x7FF0_0000_0000_0000L;

    private X86PagingEntry() {}

    public static boolean present(long e) {
        return (e & P) != 0;
    }

    public static boolean writable(long e) {
        return (e & RW) != 0;
    }

    public static boolean user(long e) {
        return (e & US) != 0;
    }

    public static boolean accessed(long e) {
        return (e & A) != 0;
    }

    public static boolean dirty(long e) {
        return (e & D) != 0;
    }

    public static boolean pageSize(long e) {
        return (e & PS) != 0;
    }

    public static boolean executeDisable(long e) {
        return (e & XD) != 0;
    }

    /**
     * The output or next-table address of {@code e} whose leaf (if a leaf) maps {@code 1 << pageShift}
     * bytes: bits 51:pageShift (a large leaf's bit 12 is PAT, not address).
     */
    public static long address(long e, int pageShift) {
        return e & ADDRESS_MASK & -(1L << pageShift);
    }

    /**
     * Bits that must be zero in a present entry, for host address width {@code haw}: bits 51:haw
     * always; bit 7 in a PML5E or PML4E; for a large leaf ({@code leafShift} 21 or 30) the address
     * bits below the page size above bit 12 (20:13 or 29:13). {@code leafShift} is 0 for a
     * non-leaf entry. XD (bit 63) is not included: digest §7 notes XD with NXE=0 is unconfirmed.
     */
    public static long reservedMask(int haw, int tableShift, int leafShift) {
        long mask = ADDRESS_MASK & ~((1L << haw) - 1);
        if (tableShift >= 39) {
            mask |= PS;
        }
        if (leafShift > 12) {
            mask |= ((1L << leafShift) - 1) & ~((1L << 13) - 1);
        }
        return mask;
    }

    /** Whether {@code va} is canonical for a {@code inputBits}-bit (48 or 57) linear address space. */
    public static boolean canonical(long va, int inputBits) {
        return (va << (64 - inputBits)) >> (64 - inputBits) == va;
    }
}
