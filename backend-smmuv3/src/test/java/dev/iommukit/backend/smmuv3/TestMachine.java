package dev.iommukit.backend.smmuv3;

import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.device.RequesterId;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** A machine with 2 GiB of RAM at 0x8000_0000 (tables from the top 512 MiB) and one SMMUv3 unit. */
public final class TestMachine {
    public static final long RAM = 0x8000_0000L;
    public static final long RAM_SIZE = 2L << 30;
    public static final long POOL = RAM + RAM_SIZE - (512L << 20);
    public static final RequesterId DEV = RequesterId.parse("00:03.0");
    public static final RequesterId DEV2 = RequesterId.parse("00:04.0");

    public final PhysicalMemory memory = PhysicalMemory.of(RAM, RAM_SIZE);
    public final PageAllocator allocator = new PageAllocator(memory, POOL, 512L << 20);
    public final List<Fault> faults = new CopyOnWriteArrayList<>();
    public final List<dev.iommukit.spi.iopf.PageRequest> pageRequests = new CopyOnWriteArrayList<>();
    public final IommuUnit unit;

    public TestMachine() {
        this(Map.of());
    }

    public TestMachine(Map<String, String> options) {
        unit = new SmmuV3Backend().createUnit(new UnitContext("smmu0", memory, allocator, faults::add, pageRequests::add, options));
    }

    public TranslationOutcome dma(RequesterId rid, int pasid, long address, AccessType access) {
        TranslationOutcome out = new TranslationOutcome();
        unit.dmaPort().translate(DmaRequest.of(rid.value(), pasid, address, 4, access), out);
        return out;
    }

    public TranslationOutcome read(long address) {
        return dma(DEV, Pasid.NONE, address, AccessType.READ);
    }

    public TranslationOutcome write(long address) {
        return dma(DEV, Pasid.NONE, address, AccessType.WRITE);
    }

    public long reg(String name) {
        return unit.registers().get(name);
    }
}
