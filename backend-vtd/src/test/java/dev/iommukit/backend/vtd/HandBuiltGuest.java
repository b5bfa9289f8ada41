package dev.iommukit.backend.vtd;

import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.pgtable.x86.X86PagingEntry;

/**
 * A guest written by hand for nested tests: guest RAM is GPA [0, size) at HPA {@code hostBase +
 * GPA}, mapped into a second-level parent domain; the guest's x86-64 4-level first-level tables
 * live in guest RAM, allocated upward from GPA 0x1000 and written at their host addresses the way
 * a guest kernel writes its own memory (no IOMMU involved), with A/D left clear for hardware.
 */
final class HandBuiltGuest {
    /** P, R/W, U/S: a writable user entry without A/D. */
    static final long USER_RW = X86PagingEntry.P | X86PagingEntry.RW | X86PagingEntry.US;

    final PhysicalMemory memory;
    final BackendDomain parent;
    final long hostBase;
    final long size;
    final long root;
    private long nextTable;

    /** Guest RAM (zeroed host memory) mapped RW with 4 KiB pages; its root table at GPA 0x1000. */
    HandBuiltGuest(PhysicalMemory memory, BackendDomain parent, long hostBase, long size) {
        this.memory = memory;
        this.parent = parent;
        this.hostBase = hostBase;
        this.size = size;
        parent.map(0, hostBase, 4096, size / 4096, Permissions.READ_WRITE);
        this.nextTable = 0x1000;
        this.root = allocateTable();
    }

    long hpa(long gpa) {
        return hostBase + gpa;
    }

    long read(long gpa) {
        return memory.read64(hpa(gpa));
    }

    void write(long gpa, long value) {
        memory.write64(hpa(gpa), value);
    }

    /** A zeroed 4 KiB guest page for a table (GPA). */
    long allocateTable() {
        long t = nextTable;
        nextTable += 0x1000;
        return t;
    }

    /** GPA of the slot that indexes {@code va} in the table at {@code table} for level shift {@code shift}. */
    static long slot(long table, long va, int shift) {
        return table + ((va >>> shift) & 0x1FF) * 8;
    }

    /**
     * Maps {@code va} to {@code gpa} with a leaf of {@code 1 << leafShift} bytes (12 or 21) whose
     * attribute bits are {@code leafFlags} (PS added for 2 MiB); tables get {@link #USER_RW}.
     * Returns the GPAs of the slots used, root first.
     */
    long[] map(long va, long gpa, int leafShift, long leafFlags) {
        return mapAt(root, va, gpa, leafShift, leafFlags);
    }

    /** As {@link #map} in the address space whose root table is at GPA {@code top}. */
    long[] mapAt(long top, long va, long gpa, int leafShift, long leafFlags) {
        int n = (39 - leafShift) / 9 + 1;
        long[] slots = new long[n];
        long table = top;
        for (int i = 0; i < n; i++) {
            int shift = 39 - 9 * i;
            slots[i] = slot(table, va, shift);
            if (shift == leafShift) {
                write(slots[i], gpa | leafFlags | (shift > 12 ? X86PagingEntry.PS : 0));
                break;
            }
            long e = read(slots[i]);
            if ((e & X86PagingEntry.P) == 0) {
                e = allocateTable() | USER_RW;
                write(slots[i], e);
            }
            table = e & X86PagingEntry.ADDRESS_MASK;
        }
        return slots;
    }
}
