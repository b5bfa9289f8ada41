package dev.iommukit.conformance.sva;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.iommukit.api.CpuArchitecture;
import dev.iommukit.api.Device;
import dev.iommukit.api.DmaAttributes;
import dev.iommukit.api.DmaResult;
import dev.iommukit.api.Machine;
import dev.iommukit.api.PagingDomain;
import dev.iommukit.api.Process;
import dev.iommukit.conformance.ConformanceGroup;
import dev.iommukit.conformance.KitSubject;
import dev.iommukit.conformance.Rule;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.NotFoundException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.Fault;
import dev.iommukit.spi.fault.FaultReason;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Shared virtual addressing: a device bound to a process reaches the process's memory at the
 * process's virtual addresses, through the process's own CPU page tables, with requests tagged
 * with the process's PASID. The kit's machines use the CPU whose format the unit's SVA capability
 * names. Everything is seen through DMA and the process's memory: bytes the process wrote are
 * read by the device and the other way round; munmap is seen before it returns; a process exit
 * makes its PASID fault quietly until unbound; and every refusal changes nothing.
 */
public abstract class SvaRules extends ConformanceGroup {
    /** How long a fault may take to reach a handler. A bound for asynchronous delivery, never an assertion on time. */
    private static final long DELIVERY_BOUND_MILLIS = 10_000;

    protected SvaRules(KitSubject subject) {
        super(subject);
    }

    // ------------------------------------------------------------------ fixtures

    /** Skips, saying why, unless the unit and {@code devices} advertise SVA for the machine's CPU. */
    private void assumeSva(Device... devices) {
        assumeAdvertised(Capability.SVA);
        for (Device d : devices) {
            Assumptions.assumeTrue(d.capabilities().has(Capability.SVA),
                    () -> "device " + d.name() + " of backend " + backendId() + " does not advertise SVA");
        }
        String format = caps().parameter(Capability.SVA, "cpuFormat").orElse("");
        Assumptions.assumeTrue(format.equals(machine.cpu().formatName()), () -> "backend " + backendId()
                + " advertises SVA for cpuFormat '" + format + "', which no CPU of the kit has (known: aarch64, x86-64)");
    }

    private Process process(String name) {
        return machine.newProcess(name);
    }

