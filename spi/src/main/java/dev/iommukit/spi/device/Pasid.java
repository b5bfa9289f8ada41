package dev.iommukit.spi.device;

import dev.iommukit.spi.error.IommuException;

/**
 * PASIDs are plain {@code int}s on every hot path; this class holds the sentinel for "no PASID"
 * and the width rules. A device with PASID width {@code w} uses PASIDs {@code 0 .. 2^w - 1}.
 */
public final class Pasid {
    /** The value that stands for a request or attachment without PASID. */
    public static final int NONE = -1;
    /** The widest PASID the PCI specification allows: 20 bits. */
    public static final int MAX_WIDTH = 20;

    private Pasid() {}

    /** Checks that {@code pasid} fits {@code width} bits. */
    public static int check(int pasid, int width) {
        if (width <= 0) {
            throw IommuException.invalid("pasid", "the device has no PASID support (width 0)");
        }
        if (pasid < 0 || pasid >= (1 << width)) {
            throw IommuException.invalid("pasid", "must be in 0.." + ((1 << width) - 1) + " for a " + width + "-bit PASID width, was " + pasid);
        }
        return pasid;
    }

    /** {@code "none"} or the decimal value. */
    public static String toString(int pasid) {
        return pasid == NONE ? "none" : Integer.toString(pasid);
    }
}
