package dev.iommukit.backend.smmuv3.driver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.backend.smmuv3.TestMachine;
import dev.iommukit.backend.smmuv3.arch.AtsCommand;
import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.backend.smmuv3.arch.L1StreamTableDescriptor;
import dev.iommukit.backend.smmuv3.arch.PriQueueRecord;
import dev.iommukit.backend.smmuv3.arch.StreamTableEntry;
import dev.iommukit.backend.smmuv3.hw.SmmuV3Hardware;
import dev.iommukit.spi.cap.Capability;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.DmaRequest;
import dev.iommukit.spi.dma.TranslationOutcome;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainOptions;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.iopf.PageRequest;
import dev.iommukit.spi.iopf.PageRequestMessage;
import dev.iommukit.spi.iopf.PageResponseCode;
import dev.iommukit.spi.iopf.PageResponseMessage;
import dev.iommukit.spi.mmio.InterruptLine;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The driver's page request support, observed through registers, memory and the DMA port. */
class PageRequestDriverTest {
    private static final long OVF = 1L << 31;
    private final TestMachine m = new TestMachine();
    private final List<PageResponseMessage> responses = new CopyOnWriteArrayList<>();
    private final int sid = TestMachine.DEV.value();

    PageRequestDriverTest() {
        m.unit.dmaPort().connectPageResponses(responses::add);
    }

    private long[] ste(int streamId) {
        long base = m.reg("STRTAB_BASE") & StreamTableEntry.S1_CONTEXT_PTR.mask();
        long l2 = L1StreamTableDescriptor.l2Pointer(m.memory.read64(base + 8L * (streamId >>> 8)));
        long a = l2 + 64L * (streamId & 0xFF);
        long[] w = new long[8];
        for (int i = 0; i < 8; i++) {
            w[i] = m.memory.read64(a + 8L * i);
        }
        return w;
    }

    private int cmdqProd() {
        return (int) m.reg("CMDQ_PROD");
    }

    /** The commands the driver wrote since CMDQ_PROD was {@code from}, in order (a completed CMD_SYNC as its opcode alone). */
    private List<long[]> commandsSince(int from) {
        long base = m.reg("CMDQ_BASE") & 0x000F_FFFF_FFFF_FFE0L;
        int entries = 1 << CommandQueue.LOG2_ENTRIES;
        int to = cmdqProd();
        List<long[]> out = new ArrayList<>();
        for (int i = from; (i & (2 * entries - 1)) != (to & (2 * entries - 1)); i++) {
            long slot = base + 16L * (i & (entries - 1));
            long d0 = m.memory.read64(slot);
            long d1 = m.memory.read64(slot + 8);
            // a completed CMD_SYNC: its MSI write of 0 over its own slot cleared the low word (opcode included)
            out.add((d0 & 0xFFFF_FFFFL) == 0 && d1 == slot ? new long[] {Command.SYNC, d1} : new long[] {d0, d1});
        }
        return out;
    }

    private static int indexOf(List<long[]> commands, long[] wanted) {
        for (int i = 0; i < commands.size(); i++) {
            if (commands.get(i)[0] == wanted[0] && commands.get(i)[1] == wanted[1]) {
                return i;
            }
        }
        return -1;
    }

    private static List<Integer> opcodes(List<long[]> commands) {
        return commands.stream().map(c -> (int) Command.OPCODE.get(c[0])).toList();
    }

