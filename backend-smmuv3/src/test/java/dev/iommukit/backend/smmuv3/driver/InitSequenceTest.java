package dev.iommukit.backend.smmuv3.driver;

import static dev.iommukit.backend.smmuv3.arch.SmmuRegisters.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.smmuv3.TestMachine;
import dev.iommukit.spi.mmio.Mmio;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The driver's initialisation, observed through register writes and memory. */
class InitSequenceTest {
    @Test
    void writesRegistersInLinuxOrderAndEndsEnabled() {
        TestMachine m = new TestMachine();
        // a second SMMU on the same machine, its register writes recorded
        List<String> writes = new ArrayList<>();
        dev.iommukit.backend.smmuv3.hw.SmmuV3Hardware hw =
                new dev.iommukit.backend.smmuv3.hw.SmmuV3Hardware(m.memory, 16, () -> { });
        Mmio regs = hw.registers();
        Mmio recording = new Mmio() {
            @Override
            public int read32(long offset) {
                return regs.read32(offset);
            }

            @Override
            public void write32(long offset, int value) {
                writes.add(String.format("%x=%x", offset, value));
                regs.write32(offset, value);
            }

            @Override
            public long read64(long offset) {
                return regs.read64(offset);
            }

            @Override
            public void write64(long offset, long value) {
                writes.add(String.format("%x=%x", offset, value));
                regs.write64(offset, value);
            }
        };
        SmmuV3Driver driver = new SmmuV3Driver("recorded", recording, m.allocator, f -> { }, hw.dmaPort(), DriverOptions.DEFAULT);
        List<String> control = writes.stream().filter(w -> !w.startsWith("98=")).toList();
        long strtab = driver.registers().get("STRTAB_BASE") & ~(1L << 62);
        long cmdq = driver.registers().get("CMDQ_BASE") & 0x000F_FFFF_FFFF_FFE0L;
        long evtq = driver.registers().get("EVENTQ_BASE") & 0x000F_FFFF_FFFF_FFE0L;
        long priq = driver.registers().get("PRIQ_BASE") & 0x000F_FFFF_FFFF_FFE0L;
        assertThat(control).containsExactly(
                "20=0",
                "44=80100000",
                "28=fff".replace("fff", Integer.toHexString(1 | 1 << 2 | 3 << 4 | 1 << 6 | 1 << 8 | 3 << 10)),
                "2c=e",
                String.format("80=%x", strtab | 1L << 62),
                String.format("88=%x", 16 | 8 << 6 | 1 << 16),
                String.format("90=%x", cmdq | 1L << 62 | 8),
                "9c=0",
                String.format("a0=%x", evtq | 1L << 62 | 7),
                "100a8=0",
                "100ac=0",
                "20=8",
                "20=c",
                String.format("c0=%x", priq | 1L << 62 | 8),
                "100c8=0",
                "100cc=0",
                "20=e",
                "20=1e",
                "50=7",
                "20=1f");
        // between CMDQEN and EVENTQEN: CFGI_ALL + SYNC, TLBI_NSNH_ALL + SYNC in the queue
        assertThat(m.memory.read64(cmdq)).isEqualTo(0x04);
        assertThat(m.memory.read64(cmdq + 8)).isEqualTo(31);
        // CMD_SYNC with CS=SIG_IRQ, MSIData=0, MSIAddr = its own slot: the MSI write cleared its first 32 bits
        assertThat(m.memory.read64(cmdq + 16)).isZero();
        assertThat(m.memory.read64(cmdq + 24)).isEqualTo(cmdq + 16);
        assertThat(m.memory.read64(cmdq + 32)).isEqualTo(0x30);
        assertThat(m.memory.read64(cmdq + 48)).isZero();
        assertThat(m.memory.read64(cmdq + 56)).isEqualTo(cmdq + 48);
        assertThat(writes.indexOf("20=8")).isLessThan(writes.indexOf("98=2")).isLessThan(writes.indexOf("98=4"))
                .isLessThan(writes.indexOf("20=c"));
        Map<String, Long> r = driver.registers();
        assertThat(r.get("CR0")).as("SMMUEN, PRIQEN, EVENTQEN, CMDQEN, ATSCHK").isEqualTo(0x1F);
        assertThat(r.get("CR0ACK")).isEqualTo(0x1F);
        assertThat(r.get("CR2")).as("RECINVSID, PTM, REC_CFG_ATS").isEqualTo(0xE);
        assertThat(r.get("IRQ_CTRLACK")).as("GERROR, PRIQ, EVENTQ").isEqualTo(7);
        assertThat(priq).isNotZero().isNotEqualTo(evtq);
        assertThat(m.allocator.liveAllocations()).anySatisfy(a -> assertThat(a.toString()).contains("priq"));
        assertThat(r.get("GBPA")).isEqualTo(1 << 20);
        assertThat(r.get("CMDQ_CONS")).isEqualTo(4);
        assertThat(r.get("GERROR")).isEqualTo(r.get("GERRORN"));
        assertThat(m.memory.read64(strtab)).as("no L2 table before a device is probed").isZero();
        assertThat(r.keySet()).containsExactly("IDR0", "IDR1", "IDR2", "IDR3", "IDR4", "IDR5", "IIDR", "AIDR", "CR0", "CR0ACK", "CR1",
                "CR2", "STATUSR", "GBPA", "IRQ_CTRL", "IRQ_CTRLACK", "GERROR", "GERRORN", "GERROR_IRQ_CFG0", "GERROR_IRQ_CFG1",
                "GERROR_IRQ_CFG2", "STRTAB_BASE", "STRTAB_BASE_CFG", "CMDQ_BASE", "CMDQ_PROD", "CMDQ_CONS", "EVENTQ_BASE",
                "EVENTQ_IRQ_CFG0", "EVENTQ_IRQ_CFG1", "EVENTQ_IRQ_CFG2", "PRIQ_BASE", "PRIQ_IRQ_CFG0", "PRIQ_IRQ_CFG1",
                "PRIQ_IRQ_CFG2", "EVENTQ_PROD", "EVENTQ_CONS", "PRIQ_PROD", "PRIQ_CONS");
        assertThat(r.get("IDR0")).as("+ ATS, NS1ATS, PRI, ATSRECERR").isEqualTo(0x0DCD_3C1BL);
        assertThat(r.get("IDR1") >>> 11 & 0x1F).as("PRIQS").isEqualTo(19);
        driver.close();
    }

