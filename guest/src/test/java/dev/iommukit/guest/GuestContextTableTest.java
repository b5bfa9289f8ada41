package dev.iommukit.guest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.guest.GuestPageTable.Format;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.InvalidArgumentException;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.SmmuContextTableConfig.DefaultSubstream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The guest's CD encoder, each field pinned to its bits in spec/smmuv3.md section 4.2 (dword 0)
 * and 4.3 (dwords 1 and 3), and the linear table layout of section 4.1 (CD of a substream at
 * S1ContextPtr + 64 * ssid, table aligned to its size).
 */
class GuestContextTableTest {
    private final GuestRig rig = new GuestRig();
    private final Guest guest = rig.guest(0x10_0000);

    @AfterEach
    void tearDown() {
        rig.close();
    }

    private static GuestContextDescriptor zero() {
        return new GuestContextDescriptor(false, 0, 0, 0, 0, 0, false, false, 0, false, false, false, false, false, false, false, false,
                0, 0, 0);
    }

    /** A CD with exactly one field set to its all-ones value (or true). */
    private static GuestContextDescriptor only(String field) {
        GuestContextDescriptor z = zero();
        return new GuestContextDescriptor(field.equals("V"), field.equals("T0SZ") ? 0x3F : 0, field.equals("TG0") ? 3 : 0,
                field.equals("IR0") ? 3 : 0, field.equals("OR0") ? 3 : 0, field.equals("SH0") ? 3 : 0, field.equals("EPD0"),
                field.equals("EPD1"), field.equals("IPS") ? 7 : 0, field.equals("AFFD"), field.equals("AA64"), field.equals("HD"),
                field.equals("HA"), field.equals("S"), field.equals("R"), field.equals("A"), field.equals("ASET"),
                field.equals("ASID") ? 0xFFFF : z.asid(), z.ttb0(), z.mair());
    }

    @ParameterizedTest(name = "{0} is dword 0 bits [{1}:{2}]")
    @CsvSource({
        "T0SZ, 5, 0", "TG0, 7, 6", "IR0, 9, 8", "OR0, 11, 10", "SH0, 13, 12", "EPD0, 14, 14", "EPD1, 30, 30", "V, 31, 31",
        "IPS, 34, 32", "AFFD, 35, 35", "AA64, 41, 41", "HD, 42, 42", "HA, 43, 43", "S, 44, 44", "R, 45, 45", "A, 46, 46",
        "ASET, 47, 47", "ASID, 63, 48"})
    void eachDwordZeroFieldSitsAtItsSpecBits(String field, int high, int low) {
        long mask = (high == 63 ? -1L : (1L << (high + 1)) - 1) & -(1L << low);
        long[] cd = only(field).encode();
        assertThat(cd[0]).as(field).isEqualTo(mask);
        for (int i = 1; i < 8; i++) {
            assertThat(cd[i]).isZero();
        }
        assertThat(GuestContextDescriptor.decode(cd)).isEqualTo(only(field));
    }

