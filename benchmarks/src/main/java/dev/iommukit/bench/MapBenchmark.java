package dev.iommukit.bench;

import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.spi.domain.Permissions;
import java.util.HashMap;
import java.util.Map;
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
 * Map and unmap through the whole stack (core checks, table writes, strict invalidation through
 * the architecture's queue) for 4 KiB pages and 2 MiB blocks, beside a baseline measured in the
 * same run: a put and a remove in a {@code HashMap<Long, Long>}.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
@State(Scope.Thread)
public class MapBenchmark {
    @Param({"smmuv3", "vtd"})
    public String backend;

    private Machine machine;
    private PagingDomain domain;
    private final Map<Long, Long> hashMap = new HashMap<>();
    private long counter;

    @Setup(Level.Trial)
    public void setUp() {
        machine = Machine.preset(backend).build();
        domain = machine.devices().get(0).unit().newPagingDomain();
        machine.devices().get(0).attach(domain);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        machine.close();
    }

    /** Map then unmap one 4 KiB page (the unmap waits for its invalidation). */
    @Benchmark
    public long mapUnmap4K() {
        long iova = 0x100_0000L + ((counter++ & 255) << 12);
        domain.map(iova, 0x8000_0000L, 0x1000, Permissions.READ_WRITE);
        return domain.unmap(iova, 0x1000);
    }

    /** Map then unmap one 2 MiB block. */
    @Benchmark
    public long mapUnmap2M() {
        long iova = 0x4000_0000L + ((counter++ & 63) << 21);
        domain.map(iova, 0x8000_0000L, 0x20_0000, Permissions.READ_WRITE);
        return domain.unmap(iova, 0x20_0000);
    }

    /** Baseline: a put and a remove in a HashMap. */
    @Benchmark
    public Long baselineHashMapPutRemove() {
        long key = 0x100_0000L + ((counter++ & 255) << 12);
        hashMap.put(key, key);
        return hashMap.remove(key);
    }
}
