package dev.iommukit.bench;

import dev.iommukit.api.Device;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.Permissions;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * DMA translation on an IOTLB hit and on a miss (a full walk), beside two baselines measured in
 * the same run: a {@code HashMap<Long, Long>} lookup and four dependent random reads of a
 * {@code long[]} (the memory traffic of a four-level walk with no IOMMU logic at all).
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class TranslateBenchmark {
    /** Pages mapped for the miss benchmark: far more than any IOTLB holds. */
    private static final int MISS_PAGES = 1 << 16;
    private static final long IOVA = 0x1000_0000L;

    @Param({"smmuv3", "vtd"})
    public String backend;

    private Machine machine;
    private Device device;
    private DmaRequest hit;
    private DmaRequest[] misses;
    private int next;
    private final TranslationOutcome out = new TranslationOutcome();
    private final Map<Long, Long> hashMap = new HashMap<>();
    private long[] table;
    private Long[] hashKeys;
    private final SplittableRandom random = new SplittableRandom(42);

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.preset(backend).build();
        device = machine.devices().get(0);
        PagingDomain domain = device.unit().newPagingDomain();
        domain.map(IOVA, 0x8000_0000L, (long) MISS_PAGES * 4096, Permissions.READ_WRITE);
        device.attach(domain);
        // the core maps the largest pages alignment allows; split them to 4 KiB so misses walk to the last level
        domain.unmap(IOVA + 0x1000, 0x1000);
        hit = DmaRequest.of(device.rid().value(), Pasid.NONE, IOVA + 0x2040, 8, AccessType.READ);
        misses = new DmaRequest[4096];
        for (int i = 0; i < misses.length; i++) {
            long page = 2 + random.nextInt(MISS_PAGES - 2);
            misses[i] = DmaRequest.of(device.rid().value(), Pasid.NONE, IOVA + page * 4096, 8, AccessType.READ);
        }
        table = new long[1 << 22];
        for (int i = 0; i < table.length; i++) {
            table[i] = random.nextInt(table.length);
        }
        hashKeys = new Long[4096];
        for (int i = 0; i < 1 << 16; i++) {
            hashMap.put(IOVA + i * 4096L, 0x8000_0000L + i * 4096L);
        }
        for (int i = 0; i < hashKeys.length; i++) {
            hashKeys[i] = IOVA + random.nextInt(1 << 16) * 4096L;
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        machine.close();
    }

    /** Translation whose IOTLB entry is present: config lookup plus one IOTLB probe. */
    @Benchmark
    public long translateIotlbHit() {
        device.translate(hit, out);
        return out.physicalAddress();
    }

    /** Translation of pages spread over 256 MiB of 4 KiB mappings: mostly misses, each a full walk and a fill. */
    @Benchmark
    public long translateIotlbMiss() {
        device.translate(misses[next++ & (misses.length - 1)], out);
        return out.physicalAddress();
    }

    /** Baseline: one lookup in a HashMap holding 65536 page translations. */
    @Benchmark
    public Long baselineHashMapLookup() {
        return hashMap.get(hashKeys[next++ & (hashKeys.length - 1)]);
    }

    /** Baseline: four dependent random reads of a 32 MiB long[] (a walk's memory traffic, no logic). */
    @Benchmark
    public long baselineFourDependentReads() {
        long i = next++ & (table.length - 1);
        i = table[(int) i];
        i = table[(int) i];
        i = table[(int) i];
        return table[(int) i];
    }
}
