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
        // a physical base only 4 KiB aligned: the core can use no larger page, so every walk goes to the last level
        domain.map(IOVA, 0x8000_1000L, (long) MISS_PAGES * 4096, Permissions.READ_WRITE);
        device.attach(domain);
        hit = DmaRequest.of(device.rid().value(), Pasid.NONE, IOVA + 0x2040, 8, AccessType.READ);
        // every mapped page once, in random order: 16 times the IOTLB's 4096 entries, so nearly every request walks
        misses = new DmaRequest[MISS_PAGES - 2];
        for (int i = 0; i < misses.length; i++) {
            misses[i] = DmaRequest.of(device.rid().value(), Pasid.NONE, IOVA + (i + 2L) * 4096, 8, AccessType.READ);
        }
        for (int i = misses.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            DmaRequest t = misses[i];
            misses[i] = misses[j];
            misses[j] = t;
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

    /** Translation of 65534 pages of 4 KiB in random order, 16 times the IOTLB: nearly all misses, each a full walk and a fill. */
    @Benchmark
    public long translateIotlbMiss() {
        if (next >= misses.length) {
            next = 0;
        }
        device.translate(misses[next++], out);
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
