package dev.iommukit.spi.pgtable.vmsa;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.pgtable.PageTable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class VmsaFormatTest {

    // spec §8.1: stage 1 start level per granule and T0SZ; root entries = 2^(IA - levelShift(start))
    @ParameterizedTest(name = "S1 {0} IA={1}: start L{2}, root bits {3}")
    @CsvSource({
        "G4K,48,0,9", "G4K,40,0,1", "G4K,39,1,9", "G4K,31,1,1", "G4K,30,2,9", "G4K,25,2,4",
        "G16K,48,0,1", "G16K,47,1,11", "G16K,37,1,1", "G16K,36,2,11", "G16K,25,3,11",
        "G64K,48,1,6", "G64K,43,1,1", "G64K,42,2,13", "G64K,30,2,1", "G64K,29,3,13", "G64K,25,3,9"})
    void stage1Geometry(VmsaGranule g, int ia, int start, int rootBits) {
        VmsaFormat f = VmsaFormat.stage1(g, ia);
        assertThat(f.startLevel()).isEqualTo(start);
        assertThat(f.indexBits(0)).isEqualTo(rootBits);
        assertThat(f.levels()).isEqualTo(4 - start);
        assertThat(f.inputBits()).isEqualTo(ia);
        assertThat(f.indexShift(0) + f.indexBits(0)).isEqualTo(ia);
        assertThat(f.concatenatedTables()).isEqualTo(1);
    }

    // spec §8.2: stage 2 start level, concatenation (IA 40 at L1 -> 2, 42 -> 8, 34 at L2 -> 16), S2SL0
    @ParameterizedTest(name = "S2 {0} IA={1}: start L{2}, {3} tables, SL0 {4}")
    @CsvSource({
        "G4K,48,0,1,2", "G4K,44,0,1,2", "G4K,43,1,16,1", "G4K,42,1,8,1", "G4K,40,1,2,1", "G4K,39,1,1,1",
        "G4K,34,2,16,0", "G4K,31,2,2,0", "G4K,30,2,1,0", "G4K,25,2,1,0",
        "G16K,48,1,2,2", "G16K,47,1,1,2", "G16K,40,2,16,1", "G16K,36,2,1,1", "G16K,29,3,16,0", "G16K,25,3,1,0",
        "G64K,48,1,1,2", "G64K,42,2,1,1", "G64K,46,2,16,1", "G64K,47,1,1,2", "G64K,33,3,16,0", "G64K,29,3,1,0"})
    void stage2Geometry(VmsaGranule g, int ia, int start, int tables, int sl0) {
        VmsaFormat f = VmsaFormat.stage2(g, ia);
        assertThat(f.startLevel()).isEqualTo(start);
        assertThat(f.concatenatedTables()).isEqualTo(tables);
        assertThat(f.s2sl0()).isEqualTo(sl0);
        assertThat(f.indexShift(0) + f.indexBits(0)).isEqualTo(ia);
        assertThat(f.tableBytes(0)).isEqualTo(Math.max(8L << f.indexBits(0), 0));
    }

    @Test
    void pageSizesPerGranule() {
        assertThat(VmsaFormat.stage1(VmsaGranule.G4K, 48).pageSizes()).isEqualTo((1L << 12) | (1L << 21) | (1L << 30));
        assertThat(VmsaFormat.stage1(VmsaGranule.G16K, 48).pageSizes()).isEqualTo((1L << 14) | (1L << 25));
        assertThat(VmsaFormat.stage1(VmsaGranule.G64K, 48).pageSizes()).isEqualTo((1L << 16) | (1L << 29));
        assertThat(VmsaFormat.stage2(VmsaGranule.G4K, 40).pageSizes()).isEqualTo((1L << 12) | (1L << 21) | (1L << 30));
    }

    // spec §7.1 / §7.2 / §7.3: every bit of a stage 1 leaf
    @Test
    void stage1PageReadWriteBits() {
        VmsaFormat f = VmsaFormat.stage1(VmsaGranule.G4K, 48);
        long d = f.encodeLeaf(0x1234_5678_9000L, 3, Permissions.READ_WRITE);
        assertThat(d & 3).as("bits[1:0] page").isEqualTo(3);
        assertThat((d >>> 2) & 7).as("AttrIndx[4:2]").isEqualTo(1);
        assertThat((d >>> 5) & 1).as("NS").isZero();
        assertThat((d >>> 6) & 1).as("AP[1] EL0").isEqualTo(1);
        assertThat((d >>> 7) & 1).as("AP[2] RO").isZero();
        assertThat((d >>> 8) & 3).as("SH inner").isEqualTo(3);
        assertThat((d >>> 10) & 1).as("AF").isEqualTo(1);
        assertThat((d >>> 11) & 1).as("nG").isEqualTo(1);
        assertThat((d >>> 53) & 1).as("PXN").isEqualTo(1);
        assertThat((d >>> 54) & 1).as("UXN").isEqualTo(1);
        assertThat(d & 0x0000_FFFF_FFFF_F000L).as("OA[47:12]").isEqualTo(0x1234_5678_9000L);
        assertThat(d).isEqualTo(0x1234_5678_9000L | 3 | 1 << 2 | 1 << 6 | 3 << 8 | 1 << 10 | 1 << 11 | 1L << 53 | 1L << 54);
    }

    @Test
    void stage1ReadOnlyExecutableBlock() {
        VmsaFormat f = VmsaFormat.stage1(VmsaGranule.G4K, 48);
        long d = f.encodeLeaf(0x4000_0000L, 1, Permissions.READ | Permissions.EXECUTE);
        assertThat(d & 3).as("block").isEqualTo(1);
        assertThat((d >>> 7) & 1).as("AP[2] RO").isEqualTo(1);
        assertThat((d >>> 53) & 3).as("PXN/UXN clear").isZero();
        assertThat(f.isLeaf(d, 1)).isTrue();
        assertThat(f.isTable(d, 1)).isFalse();
        assertThat(f.address(d, 1)).isEqualTo(0x4000_0000L);
        assertThat(f.permissions(d, 1)).isEqualTo(Permissions.READ | Permissions.EXECUTE);
        assertThat(f.permissions(f.encodeLeaf(0, 3, Permissions.READ_WRITE), 3)).isEqualTo(Permissions.READ_WRITE);
    }

    // spec §7.4: stage 2 leaf bits
    @Test
    void stage2LeafBits() {
        VmsaFormat f = VmsaFormat.stage2(VmsaGranule.G4K, 48);
        long d = f.encodeLeaf(0x8000_0000L, 3, Permissions.WRITE);
        assertThat(d & 3).isEqualTo(3);
        assertThat((d >>> 2) & 0xF).as("MemAttr").isEqualTo(0xF);
        assertThat((d >>> 6) & 1).as("S2AP[0] read").isZero();
        assertThat((d >>> 7) & 1).as("S2AP[1] write").isEqualTo(1);
        assertThat((d >>> 8) & 3).as("SH").isEqualTo(3);
        assertThat((d >>> 10) & 1).as("AF").isEqualTo(1);
        assertThat((d >>> 11) & 1).as("bit 11 (nG at S1) clear").isZero();
        assertThat((d >>> 53) & 1).as("XN[0]").isZero();
        assertThat((d >>> 54) & 1).as("XN[1]").isEqualTo(1);
        assertThat(d).isEqualTo(0x8000_0000L | 3 | 0xF << 2 | 1 << 7 | 3 << 8 | 1 << 10 | 1L << 54);
        long rx = f.encodeLeaf(0x20_0000L, 2, Permissions.READ | Permissions.EXECUTE);
        assertThat(rx & 3).isEqualTo(1);
        assertThat((rx >>> 6) & 3).isEqualTo(1);
        assertThat((rx >>> 54) & 1).isZero();
        assertThat(f.permissions(rx, 2)).isEqualTo(Permissions.READ | Permissions.EXECUTE);
    }

    @Test
    void tableDescriptorIsAddressAndType() {
        VmsaFormat f = VmsaFormat.stage1(VmsaGranule.G64K, 48);
        long d = f.encodeTable(0x12_3456_0000L, 0);
        assertThat(d).isEqualTo(0x12_3456_0000L | 3);
        assertThat(f.isTable(d, 0)).isTrue();
        assertThat(f.address(d, 0)).isEqualTo(0x12_3456_0000L);
        assertThatThrownBy(() -> f.encodeTable(0x1000, 0)).isInstanceOf(InvalidArgumentException.class);
    }

    // spec §7.1: 01 at level 3 is reserved; 01 where no block is allowed is invalid
    @Test
    void descriptorTypes() {
        assertThat(VmsaDescriptors.type(0, 2, VmsaGranule.G4K)).isEqualTo(VmsaDescriptors.Type.INVALID);
        assertThat(VmsaDescriptors.type(2, 2, VmsaGranule.G4K)).isEqualTo(VmsaDescriptors.Type.INVALID);
        assertThat(VmsaDescriptors.type(1, 1, VmsaGranule.G4K)).isEqualTo(VmsaDescriptors.Type.BLOCK);
        assertThat(VmsaDescriptors.type(1, 2, VmsaGranule.G4K)).isEqualTo(VmsaDescriptors.Type.BLOCK);
        assertThat(VmsaDescriptors.type(1, 0, VmsaGranule.G4K)).isEqualTo(VmsaDescriptors.Type.RESERVED);
        assertThat(VmsaDescriptors.type(1, 3, VmsaGranule.G4K)).isEqualTo(VmsaDescriptors.Type.RESERVED);
        assertThat(VmsaDescriptors.type(1, 1, VmsaGranule.G16K)).isEqualTo(VmsaDescriptors.Type.RESERVED);
        assertThat(VmsaDescriptors.type(1, 2, VmsaGranule.G16K)).isEqualTo(VmsaDescriptors.Type.BLOCK);
        assertThat(VmsaDescriptors.type(1, 1, VmsaGranule.G64K)).isEqualTo(VmsaDescriptors.Type.RESERVED);
        assertThat(VmsaDescriptors.type(1, 2, VmsaGranule.G64K)).isEqualTo(VmsaDescriptors.Type.BLOCK);
        assertThat(VmsaDescriptors.type(3, 0, VmsaGranule.G4K)).isEqualTo(VmsaDescriptors.Type.TABLE);
        assertThat(VmsaDescriptors.type(3, 3, VmsaGranule.G4K)).isEqualTo(VmsaDescriptors.Type.PAGE);
    }

    // spec §7.2: output address bits per level and granule
    @Test
    void outputAddressPerLevel() {
        long d = 0x0000_FFFF_FFFF_F000L | 1;
        assertThat(VmsaDescriptors.outputAddress(d, 1, VmsaGranule.G4K)).isEqualTo(0x0000_FFFF_C000_0000L);
        assertThat(VmsaDescriptors.outputAddress(d, 2, VmsaGranule.G4K)).isEqualTo(0x0000_FFFF_FFE0_0000L);
        assertThat(VmsaDescriptors.outputAddress(d, 3, VmsaGranule.G4K)).isEqualTo(0x0000_FFFF_FFFF_F000L);
        assertThat(VmsaDescriptors.outputAddress(d, 2, VmsaGranule.G16K)).isEqualTo(0x0000_FFFF_FE00_0000L);
        assertThat(VmsaDescriptors.outputAddress(d, 3, VmsaGranule.G16K)).isEqualTo(0x0000_FFFF_FFFF_C000L);
        assertThat(VmsaDescriptors.outputAddress(d, 2, VmsaGranule.G64K)).isEqualTo(0x0000_FFFF_E000_0000L);
        assertThat(VmsaDescriptors.outputAddress(d, 3, VmsaGranule.G64K)).isEqualTo(0x0000_FFFF_FFFF_0000L);
        assertThat(VmsaDescriptors.tableAddress(0xFFF0_0000_0000_3003L | 1L << 51, VmsaGranule.G4K))
                .as("upper attributes excluded, bits [51:48] kept for address-size checks").isEqualTo(1L << 51 | 0x3000);
        assertThat(VmsaDescriptors.outputAddress(S1_BITS, 3, VmsaGranule.G4K)).isZero();
    }

    private static final long S1_BITS = VmsaDescriptors.S1_UXN | VmsaDescriptors.S1_PXN | VmsaDescriptors.S1_NG
            | VmsaDescriptors.AF | VmsaDescriptors.SH_INNER | VmsaDescriptors.S1_AP1_USER | VmsaDescriptors.S1_AP2_RDONLY | 0x1F;

    @Test
    void encodingsAndGranuleFields() {
        assertThat(VmsaGranule.G4K.tg0()).isZero();
        assertThat(VmsaGranule.G64K.tg0()).isEqualTo(1);
        assertThat(VmsaGranule.G16K.tg0()).isEqualTo(2);
        assertThat(VmsaGranule.G16K.tg1()).isEqualTo(1);
        assertThat(VmsaGranule.G4K.tg1()).isEqualTo(2);
        assertThat(VmsaGranule.G64K.tg1()).isEqualTo(3);
        assertThat(VmsaGranule.G4K.tlbiTg()).isEqualTo(1);
        assertThat(VmsaGranule.G16K.tlbiTg()).isEqualTo(2);
        assertThat(VmsaGranule.G64K.tlbiTg()).isEqualTo(3);
        assertThat(VmsaFormat.MAIR >>> (8 * VmsaFormat.MAIR_INDEX_WB) & 0xFF).isEqualTo(0xFF);
        assertThat(VmsaGranule.fromTg0(3)).isNull();
        assertThat(VmsaGranule.fromTg1(0)).isNull();
    }

    @ParameterizedTest
    @CsvSource({"STAGE1,G4K,48", "STAGE1,G16K,48", "STAGE1,G64K,48", "STAGE2,G4K,40", "STAGE2,G16K,48", "STAGE2,G64K,48", "STAGE2,G4K,34"})
    void pageTableMapsEveryPageSize(VmsaStage stage, VmsaGranule g, int ia) {
        PhysicalMemory mem = PhysicalMemory.of(0, 64L << 20);
        PageAllocator alloc = new PageAllocator(mem, 0, 64L << 20);
        VmsaFormat f = stage == VmsaStage.STAGE1 ? VmsaFormat.stage1(g, ia) : VmsaFormat.stage2(g, ia);
        PageTable pt = new PageTable(f, alloc, "test");
        assertThat(pt.root() % Math.max(4096, f.tableBytes(0))).as("root aligned to its (concatenated) size").isZero();
        long iova = 0;
        for (long bm = f.pageSizes(); bm != 0; bm &= bm - 1) {
            long size = Long.lowestOneBit(bm);
            iova += size * 4;
            iova &= -size;
            long pa = 0x1000_0000_0000L & -size;
            pt.map(iova, pa + size, size, 1, Permissions.READ_WRITE);
            assertThat(pt.iovaToPhys(iova + 8)).isEqualTo(pa + size + 8);
            iova += size;
        }
        pt.free();
        assertThat(alloc.allocatedPages()).isZero();
    }
}
