package dev.iommukit.spi.memory;

import dev.iommukit.spi.error.IommuException;

/** A range of RAM in the physical address space; both ends 4 KiB aligned. */
public record RamRegion(long base, long size) {
    public RamRegion {
        if ((base & 0xFFF) != 0) {
            throw IommuException.invalid("base", "must be 4 KiB aligned, was 0x" + Long.toHexString(base));
        }
        if (size <= 0 || (size & 0xFFF) != 0) {
            throw IommuException.invalid("size", "must be a positive multiple of 4 KiB, was 0x" + Long.toHexString(size));
        }
        if (base < 0 || base + size < 0 || base + size > (1L << 52)) {
            throw IommuException.invalid("size", "region must end at or below 2^52, ends at 0x" + Long.toHexString(base + size));
        }
    }

    /** One past the last byte. */
    public long end() {
        return base + size;
    }

    public boolean contains(long pa, long length) {
        return pa >= base && length >= 0 && pa + length <= base + size && pa + length >= pa;
    }
}
