package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.Ranges.hex;

/**
 * One disagreement between what the structures translate and what the dump's {@code expect} lists.
 * {@code size} 0 means the whole requester (identity disagreements).
 */
public record Mismatch(Kind kind, String unit, Requester requester, long iova, long size, String detail) {

    /** ISOLATION: reachable but not expected. FUNCTIONAL: expected but not reachable as expected. */
    public enum Kind { ISOLATION, FUNCTIONAL }

    /** {@code ISOLATION smmu0 rid 0x18 (00:03.0) no pasid 0x1000-0x1fff: ...}. */
    @Override
    public String toString() {
        return kind + " " + unit + " " + requester + (size == 0 ? "" : " " + hex(iova) + "-" + hex(iova + size - 1))
                + ": " + detail;
    }
}