    private static byte[] pattern(int seed, int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (seed * 41 + i * 13 + (i >> 8));
        }
        return b;
    }

    /** What the process's CPU stores: bytes written at {@code va} through its own page tables. */
    private void processWrites(Process p, long va, byte[] bytes) {
        int done = 0;
        while (done < bytes.length) {
            long a = va + done;
            int chunk = (int) Math.min(bytes.length - done, PAGE - (a & (PAGE - 1)));
            long pa = p.resolve(a);
            assertThat(pa).as("%s resolves 0x%x", p, a).isNotNegative();
            machine.memory().write(pa, bytes, done, chunk);
            done += chunk;
        }
    }

    /** What the process's CPU loads from {@code va}. */
    private byte[] processReads(Process p, long va, int length) {
        byte[] out = new byte[length];
        int done = 0;
        while (done < length) {
            long a = va + done;
            int chunk = (int) Math.min(length - done, PAGE - (a & (PAGE - 1)));
            long pa = p.resolve(a);
            assertThat(pa).as("%s resolves 0x%x", p, a).isNotNegative();
            machine.memory().read(pa, out, done, chunk);
            done += chunk;
        }
        return out;
    }

    /**
     * Asserts, with bytes, that DMA from {@code d} tagged with {@code pasid} at {@code va} reads
     * what the process wrote there, and that what it writes the process then reads.
     */
    private void assertSharesMemory(Device d, int pasid, Process p, long va, int length, int seed) {
        byte[] written = pattern(seed, length);
        processWrites(p, va, written);
        byte[] seen = new byte[length];
        DmaResult r = d.read(va, seen, DmaAttributes.pasid(pasid));
        assertThat(r.ok()).withFailMessage("a read of %d bytes from %s pasid %d at 0x%x (memory of %s) faulted after %d bytes: %s",
                length, d.name(), pasid, va, p, r.bytesTransferred(), r.fault()).isTrue();
        assertThat(seen).as("bytes %s read through pasid %d at 0x%x, as %s wrote them", d.name(), pasid, va, p).isEqualTo(written);
        byte[] fromDevice = pattern(seed + 1, length);
        DmaResult w = d.write(va, fromDevice, DmaAttributes.pasid(pasid));
        assertThat(w.ok()).withFailMessage("a write of %d bytes from %s pasid %d at 0x%x (memory of %s) faulted after %d bytes: %s",
                length, d.name(), pasid, va, p, w.bytesTransferred(), w.fault()).isTrue();
        assertThat(processReads(p, va, length)).as("bytes %s wrote through pasid %d at 0x%x, as %s reads them", d.name(), pasid, va, p)
                .isEqualTo(fromDevice);
    }

    private static Fault assertFaultsWith(FaultReason reason, Device d, int pasid, long va, AccessType access) {
        Fault f = assertFaults(d, pasid, va, access);
        assertThat(f.reason()).as("reason of the fault of %s", describe(d, pasid, va, access)).isEqualTo(reason);
        return f;
    }

    /** SVA bookkeeping the outside sees, with the standard state and the outcome of {@code probes}. */
    private record SvaState(State state, int pasidsInUse, long processPages, Map<String, Map<Process, Integer>> bindings,
                            Map<String, Integer> processPasids) {}

    private SvaState svaState(Machine m, List<Process> processes, Probe... probes) {
        Map<String, Map<Process, Integer>> bindings = new LinkedHashMap<>();
        for (Device d : m.devices()) {
            bindings.put(d.name(), d.svaBindings());
        }
        Map<String, Integer> pasids = new LinkedHashMap<>();
        for (Process p : processes) {
            pasids.put(p.toString(), p.pasid());
        }
        return new SvaState(state(m, probes), m.pasidsInUse(), m.processPagesInUse(), bindings, pasids);
    }

    private void assertSvaUnchanged(Machine m, SvaState before, List<Process> processes, Probe... probes) {
        SvaState now = svaState(m, processes, probes);
        assertThat(now).withFailMessage("a refused call changed state (it must change nothing and take no PASID):%n before %s%n after  %s",
                before, now).isEqualTo(before);
    }

    /** Keeps the faults a device's handler receives, for rules about what is (not) reported. */
    private static final class Faults {
        final List<Fault> received = new CopyOnWriteArrayList<>();

        boolean await(Predicate<Fault> p) {
            long deadline = System.nanoTime() + DELIVERY_BOUND_MILLIS * 1_000_000L;
            while (received.stream().noneMatch(p)) {
                if (System.nanoTime() - deadline > 0) {
                    return false;
                }
                try {
                    Thread.sleep(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return true;
        }
    }

    // ------------------------------------------------------------------ rules

    @Test
    @Rule(id = "SVA-1")
    @DisplayName("SVA is advertised with a known cpuFormat, addressBits covering the CPU's virtual addresses and pasidBits within the device's width, only by devices with PASIDs; where it is not advertised bindSva is refused with NOT_SUPPORTED, taking no PASID and changing nothing")
    public void svaCapabilityShapeAndRefusal() {
        Process p = process("sva1");
        long va = p.mmap(PAGE, Permissions.READ_WRITE);
        List<Process> processes = List.of(p);
        assertThat(devNoPasid.capabilities().has(Capability.SVA))
                .as("device %s without PASID support advertises SVA", devNoPasid.name()).isFalse();
        if (caps().has(Capability.SVA)) {
            String format = caps().parameter(Capability.SVA, "cpuFormat").orElse("");
            assertThat(format).as("SVA cpuFormat of unit %s", unit.name()).isIn("aarch64", "x86-64");
            assertThat(machine.cpu().formatName()).as("the kit's machine uses the CPU the SVA capability names").isEqualTo(format);
            for (Device d : List.of(devA, devB)) {
                CapabilitySet dc = d.capabilities();
                assertThat(dc.has(Capability.SVA)).as("device %s (%d PASID bits) on a unit advertising SVA advertises SVA",
                        d.name(), d.pasidBits()).isTrue();
                assertThat(dc.parameter(Capability.SVA, "cpuFormat")).as("SVA cpuFormat of %s", d.name()).hasValue(format);
            }
            for (CapabilitySet c : List.of(caps(), devA.capabilities())) {
                int addressBits = Integer.parseInt(c.parameter(Capability.SVA, "addressBits").orElse("-1"));
                assertThat(addressBits).as("SVA addressBits of %s covers the %d-bit virtual addresses of %s", c, p.addressBits(), p)
                        .isBetween(p.addressBits(), 64);
                int pasidBits = Integer.parseInt(c.parameter(Capability.SVA, "pasidBits").orElse("-1"));
                assertThat(pasidBits).as("SVA pasidBits of %s", c).isBetween(1, Pasid.MAX_WIDTH);
            }
            int bits = Integer.parseInt(devA.capabilities().parameter(Capability.SVA, "pasidBits").orElseThrow());
            assertThat(bits).as("SVA pasidBits of %s", devA.name()).isBetween(1, devA.pasidBits());
        }
        Probe[] probes = {Probe.read(devNoPasid, va), new Probe(devA, 1, va, AccessType.READ)};
        SvaState before = svaState(machine, processes, probes);
        assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "SVA", () -> devNoPasid.bindSva(p));
        if (!caps().has(Capability.SVA)) {
            for (Device d : List.of(devA, devB)) {
                assertThat(d.capabilities().has(Capability.SVA)).as("device %s advertises SVA though its unit does not", d.name()).isFalse();
                assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "SVA", () -> d.bindSva(p));
            }
        }
        assertSvaUnchanged(machine, before, processes, probes);
        assertThat(machine.pasidsInUse()).as("PASIDs in use after refused binds").isZero();
        assertThat(p.pasid()).as("PASID of %s after refused binds", p).isEqualTo(Pasid.NONE);
    }

    @Test
    @Rule(id = "SVA-2")
    @DisplayName("a bound device reads the bytes the process wrote and writes bytes the process then reads, at the process's virtual addresses, tagged with the PASID bindSva returned; requests without PASID, with another PASID or from an unbound device do not reach them")
    public void boundDeviceSharesTheProcessMemory() {
        assumeSva(devA);
        Process p = process("sva2");
        long va = p.mmap(4 * PAGE, Permissions.READ_WRITE);
        processWrites(p, va, pattern(1, (int) (4 * PAGE)));
        int pasid = devA.bindSva(p);
        assertThat(pasid).as("the SVA PASID lies in 1..2^%d-1", devA.pasidBits()).isBetween(1, (1 << devA.pasidBits()) - 1);
        assertThat(p.pasid()).as("the PASID of %s", p).isEqualTo(pasid);
        assertThat(devA.svaBindings()).containsExactly(Map.entry(p, pasid));
        assertThat(machine.pasidsInUse()).as("PASIDs in use with one SVA binding").isEqualTo(1);
        for (long off = 0; off < 4 * PAGE; off += PAGE) {
            assertReaches(devA, pasid, va + off + 0x18, AccessType.READ, p.resolve(va + off) + 0x18);
            assertReaches(devA, pasid, va + off + 0x20, AccessType.WRITE, p.resolve(va + off) + 0x20);
        }
        assertSharesMemory(devA, pasid, p, va + 0x100, 256, 2);
        assertSharesMemory(devA, pasid, p, va + PAGE - 0x80, (int) (2 * PAGE), 3);
        long later = p.mmap(PAGE, Permissions.READ_WRITE);
        assertSharesMemory(devA, pasid, p, later + 0x40, 128, 4);
        long pa = p.resolve(va);
        assertDoesNotReach(devA, Pasid.NONE, va, AccessType.READ, pa);
        assertDoesNotReach(devA, Pasid.NONE, va, AccessType.WRITE, pa);
        int top = (1 << devA.pasidBits()) - 1;
        for (int other : Set.of(pasid + 1, pasid + 7, top)) {
            if (other != pasid && other <= top) {
                assertDoesNotReach(devA, other, va, AccessType.READ, pa);
                assertDoesNotReach(devA, other, va, AccessType.WRITE, pa);
            }
        }
        assertDoesNotReach(devB, pasid, va, AccessType.READ, pa);
        assertDoesNotReach(devB, pasid, va, AccessType.WRITE, pa);
        byte[] before = processReads(p, va, 64);
        DmaResult w = devB.write(va, pattern(9, 64), DmaAttributes.pasid(pasid));
        assertThat(w.faulted()).as("a write from unbound %s with pasid %d", devB.name(), pasid).isTrue();
        assertThat(processReads(p, va, 64)).as("memory of %s after a write from an unbound device", p).isEqualTo(before);
        assertFaults(devA, pasid, va + 4 * PAGE, AccessType.READ);
    }

    @Test
    @Rule(id = "SVA-3")
    @DisplayName("binding a process twice returns the same PASID and counts; two devices get the process's one PASID; two processes get different PASIDs; each unbind drops one binding and the last one stops the DMA and frees the PASID")
    public void bindingsCountAndShareThePasid() {
        assumeSva(devA, devB);
        Process p = process("sva3p");
        Process q = process("sva3q");
        long va = p.mmap(PAGE, Permissions.READ_WRITE);
        long vq = q.mmap(PAGE, Permissions.READ_WRITE);
        int pasid = devA.bindSva(p);
        assertThat(devA.bindSva(p)).as("binding %s to %s again", p, devA.name()).isEqualTo(pasid);
        assertThat(devB.bindSva(p)).as("the PASID of %s on a second device", p).isEqualTo(pasid);
        int other = devA.bindSva(q);
        assertThat(other).as("PASIDs of two processes").isNotEqualTo(pasid);
        assertThat(q.pasid()).isEqualTo(other);
        assertThat(devA.svaBindings()).containsOnly(Map.entry(p, pasid), Map.entry(q, other));
        assertThat(devB.svaBindings()).containsOnly(Map.entry(p, pasid));
        assertThat(machine.pasidsInUse()).as("PASIDs in use with two processes bound").isEqualTo(2);
        assertReaches(devA, pasid, va, AccessType.WRITE, p.resolve(va));
        assertReaches(devB, pasid, va, AccessType.READ, p.resolve(va));
        assertReaches(devA, other, vq, AccessType.READ, q.resolve(vq));
        devA.unbindSva(p);
        assertThat(devA.svaBindings()).as("bindings of %s after one of two unbinds", devA.name()).containsEntry(p, pasid);
        assertSharesMemory(devA, pasid, p, va, 64, 5);
        devA.unbindSva(p);
        assertThat(devA.svaBindings()).containsOnly(Map.entry(q, other));
        assertDoesNotReach(devA, pasid, va, AccessType.READ, p.resolve(va));
        assertDoesNotReach(devA, pasid, va, AccessType.WRITE, p.resolve(va));
        assertSharesMemory(devB, pasid, p, va, 64, 6);
        assertThat(p.pasid()).as("PASID of %s while %s is still bound", p, devB.name()).isEqualTo(pasid);
        assertThat(machine.pasidsInUse()).isEqualTo(2);
        devB.unbindSva(p);
        assertDoesNotReach(devB, pasid, va, AccessType.READ, p.resolve(va));
        assertThat(p.pasid()).as("PASID of %s once unbound everywhere", p).isEqualTo(Pasid.NONE);
        assertThat(machine.pasidsInUse()).isEqualTo(1);
        assertRefused(NotFoundException.class, ErrorCode.NOT_FOUND, "process", () -> devB.unbindSva(p));
        assertReaches(devA, other, vq, AccessType.WRITE, q.resolve(vq));
        devA.unbindSva(q);
        assertThat(machine.pasidsInUse()).as("PASIDs in use once every binding is gone").isZero();
        assertThat(machine.tablePagesInUse()).as("table pages once every binding is gone").isEqualTo(pagesAtStart);
    }

    @Test
    @Rule(id = "SVA-4")
    @DisplayName("munmap by the process is seen before it returns: DMA to the unmapped page faults NOT_MAPPED and never reaches the old page, the other pages keep working, and a new mmap is reachable")
    public void munmapIsSeenBeforeItReturns() {
        assumeSva(devA, devB);
        Process p = process("sva4");
        long va = p.mmap(4 * PAGE, Permissions.READ_WRITE);
        int pasid = devA.bindSva(p);
        devB.bindSva(p);
        long[] pas = new long[4];
        for (int i = 0; i < 4; i++) {
            pas[i] = p.resolve(va + i * PAGE);
            for (Device d : List.of(devA, devB)) {
                assertReaches(d, pasid, va + i * PAGE + 8, AccessType.READ, pas[i] + 8);
                assertReaches(d, pasid, va + i * PAGE + 8, AccessType.WRITE, pas[i] + 8);
            }
        }
        p.munmap(va + PAGE, PAGE);
        for (Device d : List.of(devA, devB)) {
            assertDoesNotReach(d, pasid, va + PAGE + 8, AccessType.READ, pas[1] + 8);
            assertDoesNotReach(d, pasid, va + PAGE + 8, AccessType.WRITE, pas[1] + 8);
            assertFaultsWith(FaultReason.NOT_MAPPED, d, pasid, va + PAGE, AccessType.READ);
            assertReaches(d, pasid, va + 8, AccessType.READ, pas[0] + 8);
            assertReaches(d, pasid, va + 2 * PAGE + 8, AccessType.WRITE, pas[2] + 8);
        }
        assertSharesMemory(devA, pasid, p, va + 3 * PAGE, 128, 7);
        p.munmap(va, 4 * PAGE);
        for (int i = 0; i < 4; i++) {
            assertDoesNotReach(devA, pasid, va + i * PAGE, AccessType.READ, pas[i]);
            assertDoesNotReach(devB, pasid, va + i * PAGE, AccessType.WRITE, pas[i]);
        }
        long fresh = p.mmap(2 * PAGE, Permissions.READ_WRITE);
        assertSharesMemory(devA, pasid, p, fresh + 0x10, (int) PAGE, 8);
        assertSharesMemory(devB, pasid, p, fresh + PAGE, 64, 9);
        p.map(va + PAGE, PAGE, Permissions.READ_WRITE);
        assertSharesMemory(devA, pasid, p, va + PAGE, 64, 10);
    }

    @Test
    @Rule(id = "SVA-5")
    @DisplayName("after the process exits its PASID faults quietly (no fault reaches the device's handler, while a later fault without PASID does) and stays in use until unbound; binding the exited process is refused with CLOSED; unbind frees the PASID, the process's pages and the table pages")
    public void exitFaultsQuietlyUntilUnbound() {
        assumeSva(devA, devB);
        long tablePagesBefore = machine.tablePagesInUse();
        long processPagesBefore = machine.processPagesInUse();
        Process p = process("sva5");
        long va = p.mmap(2 * PAGE, Permissions.READ_WRITE);
        PagingDomain own = newPagingDomain();
        long sentinel = iova(own, 0x10 * PAGE);
        devA.attach(own);
        Faults faults = new Faults();
        devA.onFault(faults.received::add);
        int pasid = devA.bindSva(p);
        long pa = p.resolve(va);
        assertSharesMemory(devA, pasid, p, va, 64, 11);
        assertReaches(devA, pasid, va + PAGE, AccessType.WRITE, p.resolve(va + PAGE));
        p.exit();
        assertThat(p.isAlive()).isFalse();
        for (long off : new long[] {0, PAGE, 8 * PAGE}) {
            assertDoesNotReach(devA, pasid, va + off, AccessType.READ, pa + off);
            assertDoesNotReach(devA, pasid, va + off, AccessType.WRITE, pa + off);
        }
        assertFaultsWith(FaultReason.NOT_MAPPED, devA, Pasid.NONE, sentinel, AccessType.READ);
        assertThat(faults.await(f -> f.pasid() == Pasid.NONE && f.address() >>> 12 == sentinel >>> 12))
                .as("the NOT_MAPPED fault of a request without PASID at 0x%x (a sentinel after the quiet ones) reaches the handler of %s"
                        + " within %d ms; received %s", sentinel, devA.name(), DELIVERY_BOUND_MILLIS, faults.received).isTrue();
        assertThat(faults.received.stream().filter(f -> f.pasid() == pasid).toList())
                .as("faults of pasid %d reported after %s exited: they must be quiet", pasid, p).isEmpty();
        assertThat(machine.pasidsInUse()).as("PASIDs in use after the exit, before unbind").isEqualTo(1);
        assertThat(p.pasid()).as("PASID of the exited %s before unbind", p).isEqualTo(pasid);
        assertThat(devA.svaBindings()).containsExactly(Map.entry(p, pasid));
        Probe[] probes = {new Probe(devB, pasid, va, AccessType.READ), new Probe(devA, pasid, va, AccessType.READ)};
        SvaState before = svaState(machine, List.of(p), probes);
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "process", () -> devB.bindSva(p));
        assertRefused(ClosedException.class, ErrorCode.CLOSED, "process", () -> devA.bindSva(p));
        assertSvaUnchanged(machine, before, List.of(p), probes);
        devA.unbindSva(p);
        assertThat(devA.svaBindings()).isEmpty();
        assertThat(machine.pasidsInUse()).as("PASIDs in use after unbinding the exited process").isZero();
        assertThat(p.pasid()).isEqualTo(Pasid.NONE);
        assertThat(machine.processPagesInUse()).as("process pages after exit and unbind").isEqualTo(processPagesBefore);
        assertDoesNotReach(devA, pasid, va, AccessType.READ, pa);
        devA.detach();
        own.close();
        assertThat(machine.tablePagesInUse()).as("table pages after exit, unbind and closing the sentinel's domain")
                .isEqualTo(tablePagesBefore);
    }

    @Test
    @Rule(id = "SVA-6")
    @DisplayName("a process whose page tables have the other CPU format is refused with NOT_SUPPORTED naming both formats, taking no PASID and changing nothing")
    public void otherCpuFormatRefused() {
        assumeSva(devA);
        CpuArchitecture mine = machine.cpu();
        CpuArchitecture other = mine == CpuArchitecture.AARCH64 ? CpuArchitecture.X86_64 : CpuArchitecture.AARCH64;
        Machine foreign = track(subject.newMachineWithCpu(other));
        Device d = foreign.device(KitSubject.DEVICE_A);
        Process p = foreign.newProcess("sva6");
        long va = p.mmap(PAGE, Permissions.READ_WRITE);
        Probe[] probes = {new Probe(d, 1, va, AccessType.READ), Probe.read(d, va)};
        SvaState before = svaState(foreign, List.of(p), probes);
        NotSupportedException e = assertRefused(NotSupportedException.class, ErrorCode.NOT_SUPPORTED, "process", () -> d.bindSva(p));
        assertThat(e.getMessage()).as("the refusal names both formats").contains(other.formatName()).contains(mine.formatName());
        assertSvaUnchanged(foreign, before, List.of(p), probes);
        assertThat(foreign.pasidsInUse()).isZero();
        assertThat(p.pasid()).isEqualTo(Pasid.NONE);
        assertThat(d.svaBindings()).isEmpty();
    }

    @Test
    @Rule(id = "SVA-7")
    @DisplayName("read-only process pages refuse DMA writes with PERMISSION and keep their bytes, and two processes bound to one device are isolated: each PASID reaches only its own process's pages at the same virtual addresses")
    public void permissionsAndIsolationBetweenProcesses() {
        assumeSva(devA);
        Process p = process("sva7p");
        Process q = process("sva7q");
        long vp = p.mmap(PAGE, Permissions.READ_WRITE);
        long ro = p.mmap(PAGE, Permissions.READ);
        long vq = q.mmap(PAGE, Permissions.READ_WRITE);
        long onlyQ = Process.MMAP_BASE + 0x100 * PAGE;
        q.map(onlyQ, 3 * PAGE, Permissions.READ_WRITE);
        int pp = devA.bindSva(p);
        int pq = devA.bindSva(q);
        byte[] kept = pattern(12, 64);
        processWrites(p, ro, kept);
        byte[] seen = new byte[kept.length];
        DmaResult r = devA.read(ro, seen, DmaAttributes.pasid(pp));
        assertThat(r.ok()).withFailMessage("a read of read-only memory of %s faulted: %s", p, r.fault()).isTrue();
        assertThat(seen).isEqualTo(kept);
        assertFaultsWith(FaultReason.PERMISSION, devA, pp, ro + 8, AccessType.WRITE);
        DmaResult w = devA.write(ro, pattern(13, 64), DmaAttributes.pasid(pp));
        assertThat(w.faulted()).as("a DMA write to read-only memory of %s", p).isTrue();
        assertThat(w.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        assertThat(processReads(p, ro, 64)).as("read-only memory of %s after a refused DMA write", p).isEqualTo(kept);
        assertThat(vq).as("both processes' first mmap lies at the same virtual address").isEqualTo(vp);
        assertSharesMemory(devA, pp, p, vp, 128, 14);
        assertSharesMemory(devA, pq, q, vq, 128, 15);
        assertReaches(devA, pp, vp + 8, AccessType.WRITE, p.resolve(vp) + 8);
        assertReaches(devA, pq, vq + 8, AccessType.WRITE, q.resolve(vq) + 8);
        assertThat(p.resolve(vp)).isNotEqualTo(q.resolve(vq));
        for (long off = 0; off < 3 * PAGE; off += PAGE) {
            assertReaches(devA, pq, onlyQ + off, AccessType.READ, q.resolve(onlyQ + off));
            assertDoesNotReach(devA, pp, onlyQ + off, AccessType.READ, q.resolve(onlyQ + off));
            assertDoesNotReach(devA, pp, onlyQ + off, AccessType.WRITE, q.resolve(onlyQ + off));
        }
        assertDoesNotReach(devA, pq, ro, AccessType.READ, p.resolve(ro));
        assertDoesNotReach(devA, pq, ro, AccessType.WRITE, p.resolve(ro));
        p.munmap(vp, PAGE);
        assertFaults(devA, pp, vp, AccessType.READ);
        assertReaches(devA, pq, vq, AccessType.READ, q.resolve(vq));
    }

    @Test
    @Rule(id = "SVA-8")
    @Timeout(600)
    @DisplayName("while threads issue DMA at the process's PASID and the process munmaps and mmaps pages, no request that starts after munmap returned reaches the unmapped page, and every request that translates reaches the page its address maps to")
    public void munmapIsStrictUnderConcurrentDma() throws InterruptedException {
        assumeSva(devA, devB);
        Process p = process("sva8");
        int pasid = devA.bindSva(p);
        assertThat(devB.bindSva(p)).isEqualTo(pasid);
        SvaStorm.Result result = new SvaStorm(p, List.of(devA, devB), pasid).run(3, 16, 400, 0x5_1A_8L);
        assertThat(result.escaped()).as("exceptions thrown by DMA during the storm").isEmpty();
        assertThat(result.staleHits()).as("requests that started after munmap returned and still reached the old page: stale translations")
                .isEmpty();
        assertThat(result.strayHits()).as("requests that reached a page their address never mapped to").isEmpty();
        assertThat(result.requests()).as("requests issued during the storm").isPositive();
        Throwable t = catchThrowable(() -> devA.unbindSva(p));
        assertThat(t).as("unbind after the storm").isNull();
    }
}
