package dev.iommukit.backend.vtd;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;

import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.backend.vtd.driver.UnitOptions;
import dev.iommukit.backend.vtd.driver.VtdDriver;
import dev.iommukit.backend.vtd.hw.HardwareModel;
import dev.iommukit.backend.vtd.hw.VtdHardware;
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

/**
 * A test machine: 1 GiB of RAM at 0 (tables come from [512 MiB, 1 GiB)), one VT-d unit wired as
 * the provider wires it, the faults its driver reported, and direct access to the register file
 * so tests can play a second software agent (write structures by hand, queue descriptors).
 */
final class VtdMachine implements AutoCloseable {
    static final long RAM = 1L << 30;
    static final long POOL = 512L << 20;
    final PhysicalMemory memory = PhysicalMemory.of(0, RAM);
    final PageAllocator allocator = new PageAllocator(memory, POOL, RAM - POOL);
    final List<Fault> reported = new CopyOnWriteArrayList<>();
    final List<dev.iommukit.spi.iopf.PageRequest> pageRequests = new CopyOnWriteArrayList<>();
    final VtdHardware hw;
    final VtdDriver driver;
    final long pagesBefore;

    VtdMachine() {
        this(Map.of());
    }

    VtdMachine(Map<String, String> options) {
        pagesBefore = allocator.allocatedPages();
        UnitContext ctx = new UnitContext("vtd0", memory, allocator, reported::add, pageRequests::add, options);
        HardwareModel model = HardwareModel.defaults();
        hw = new VtdHardware(memory, model);
        driver = new VtdDriver(ctx, hw, hw.dmaPort(), UnitOptions.parse(options), model.hostAddressWidth());
        hw.connectFaultEvent(driver::onFaultInterrupt);
        hw.connectPageRequestEvent(driver::onPageRequestInterrupt);
        driver.initialize();
    }

    static int rid(String text) {
        return RequesterId.parse(text).value();
    }

    TranslationOutcome dma(int rid, int pasid, long address, AccessType access) {
        TranslationOutcome out = new TranslationOutcome();
        hw.dmaPort().translate(DmaRequest.of(rid, pasid, address, 4, access), out);
        return out;
    }

    TranslationOutcome dma(DmaRequest request) {
        TranslationOutcome out = new TranslationOutcome();
        hw.dmaPort().translate(request, out);
        return out;
    }

    long read(int rid, long address) {
        TranslationOutcome o = dma(rid, Pasid.NONE, address, AccessType.READ);
        return o.isTranslated() ? o.physicalAddress() : -1;
    }

    /** Queues {@code descriptors} at IQT as another agent would and bumps IQT. */
    void submit(long[]... descriptors) {
        long base = hw.read64(IQA_REG) & IQA_BASE_MASK;
        long size = 4096L << (hw.read64(IQA_REG) & 7);
        long tail = hw.read64(IQT_REG);
        for (long[] d : descriptors) {
            for (int i = 0; i < 4; i++) {
                memory.write64(base + tail + 8L * i, d[i]);
            }
            tail = (tail + 32) % size;
        }
        hw.write64(IQT_REG, tail);
    }

    /** What software must do after changing structures by hand: cc, pc and IOTLB global invalidation. */
    void invalidateAll() {
        submit(InvalidationDescriptor.contextCache(InvalidationDescriptor.CC_GLOBAL, 0, 0, 0),
                InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_GLOBAL, 0, 0),
                InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_GLOBAL, 0, 0, 0, false));
    }

    long frcdLow(int i) {
        return hw.read64(frcd(HardwareModel.FRO, i));
    }

    long frcdHigh(int i) {
        return hw.read64(frcd(HardwareModel.FRO, i) + 8);
    }

    /** Address of the SM context entry of {@code rid}, found by walking memory from RTADDR. */
    long contextEntryAddress(int rid) {
        long root = hw.read64(RTADDR_REG) & RTADDR_RTA_MASK;
        long half = memory.read64(root + (rid >>> 8) * 16L + ((rid & 0x80) != 0 ? 8 : 0)) & ~0xFFFL;
        return half + (rid & 0x7F) * 32L;
    }

    /** Address of the PASID-table entry of {@code rid} at {@code pasid}. */
    long pasidEntryAddress(int rid, int pasid) {
        long dir = memory.read64(contextEntryAddress(rid)) & ~0xFFFL;
        long table = memory.read64(dir + (pasid >>> 6) * 8L) & ~0xFFFL;
        return table + (pasid & 0x3F) * 64L;
    }

    /** Address of the SL or FL leaf entry slot that maps {@code iova} with {@code levels} levels from {@code root}, or -1. */
    long leafSlot(long root, int levels, long iova, int leafShift) {
        long table = root;
        for (int l = 0; l < levels; l++) {
            int shift = 12 + 9 * (levels - 1 - l);
            long slot = table + ((iova >>> shift) & 0x1FF) * 8;
            if (shift == leafShift) {
                return slot;
            }
            table = memory.read64(slot) & 0x000F_FFFF_FFFF_F000L;
        }
        return -1;
    }

    @Override
    public void close() {
        driver.close();
    }
}
