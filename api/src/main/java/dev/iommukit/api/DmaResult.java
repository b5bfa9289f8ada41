package dev.iommukit.api;

import dev.iommukit.spi.fault.Fault;

/**
 * What a DMA did: for a translation, the physical address reached or the fault; for a transfer,
 * how many bytes moved before it completed or faulted, the physical address of its first byte,
 * and the fault that stopped it.
 */
public record DmaResult(long address, long physicalAddress, int bytesTransferred, Fault fault) {
    public boolean ok() {
        return fault == null;
    }

    public boolean faulted() {
        return fault != null;
    }

    @Override
    public String toString() {
        return ok() ? String.format("0x%x -> 0x%x", address, physicalAddress) : String.format("0x%x -> %s", address, fault);
    }
}
