package dev.iommukit.backend.smmuv3.hw;

import dev.iommukit.spi.iopf.PageResponsePort;
import dev.iommukit.spi.dma.DmaPort;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.mmio.InterruptLine;
import dev.iommukit.spi.mmio.Mmio;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The hardware half of an Arm SMMUv3 (Non-secure interface, stage 1 and stage 2, AArch64 tables,
 * 48-bit OAS, 4K/16K/64K granules, 2-level stream and CD tables, MSIs, ATS (full ATS only) and
 * optionally PRI, no stall). It is reached only through its {@link #registers() register file},
 * physical memory and the event and PRI queue interrupts it raises; devices send DMA to its {@link #dmaPort()}. Resets with SMMUEN=0 and
 * GBPA.ABORT=1, so all traffic aborts until a driver enables it.
 */
public final class SmmuV3Hardware {
    /** Substream (PASID) bits supported: IDR1.SSIDSIZE. */
    public static final int SSID_BITS = 20;

    private final RegisterFile registers;
    private final EventQueueWriter eventQueue;
    private final CommandProcessor commands;
    private final TranslationEngine engine;
    private final PriQueueWriter priQueue;
    private final DevicePort port;

    /**
     * @param memory the machine's physical memory, where every structure lives
     * @param sidBits StreamID width advertised in IDR1.SIDSIZE (1..16)
     * @param eventInterrupt the wire raised when an event is written with EVENTQ_IRQEN set
     */
    public SmmuV3Hardware(PhysicalMemory memory, int sidBits, InterruptLine eventInterrupt) {
        this(memory, sidBits, eventInterrupt, InterruptLine.NONE, true);
    }

    /**
     * @param memory the machine's physical memory, where every structure lives
     * @param sidBits StreamID width advertised in IDR1.SIDSIZE (1..16)
     * @param eventInterrupt the wire raised when an event is written with EVENTQ_IRQEN set
     * @param priInterrupt the wire raised for the PRI queue with PRIQ_IRQEN set
     * @param pri whether the PCIe page request interface is implemented (IDR0.PRI; ATS always is)
     */
    public SmmuV3Hardware(PhysicalMemory memory, int sidBits, InterruptLine eventInterrupt, InterruptLine priInterrupt,
                          boolean pri) {
        if (sidBits < 1 || sidBits > 16) {
            throw new IllegalArgumentException("sidBits must be in 1..16, was " + sidBits);
        }
        ReadWriteLock walkLock = new ReentrantReadWriteLock();
        ConfigCache configs = new ConfigCache(sidBits);
        Iotlb tlb = new Iotlb();
        PageResponsePort responses = new PageResponsePort();
        this.registers = new RegisterFile(this, sidBits, SSID_BITS, pri);
        this.eventQueue = new EventQueueWriter(registers, memory, eventInterrupt);
        this.commands = new CommandProcessor(registers, memory, configs, tlb, walkLock, responses);
        this.engine = new TranslationEngine(registers, memory, configs, tlb, eventQueue, walkLock, sidBits, SSID_BITS);
        this.priQueue = new PriQueueWriter(registers, memory, priInterrupt, responses, engine::responsePasidRequired);
        this.port = new DevicePort(engine, priQueue, responses);
    }

    /** The register file, by offset (spec §1.1). */
    public Mmio registers() {
        return registers;
    }

    /** Where devices send DMA. */
    public DmaPort dmaPort() {
        return port;
    }

    EventQueueWriter eventQueue() {
        return eventQueue;
    }

    PriQueueWriter priQueue() {
        return priQueue;
    }

    void commandQueueKick() {
        if (commands != null) {
            commands.run();
        }
    }
}