    private BackendDomain attachPaging() {
        m.unit.probeDevice(TestMachine.DEV, 8);
        BackendDomain d = m.unit.allocateDomain(DomainType.PAGING, DomainOptions.DEFAULT);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, d);
        return d;
    }

    private void pageRequest(int pasid, long page, boolean write, int group, boolean last) {
        m.unit.dmaPort().pageRequest(new PageRequestMessage(sid, pasid, page, !write, write, false, false, group, last));
    }

    @Test
    void unitAndDevicesAdvertiseThePriQueue() {
        assertThat(m.unit.capabilities().parameters(Capability.PAGE_REQUEST)).hasValue(Map.of("queue", "priq", "queueEntries", "256"));
        assertThat(m.unit.probeDevice(TestMachine.DEV, 0).capabilities().parameters(Capability.PAGE_REQUEST))
                .hasValue(Map.of("queue", "priq", "queueEntries", "256"));
        assertThat(m.unit.probeDevice(TestMachine.DEV2, 20).capabilities().has(Capability.PAGE_REQUEST)).isTrue();
        assertThat(m.reg("PRIQ_BASE") & 0x1F).as("LOG2SIZE").isEqualTo(8);
        assertThat(m.reg("PRIQ_BASE") >>> 62 & 1).as("WA").isEqualTo(1);
    }

    @Test
    void enableWritesEatsAndPparThenInvalidatesTheAtcAndDisableUndoesItInReverse() {
        attachPaging();
        assertThat(StreamTableEntry.EATS.get(ste(sid)[1])).isZero();
        long[] before = ste(sid);
        int from = cmdqProd();
        m.unit.enablePageRequests(TestMachine.DEV);
        long[] after = ste(sid);
        assertThat(StreamTableEntry.EATS.get(after[1])).isEqualTo(StreamTableEntry.EATS_FULL);
        assertThat(StreamTableEntry.PPAR.get(after[1])).isEqualTo(1);
        assertThat(after[1] & ~(StreamTableEntry.EATS.mask() | StreamTableEntry.PPAR.mask())).isEqualTo(before[1]);
        assertThat(after[0]).isEqualTo(before[0]);
        List<long[]> cmds = commandsSince(from);
        int cfgi = indexOf(cmds, Command.cfgiSte(sid, true));
        int atc = indexOf(cmds, AtsCommand.atcInvAll(sid, false, 0));
        assertThat(cfgi).as("STE first, with CFGI_STE").isGreaterThanOrEqualTo(0);
        assertThat(atc).as("then ATC_INV of the StreamID").isGreaterThan(cfgi);
        assertThat(opcodes(cmds).subList(atc + 1, cmds.size())).as("and a CMD_SYNC").containsExactly(Command.SYNC);

        from = cmdqProd();
        m.unit.disablePageRequests(TestMachine.DEV);
        cmds = commandsSince(from);
        assertThat(indexOf(cmds, AtsCommand.atcInvAll(sid, false, 0))).as("ATC_INV first")
                .isLessThan(indexOf(cmds, Command.cfgiSte(sid, true))).isZero();
        assertThat(ste(sid)).containsExactly(before);
    }

    @Test
    void eatsFollowsTheStePerConfigAcrossAttachments() {
        BackendDomain paging = attachPaging();
        m.unit.enablePageRequests(TestMachine.DEV);
        m.unit.attach(TestMachine.DEV, Pasid.NONE, m.unit.allocateDomain(DomainType.IDENTITY, DomainOptions.DEFAULT));
        assertThat(StreamTableEntry.CONFIG.get(ste(sid)[0])).isEqualTo(StreamTableEntry.CONFIG_BYPASS);
        assertThat(ste(sid)[1]).as("bypass STE: EATS ignored, not written").isZero();
        m.unit.attach(TestMachine.DEV, Pasid.NONE, paging);
        assertThat(StreamTableEntry.EATS.get(ste(sid)[1])).isEqualTo(StreamTableEntry.EATS_FULL);
        BackendDomain s2 = m.unit.allocateDomain(DomainType.PAGING, new DomainOptions(true));
        m.unit.attach(TestMachine.DEV, Pasid.NONE, s2);
        assertThat(StreamTableEntry.CONFIG.get(ste(sid)[0])).isEqualTo(StreamTableEntry.CONFIG_S2);
        assertThat(StreamTableEntry.EATS.get(ste(sid)[1])).isEqualTo(StreamTableEntry.EATS_FULL);
    }

    @Test
    void pageRequestIsReportedWithItsPriRecordAndTheQueueConsumed() {
        attachPaging();
        m.unit.enablePageRequests(TestMachine.DEV);
        m.unit.dmaPort().pageRequest(new PageRequestMessage(sid, 5, 0x7654_3000L, true, false, true, true, 0x17, true));
        assertThat(m.pageRequests).hasSize(1);
        PageRequest r = m.pageRequests.get(0);
        assertThat(r.requester()).isEqualTo(TestMachine.DEV);
        assertThat(List.of(r.pasid(), r.groupIndex())).containsExactly(5, 0x17);
        assertThat(r.pageAddress()).isEqualTo(0x7654_3000L);
        assertThat(List.of(r.read(), r.write(), r.execute(), r.privileged(), r.last())).containsExactly(true, false, true, true, true);
        long d0 = (long) sid | 5L << 32 | 1L << 58 | 1L << 59 | 1L << 60 | 1L << 62 | 1L << 63;
        assertThat(r.record().format()).isEqualTo("smmuv3-priq");
        assertThat(r.record().name()).isEqualTo("PAGE_REQUEST");
        assertThat(r.record().words()).containsExactly(d0, 0x7654_3000L | 0x17);
        assertThat(r.record().fields()).containsEntry("SSV", 1L).containsEntry("PRGIndex", 0x17L);
        long priq = m.reg("PRIQ_BASE") & 0x000F_FFFF_FFFF_FFE0L;
        assertThat(m.memory.read64(priq)).isEqualTo(d0);
        assertThat(m.reg("PRIQ_PROD")).isEqualTo(1);
        assertThat(m.reg("PRIQ_CONS")).isEqualTo(1);
        // a request without PASID, then a Stop PASID marker (consumed, not reported)
        pageRequest(Pasid.NONE, 0x1000, true, 1, false);
        m.unit.dmaPort().pageRequest(new PageRequestMessage(sid, 5, 0, false, false, false, false, 0, true));
        assertThat(m.pageRequests).hasSize(2);
        assertThat(m.pageRequests.get(1).pasid()).isEqualTo(Pasid.NONE);
        assertThat(m.pageRequests.get(1).write()).isTrue();
        assertThat(m.reg("PRIQ_CONS")).isEqualTo(3);
        assertThat(m.faults).isEmpty();
    }

    @ParameterizedTest
    @EnumSource(PageResponseCode.class)
    void respondSendsCmdPriResp(PageResponseCode code) {
        attachPaging();
        m.unit.enablePageRequests(TestMachine.DEV);
        pageRequest(9, 0x5000, true, 0x1FF, true);
        pageRequest(Pasid.NONE, 0x6000, false, 3, true);
        int from = cmdqProd();
        m.unit.respondPageRequest(m.pageRequests.get(0), code);
        m.unit.respondPageRequest(m.pageRequests.get(1), code);
        assertThat(responses).containsExactly(new PageResponseMessage(sid, 9, 0x1FF, code),
                new PageResponseMessage(sid, Pasid.NONE, 3, code));
        int resp = switch (code) {
            case SUCCESS -> 2;
            case INVALID_REQUEST -> 1;
            case RESPONSE_FAILURE -> 0;
        };
        List<long[]> cmds = commandsSince(from);
        assertThat(cmds.get(0)).containsExactly(AtsCommand.priResp(sid, true, 9, 0x1FF, resp));
        assertThat(cmds.get(2)).containsExactly(AtsCommand.priResp(sid, false, 0, 3, resp));
        assertThat(opcodes(cmds)).containsExactly(Command.PRI_RESP, Command.SYNC, Command.PRI_RESP, Command.SYNC);
    }

    @Test
    void responseMatchingNoRequestIsStillSent() { // the SMMU keeps no page request group state
        attachPaging();
        m.unit.respondPageRequest(new PageRequest(TestMachine.DEV, 4, 0x1000, true, false, false, false, 77, true,
                PriQueueRecord.of(0, 0)), PageResponseCode.SUCCESS);
        assertThat(responses).containsExactly(new PageResponseMessage(sid, 4, 77, PageResponseCode.SUCCESS));
    }

    @Test
    void atsTranslationThroughTheUnit() {
        BackendDomain d = attachPaging();
        d.map(0x10_0000, TestMachine.RAM + 0x30_0000, 4096, 1, Permissions.READ);
        TranslationOutcome out = new TranslationOutcome();
        m.unit.dmaPort().translateAts(DmaRequest.of(sid, Pasid.NONE, 0x10_0010, 4, AccessType.READ), out);
        assertThat(out.fault().record().name()).as("ATS not enabled").isEqualTo("F_BAD_ATS_TREQ");
        assertThat(m.faults).hasSize(1);
        assertThat(m.faults.get(0).reason()).isEqualTo(FaultReason.UNSUPPORTED_REQUEST);
        m.unit.enablePageRequests(TestMachine.DEV);
        m.unit.dmaPort().translateAts(DmaRequest.of(sid, Pasid.NONE, 0x10_0010, 4, AccessType.READ), out);
        assertThat(out.physicalAddress()).isEqualTo(TestMachine.RAM + 0x30_0010);
        m.unit.dmaPort().translateAts(DmaRequest.of(sid, Pasid.NONE, 0x10_0010, 4, AccessType.WRITE), out);
        assertThat(out.fault().reason()).isEqualTo(FaultReason.PERMISSION);
        m.unit.dmaPort().translateAts(DmaRequest.of(sid, Pasid.NONE, 0x20_0000, 4, AccessType.READ), out);
        assertThat(out.fault().reason()).isEqualTo(FaultReason.NOT_MAPPED);
        assertThat(m.faults).as("no event for ATS translation faults").hasSize(1);
    }

    @Test
    void unmapInvalidatesTheAtcOfAtsMastersAfterTheTlb() {
        BackendDomain d = attachPaging();
        m.unit.attach(TestMachine.DEV, 3, d);
        m.unit.enablePageRequests(TestMachine.DEV);
        d.map(0x10_0000, TestMachine.RAM + 0x30_0000, 4096, 2, Permissions.READ | Permissions.WRITE);
        int from = cmdqProd();
        d.unmap(0x10_0000, 0x2000);
        List<long[]> cmds = commandsSince(from);
        int noPasid = indexOf(cmds, AtsCommand.atcInv(sid, false, 0, 0x10_0000, 1));
        int pasid3 = indexOf(cmds, AtsCommand.atcInv(sid, true, 3, 0x10_0000, 1));
        int firstSync = opcodes(cmds).indexOf(Command.SYNC);
        assertThat(opcodes(cmds.subList(0, firstSync))).as("TLB invalidation first").allMatch(op -> op >= 0x10 && op < 0x40);
        assertThat(noPasid).isGreaterThan(firstSync);
        assertThat(pasid3).isGreaterThan(firstSync);
        assertThat(opcodes(cmds).get(cmds.size() - 1)).isEqualTo(Command.SYNC);
        // without ATS: no ATC_INV
        m.unit.disablePageRequests(TestMachine.DEV);
        d.map(0x10_0000, TestMachine.RAM + 0x30_0000, 4096, 1, Permissions.READ);
        from = cmdqProd();
        d.unmap(0x10_0000, 0x1000);
        assertThat(opcodes(commandsSince(from))).doesNotContain(Command.ATC_INV);
    }

    @Test
    void attachChangeFlushesTheAtcOfThatContext() {
        BackendDomain d = attachPaging();
        m.unit.enablePageRequests(TestMachine.DEV);
        int from = cmdqProd();
        m.unit.attach(TestMachine.DEV, 4, d);
        assertThat(indexOf(commandsSince(from), AtsCommand.atcInvAll(sid, true, 4))).isGreaterThanOrEqualTo(0);
    }

    /** A unit whose PRI interrupt reaches nobody, so requests stay queued until a drain. */
    private static final class QuietUnit {
        final TestMachine host = new TestMachine();
        final List<PageRequest> reported = new CopyOnWriteArrayList<>();
        final List<PageResponseMessage> responses = new CopyOnWriteArrayList<>();
        final long pagesBefore = host.allocator.allocatedPages();
        final SmmuV3Hardware hw;
        final SmmuV3Driver driver;

        QuietUnit(boolean pri) {
            AtomicReference<SmmuV3Driver> ref = new AtomicReference<>();
            hw = new SmmuV3Hardware(host.memory, 16, () -> {
                if (ref.get() != null) {
                    ref.get().onEventInterrupt();
                }
            }, InterruptLine.NONE, pri);
            driver = new SmmuV3Driver("quiet", hw.registers(), host.allocator, f -> { }, reported::add, hw.dmaPort(),
                    DriverOptions.DEFAULT);
            ref.set(driver);
            hw.dmaPort().connectPageResponses(responses::add);
        }

        void request(int group, boolean last) {
            hw.dmaPort().pageRequest(new PageRequestMessage(0x18, Pasid.NONE, 0x1000L * group, true, false, false, false,
                    group & 0x1FF, last));
        }

        long reg(String name) {
            return driver.registers().get(name);
        }
    }

    @Test
    void drainReportsEveryAcceptedRequest() {
        QuietUnit q = new QuietUnit(true);
        for (int i = 0; i < 3; i++) {
            q.request(i, true);
        }
        assertThat(q.reported).isEmpty();
        assertThat(q.reg("PRIQ_PROD")).isEqualTo(3);
        q.driver.drainPageRequests(TestMachine.DEV, Pasid.NONE);
        assertThat(q.reported).extracting(PageRequest::groupIndex).containsExactly(0, 1, 2);
        assertThat(q.reg("PRIQ_CONS")).isEqualTo(3);
        q.driver.close();
        assertThat(q.host.allocator.allocatedPages()).as("PRI queue freed at close").isEqualTo(q.pagesBefore);
    }

    @Test
    void overflowIsAcknowledgedAfterCatchingUp() {
        QuietUnit q = new QuietUnit(true);
        for (int i = 0; i < 256; i++) {
            q.request(i, false);
        }
        q.request(300, true);
        assertThat(q.reg("PRIQ_PROD")).as("full, then OVFLG").isEqualTo(OVF | 256);
        assertThat(q.responses).containsExactly(new PageResponseMessage(0x18, Pasid.NONE, 300 & 0x1FF, PageResponseCode.SUCCESS));
        q.driver.drainPageRequests(TestMachine.DEV, Pasid.NONE);
        assertThat(q.reported).hasSize(256);
        assertThat(q.reg("PRIQ_CONS")).as("caught up, OVACKFLG = OVFLG").isEqualTo(OVF | 256);
        q.request(7, true);
        q.driver.drainPageRequests(TestMachine.DEV, Pasid.NONE);
        assertThat(q.reported).hasSize(257);
        assertThat(q.reported.get(256).groupIndex()).isEqualTo(7);
        q.driver.close();
    }

    @Test
    void unitWithoutPriAdvertisesNothingAndRefuses() {
        QuietUnit q = new QuietUnit(false);
        assertThat(q.driver.capabilities().has(Capability.PAGE_REQUEST)).isFalse();
        assertThat(q.driver.probeDevice(TestMachine.DEV, 8).capabilities().has(Capability.PAGE_REQUEST)).isFalse();
        assertThatThrownBy(() -> q.driver.enablePageRequests(TestMachine.DEV)).isInstanceOf(NotSupportedException.class)
                .hasMessageContaining("IDR0.PRI=0");
        assertThat(q.driver.registers()).doesNotContainKey("PRIQ_BASE");
        assertThat(q.reg("CR0")).as("no PRIQEN").isEqualTo(0x1D);
        q.driver.close();
        assertThat(q.host.allocator.allocatedPages()).isEqualTo(q.pagesBefore);
    }

    @Test
    void unitOptionPriFalseBuildsAnSmmuWithoutPri() {
        TestMachine noPri = new TestMachine(Map.of("pri", "false"));
        assertThat(noPri.unit.capabilities().has(Capability.PAGE_REQUEST)).isFalse();
        assertThat(noPri.reg("IDR0") >>> 16 & 1).isZero();
        assertThat(new TestMachine(Map.of("pri", "true")).unit.capabilities().has(Capability.PAGE_REQUEST)).isTrue();
        assertThatThrownBy(() -> new TestMachine(Map.of("pri", "maybe"))).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("pri");
        assertThatThrownBy(() -> new TestMachine(Map.of("bogus", "1"))).isInstanceOf(InvalidArgumentException.class)
                .hasMessageContaining("bogus").hasMessageContaining("pri");
    }

    @Test
    void responsesFromAnotherThreadInterleaveWithControlCalls() throws Exception {
        BackendDomain d = attachPaging();
        m.unit.enablePageRequests(TestMachine.DEV);
        PageRequest request = new PageRequest(TestMachine.DEV, 2, 0x1000, true, false, false, false, 1, true, PriQueueRecord.of(0, 0));
        int rounds = 300;
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread responder = new Thread(() -> {
            try {
                for (int i = 0; i < rounds; i++) {
                    m.unit.respondPageRequest(request, PageResponseCode.SUCCESS);
                    m.unit.drainPageRequests(TestMachine.DEV, Pasid.NONE);
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        responder.start();
        for (int i = 0; i < rounds; i++) {
            d.map(0x40_0000, TestMachine.RAM + 0x50_0000, 4096, 1, Permissions.READ);
            d.unmap(0x40_0000, 4096);
            pageRequest(Pasid.NONE, 0x3000, false, i & 0x1FF, true);
        }
        responder.join();
        assertThat(failure.get()).isNull();
        assertThat(responses).hasSize(rounds);
        assertThat(m.pageRequests).hasSize(rounds);
        assertThat(m.reg("GERROR")).isEqualTo(m.reg("GERRORN"));
    }
}