    @Test
    void capabilitiesAndServiceRegistration() {
        TestMachine m = new TestMachine();
        assertThat(new dev.iommukit.backend.smmuv3.SmmuV3Backend().id()).isEqualTo("smmuv3");
        assertThat(m.unit.capabilities().asMap().keySet()).hasSize(10);
        assertThat(m.unit.capabilities().parameters(dev.iommukit.spi.cap.Capability.NESTING)).hasValue(
                java.util.Map.of("stage1", "smmuv3-cd-table", "stage1Formats", "aarch64-4K,aarch64-16K,aarch64-64K"));
        assertThat(m.unit.capabilities().parameters(dev.iommukit.spi.cap.Capability.PASID_TABLE_BIND)).hasValue(
                java.util.Map.of("formats", "LINEAR,TWO_LEVEL_4K,TWO_LEVEL_64K", "cdMaxBits", "20"));
        assertThat(m.unit.capabilities().parameters(dev.iommukit.spi.cap.Capability.PAGE_REQUEST))
                .hasValue(Map.of("queue", "priq", "queueEntries", "256"));
        assertThat(m.unit.capabilities().parameter(dev.iommukit.spi.cap.Capability.PAGING_DOMAIN, "pageSizes")).hasValue("4K,2M,1G");
        assertThat(m.unit.capabilities().parameter(dev.iommukit.spi.cap.Capability.IDENTITY_DOMAIN, "atPasid")).hasValue("false");
        assertThat(m.unit.capabilities().parameter(dev.iommukit.spi.cap.Capability.NESTING_PARENT_DOMAIN, "level")).hasValue("stage 2");
        assertThat(java.util.ServiceLoader.load(dev.iommukit.spi.IommuBackend.class).stream().map(p -> p.get().id()))
                .contains("smmuv3");
        assertThat(m.unit.probeDevice(TestMachine.DEV, 0).capabilities().has(dev.iommukit.spi.cap.Capability.PASID_ATTACH)).isFalse();
        assertThat(m.unit.probeDevice(TestMachine.DEV2, 32).pasidBits()).isEqualTo(20);
    }
}
