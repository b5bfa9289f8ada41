package dev.iommukit.cli.inspect;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import org.junit.jupiter.api.Test;

class DumpReaderTest {
    private static String page(long pa, byte[] data) {
        return "{\"pa\":\"0x" + Long.toHexString(pa) + "\",\"data\":\"" + Base64.getEncoder().encodeToString(data) + "\"}";
    }

    @Test
    void readsUnitsNumbersPagesAndExpect() {
        byte[] data = new byte[4096];
        data[8] = 0x11;
        data[15] = (byte) 0x88;
        String json = "{\"format\":\"iommukit-dump/1\",\"units\":[{\"name\":\"smmu0\",\"backend\":\"smmuv3\","
                + "\"registers\":{\"CR0\":1,\"STRTAB_BASE\":\"0xffff000000000040\"},"
                + "\"devices\":[{\"name\":\"0000:00:03.0\",\"rid\":\"0x18\"}]}],"
                + "\"memory\":{\"pageSize\":4096,\"pages\":[" + page(0x8000_0000L, data) + "]},"
                + "\"expect\":[{\"unit\":\"smmu0\",\"rid\":\"0x18\",\"pasid\":null,\"iova\":\"0x100000\","
                + "\"size\":\"0x200000\",\"pa\":\"0x80000000\",\"read\":true,\"write\":false},"
                + "{\"unit\":\"smmu0\",\"rid\":24,\"pasid\":5,\"identity\":true}]}";
        Dump d = new DumpReader().read(json);
        assertThat(d.units()).singleElement().satisfies(u -> {
            assertThat(u.register("CR0", 0)).isEqualTo(1);
            assertThat(u.register("STRTAB_BASE", 0)).isEqualTo(0xFFFF_0000_0000_0040L);
            assertThat(u.devices()).containsExactly(new Dump.Device("0000:00:03.0", 0x18));
        });
        assertThat(d.memory().read64(0x8000_0008L)).isEqualTo(0x8800_0000_0000_0011L); // little-endian
        assertThat(d.memory().read64(0x8000_1000L)).isZero(); // unlisted page reads as zero
        assertThat(d.memory().read64(0x8000_0004L)).isEqualTo(0x11_0000_0000L); // unaligned
        assertThat(d.expect()).containsExactly(
                new Dump.Expectation("smmu0", 0x18, Requester.NO_PASID, false, 0x10_0000, 0x20_0000, 0x8000_0000L,
                        true, false),
                new Dump.Expectation("smmu0", 0x18, 5, true, 0, 0, 0, true, true));
    }

    @Test
    void rejectsWrongFormatDecimalStringsAndShortPages() {
        DumpReader reader = new DumpReader();
        assertThatThrownBy(() -> reader.read("{\"format\":\"iommukit-dump/2\",\"units\":[]}"))
                .isInstanceOf(DumpFormatException.class).hasMessageContaining("format must be");
        assertThatThrownBy(() -> reader.read("{\"format\":\"iommukit-dump/1\",\"units\":[{\"name\":\"a\","
                + "\"backend\":\"vtd\",\"registers\":{\"CAP_REG\":\"12\"}}]}"))
                .isInstanceOf(DumpFormatException.class).hasMessageContaining("units[0].registers.CAP_REG");
        assertThatThrownBy(() -> reader.read("{\"format\":\"iommukit-dump/1\",\"units\":[],\"memory\":{\"pages\":["
                + page(0x1000, new byte[100]) + "]}}"))
                .isInstanceOf(DumpFormatException.class).hasMessageContaining("exactly 4096 bytes");
        assertThatThrownBy(() -> reader.read("{\"format\":\"iommukit-dump/1\",\"units\":[],\"memory\":{\"pages\":["
                + page(0x1000, new byte[4096]) + "," + page(0x1000, new byte[4096]) + "]}}"))
                .isInstanceOf(DumpFormatException.class).hasMessageContaining("listed twice");
        assertThatThrownBy(() -> reader.read("not json")).isInstanceOf(DumpFormatException.class);
    }
}
