package dev.iommukit.guest;

import dev.iommukit.spi.domain.Permissions;

/**
 * A run of a guest page table: {@code size} bytes of guest-virtual addresses from {@code va}
 * mapped to guest-physical addresses from {@code gpa} with {@code permissions}
 * ({@link Permissions} bits), as read back from the tables in guest memory.
 */
public record GuestMapping(long va, long gpa, long size, int permissions) {
    @Override
    public String toString() {
        return String.format("0x%x+0x%x -> gpa 0x%x %s", va, size, gpa, Permissions.toString(permissions));
    }
}
