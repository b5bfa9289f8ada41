package dev.iommukit.cli.scenario;

import dev.iommukit.spi.error.ErrorCode;

/**
 * One entry of a scenario's {@code operations}: the operation, its index (as in the JSON path
 * {@code operations[index]}), an optional comment, and the error code it is expected to fail with
 * ({@code null}: it is expected to succeed).
 */
public record Step(int index, Operation operation, String comment, ErrorCode expectError) {
    public String path() {
        return "operations[" + index + "]";
    }
}
