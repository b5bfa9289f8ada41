package dev.iommukit.api;

import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.memory.PageAllocator;
import java.util.HashMap;
import java.util.Map;

/**
 * The RAM pool that processes draw anonymous pages and their page tables from, with a reference
 * count per data page: a process mapping holds one reference, every pin another, so a pinned page
 * outlives an unmap or a process exit and returns to the pool only with its last reference.
 * Guarded by the machine's lock.
 */
final class ProcessMemory {
    private final PageAllocator allocator;
    private final Map<Long, Integer> references = new HashMap<>();

    ProcessMemory(PageAllocator allocator) {
        this.allocator = allocator;
    }

    PageAllocator allocator() {
        return allocator;
    }

    long allocatePage(String owner) {
        long pa = allocator.allocatePage(owner);
        references.put(pa, 1);
        return pa;
    }

    void retain(long pa) {
        Integer n = references.get(pa);
        if (n == null) {
            throw IommuException.invalid("pa", "0x" + Long.toHexString(pa) + " is not a live process page");
        }
        references.put(pa, n + 1);
    }

    void release(long pa) {
        Integer n = references.get(pa);
        if (n == null) {
            throw IommuException.invalid("pa", "0x" + Long.toHexString(pa) + " is not a live process page");
        }
        if (n == 1) {
            references.remove(pa);
            allocator.free(pa);
        } else {
            references.put(pa, n - 1);
        }
    }

    /** Data pages alive now (mapped or pinned). */
    int livePages() {
        return references.size();
    }
}
