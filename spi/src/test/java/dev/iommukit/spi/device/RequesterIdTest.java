package dev.iommukit.spi.device;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.iommukit.spi.error.InvalidArgumentException;
import org.junit.jupiter.api.Test;

class RequesterIdTest {
    @Test
    void valueIsBusDeviceFunctionAsPciDefinesIt() {
        RequesterId rid = RequesterId.parse("0000:00:03.0");
        assertThat(rid.value()).isEqualTo(0x18);
        assertThat(RequesterId.parse("01:1f.7").value()).isEqualTo(0x1FF);
        assertThat(RequesterId.of(0x20)).isEqualTo(new RequesterId(0, 4, 0));
        assertThat(rid).hasToString("0000:00:03.0");
    }

    @Test
    void badTextNamesTheRule() {
        assertThatThrownBy(() -> RequesterId.parse("zz")).isInstanceOf(InvalidArgumentException.class).hasMessageContaining("00:03.0");
        assertThatThrownBy(() -> new RequesterId(0, 32, 0)).hasMessageContaining("device: must be in 0..31");
    }
}
