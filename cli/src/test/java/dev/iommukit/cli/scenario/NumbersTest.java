package dev.iommukit.cli.scenario;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.math.BigInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class NumbersTest {
    private static final JsonNodeFactory JSON = JsonNodeFactory.instance;

    @ParameterizedTest
    @CsvSource({
        "0x1000, 4096",
        "0X8000_0000, 2147483648",
        "4K, 4096",
        "2M, 2097152",
        "1G, 1073741824",
        "2k, 2048",
        "0xffffffffffffffff, -1",
    })
    void parsesHexStringsAndSizes(String text, long expected) {
        assertThat(Numbers.parse(JSON.textNode(text), "x")).isEqualTo(expected);
    }

    @Test
    void parsesJsonIntegers() {
        assertThat(Numbers.parse(JSON.numberNode(4096), "x")).isEqualTo(4096);
        assertThat(Numbers.parse(JSON.numberNode(1L << 40), "x")).isEqualTo(1L << 40);
    }

    @ParameterizedTest
    @ValueSource(strings = {"4096", "0x", "0xg", "12Q", "M", "0x1_0000_0000_0000_0000", "-4K", "1.5M"})
    void refusesOtherStringsNamingThePath(String text) {
        assertThatThrownBy(() -> Numbers.parse(JSON.textNode(text), "operations[3].size"))
                .isInstanceOf(InvalidScenarioException.class)
                .hasMessageStartingWith("operations[3].size: must be a JSON integer, a \"0x...\" hexadecimal string or a size like \"2M\"");
    }

    @Test
    void refusesNonIntegersAndHugeIntegers() {
        assertThatThrownBy(() -> Numbers.parse(JSON.numberNode(1.5), "a.b"))
                .hasMessageStartingWith("a.b: must be a JSON integer");
        assertThatThrownBy(() -> Numbers.parse(JSON.booleanNode(true), "a.b"))
                .hasMessageStartingWith("a.b: must be a JSON integer");
        assertThatThrownBy(() -> Numbers.parse(JSON.numberNode(BigInteger.ONE.shiftLeft(64)), "a.b"))
                .hasMessage("a.b: does not fit 64 bits; write large values as \"0x...\" strings");
        assertThatThrownBy(() -> Numbers.parse(JSON.textNode("99999999999P"), "a.b"))
                .hasMessageContaining("out of range");
    }

    @Test
    void formatsHexUnsigned() {
        assertThat(Numbers.hex(0x18)).isEqualTo("0x18");
        assertThat(Numbers.hex(-1)).isEqualTo("0xffffffffffffffff");
    }
}