    @Test
    void ttb0IsDwordOneBits51To4AndMairIsDwordThree() {
        GuestContextDescriptor cd = new GuestContextDescriptor(false, 0, 0, 0, 0, 0, false, false, 0, false, false, false, false, false,
                false, false, false, 0, 0x000F_FFFF_FFFF_FFF0L, 0x0123_4567_89AB_CDEFL);
        long[] d = cd.encode();
        assertThat(d[0]).isZero();
        assertThat(d[1]).isEqualTo(0x000F_FFFF_FFFF_FFF0L);
        assertThat(d[2]).isZero();
        assertThat(d[3]).as("MAIR1:MAIR0").isEqualTo(0x0123_4567_89AB_CDEFL);
        assertThat(GuestContextDescriptor.decode(d)).isEqualTo(cd);
        assertThatThrownBy(() -> new GuestContextDescriptor(false, 0, 0, 0, 0, 0, false, false, 0, false, false, false, false, false,
                false, false, false, 0, 0x8, 0)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("ttb0:");
        assertThatThrownBy(() -> new GuestContextDescriptor(false, 64, 0, 0, 0, 0, false, false, 0, false, false, false, false, false,
                false, false, false, 0, 0, 0)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("t0sz:");
        assertThatThrownBy(() -> new GuestContextDescriptor(false, 0, 0, 0, 0, 0, false, false, 0, false, false, false, false, false,
                false, false, false, 0x1_0000, 0, 0)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("asid:");
    }

    @Test
    void aDmaCdIsWhatALinuxGuestWritesForItsTables() {
        GuestPageTable pt = guest.newPageTable(Format.AARCH64_4K_48BIT);
        GuestContextDescriptor cd = GuestContextDescriptor.forTable(pt, 0x1234);
        long expected0 = 16L // T0SZ: 48-bit VA
                | 0L << 6 // TG0 4K
                | 1L << 8 | 1L << 10 // IR0, OR0 write-back write-allocate
                | 3L << 12 // SH0 inner shareable
                | 1L << 30 // EPD1: no TTB1 walks
                | 1L << 31 // V
                | 5L << 32 // IPS 48 bits
                | 1L << 41 // AA64
                | 1L << 45 | 1L << 46 // R, A
                | 1L << 47 // ASET
                | 0x1234L << 48;
        long[] d = cd.encode();
        assertThat(d[0]).isEqualTo(expected0);
        assertThat(d[1]).isEqualTo(pt.root());
        assertThat(d[3]).as("AttrIndx 1 = 0xFF Normal WB").isEqualTo(0x44L | 0xFFL << 8 | 0x04L << 16 | 0xF4L << 24);
        assertThat(d[2] | d[4] | d[5] | d[6] | d[7]).isZero();

        GuestPageTable x86 = guest.newPageTable(Format.X86_64_4LEVEL);
        assertThatThrownBy(() -> GuestContextDescriptor.forTable(x86, 1)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("table:");
    }

    @Test
    void theLinearTableHoldsTheCdOfSubstreamNAt64TimesNAndIsAlignedToItsSize() {
        GuestContextTable table = guest.newContextTable(8);
        assertThat(table.size()).isEqualTo(256);
        assertThat(table.address() % (64 * 256)).as("aligned to its 16 KiB").isZero();
        assertThat(guest.memory().contains(table.address(), 64 * 256)).isTrue();
        GuestPageTable pt = guest.newPageTable(Format.AARCH64_4K_48BIT);
        table.writeContextDescriptor(200, pt, 9);
        long at = table.address() + 64 * 200;
        assertThat(table.descriptorAddress(200)).isEqualTo(at);
        long[] expected = GuestContextDescriptor.forTable(pt, 9).encode();
        for (int i = 0; i < 8; i++) {
            assertThat(guest.memory().read64(at + 8L * i)).as("dword %d", i).isEqualTo(expected[i]);
        }
        assertThat(guest.memory().read64(at - 64)).as("CD 199 untouched").isZero();
        assertThat(guest.memory().read64(at + 64)).as("CD 201 untouched").isZero();
        assertThat(table.readRaw(200)).containsExactly(expected);
        assertThat(table.read(200)).isEqualTo(GuestContextDescriptor.forTable(pt, 9));

        table.clear(200);
        assertThat(table.readRaw(200)).containsOnly(0L);
        assertThat(table.read(200).valid()).isFalse();

        SmmuContextTableConfig config = table.config(DefaultSubstream.SUBSTREAM_0);
        assertThat(config).isEqualTo(new SmmuContextTableConfig(table.address(), SmmuContextTableConfig.Format.LINEAR, 8,
                DefaultSubstream.SUBSTREAM_0));
    }

    @Test
    void anL1cdIsVInBitZeroAndL2PtrInBits51To12() {
        assertThat(GuestContextTable.l1Descriptor(0x000F_FFFF_FFFF_F000L)).isEqualTo(0x000F_FFFF_FFFF_F001L);
        assertThat(GuestContextTable.l1Descriptor(0x1234_5000L)).isEqualTo(0x1234_5001L);
        assertThatThrownBy(() -> GuestContextTable.l1Descriptor(0x800)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("leafGpa:");
    }

    @ParameterizedTest(name = "{0}: {1} CDs per leaf")
    @CsvSource({"TWO_LEVEL_4K, 64", "TWO_LEVEL_64K, 1024"})
    void aTwoLevelTableIndexesItsL1BySsidHighBitsAndItsLeavesByTheLowOnes(SmmuContextTableConfig.Format format, int perLeaf) {
        GuestContextTable table = guest.newContextTable(12, format);
        int l1Entries = (1 << 12) / perLeaf;
        assertThat(table.address() % Math.max(4096, 8L * l1Entries)).isZero();
        assertThat(table.descriptorAddress(perLeaf + 3)).as("no leaf yet").isEqualTo(-1);
        assertThat(table.readRaw(perLeaf + 3)).containsOnly(0L);
        GuestPageTable pt = guest.newPageTable(Format.AARCH64_4K_48BIT);
        int ssid = 2 * perLeaf + 5;
        table.writeContextDescriptor(ssid, pt, 3);

        long l1cd = guest.memory().read64(table.address() + 8L * 2);
        assertThat(table.l1DescriptorAddress(ssid)).isEqualTo(table.address() + 16);
        assertThat(l1cd & 1).as("V").isEqualTo(1);
        assertThat(l1cd & ~GuestContextTable.L1CD_L2PTR_MASK).as("nothing but V below bit 12, nothing above bit 51").isEqualTo(1);
        long leaf = l1cd & GuestContextTable.L1CD_L2PTR_MASK;
        assertThat(leaf % (64L * perLeaf)).as("leaf aligned to its size").isZero();
        assertThat(table.descriptorAddress(ssid)).isEqualTo(leaf + 64L * 5);
        assertThat(guest.memory().read64(leaf + 64L * 5)).isEqualTo(GuestContextDescriptor.forTable(pt, 3).encode()[0]);
        assertThat(guest.memory().read64(table.address())).as("L1CD 0 untouched").isZero();
        assertThat(guest.memory().read64(table.address() + 8)).as("L1CD 1 untouched").isZero();

        table.writeContextDescriptor(ssid + 1, pt, 4);
        assertThat(guest.memory().read64(table.address() + 16)).as("same leaf, same L1CD").isEqualTo(l1cd);
        assertThat(table.config(DefaultSubstream.TERMINATE).format()).isEqualTo(format);
        int before = guest.allocatedPages();
        table.free();
        assertThat(guest.allocatedPages()).isEqualTo(before - 1 - perLeaf * 64 / 4096);
    }

    @Test
    void badSubstreamsAndSizesAreRefusedAndFreeReturnsThePages() {
        assertThatThrownBy(() -> guest.newContextTable(21)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("cdMaxBits:");
        int before = guest.allocatedPages();
        GuestContextTable small = guest.newContextTable(2);
        assertThat(guest.allocatedPages()).isEqualTo(before + 1);
        GuestPageTable pt = guest.newPageTable(Format.AARCH64_4K_48BIT);
        assertThatThrownBy(() -> small.writeContextDescriptor(4, pt, 1)).isInstanceOf(InvalidArgumentException.class)
                .hasMessageStartingWith("ssid:");
        assertThatThrownBy(() -> small.clear(-1)).isInstanceOf(InvalidArgumentException.class).hasMessageStartingWith("ssid:");
        small.free();
        assertThat(guest.allocatedPages()).isEqualTo(before + pt.tablePages());
        assertThatThrownBy(() -> small.readRaw(0)).isInstanceOf(ClosedException.class);
    }
}
