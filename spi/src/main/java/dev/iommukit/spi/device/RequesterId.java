package dev.iommukit.spi.device;

import dev.iommukit.spi.error.IommuException;

/**
 * A PCI requester id: bus, device and function, {@code bus << 8 | device << 3 | function}. It is
 * the StreamID on SMMUv3 and the source-id on VT-d.
 */
public record RequesterId(int bus, int device, int function) implements Comparable<RequesterId> {
    public RequesterId {
        if (bus < 0 || bus > 255) {
            throw IommuException.invalid("bus", "must be in 0..255, was " + bus);
        }
        if (device < 0 || device > 31) {
            throw IommuException.invalid("device", "must be in 0..31, was " + device);
        }
        if (function < 0 || function > 7) {
            throw IommuException.invalid("function", "must be in 0..7, was " + function);
        }
    }

    /** From the 16-bit value {@code bus << 8 | device << 3 | function}. */
    public static RequesterId of(int rid) {
        if (rid < 0 || rid > 0xFFFF) {
            throw IommuException.invalid("rid", "must be a 16-bit value, was 0x" + Integer.toHexString(rid));
        }
        return new RequesterId(rid >>> 8, (rid >>> 3) & 0x1F, rid & 7);
    }

    /** From {@code "BB:DD.F"} or {@code "SSSS:BB:DD.F"} (segment 0 only), hexadecimal as lspci prints it. */
    public static RequesterId parse(String text) {
        String s = text.trim();
        try {
            String[] parts = s.split(":");
            if (parts.length == 3) {
                if (Integer.parseInt(parts[0], 16) != 0) {
                    throw IommuException.invalid("rid", "only PCI segment 0 is modelled, was " + text);
                }
                parts = new String[] {parts[1], parts[2]};
            }
            if (parts.length != 2) {
                throw new NumberFormatException();
            }
            String[] df = parts[1].split("\\.");
            if (df.length != 2) {
                throw new NumberFormatException();
            }
            return new RequesterId(Integer.parseInt(parts[0], 16), Integer.parseInt(df[0], 16), Integer.parseInt(df[1], 16));
        } catch (NumberFormatException e) {
            throw IommuException.invalid("rid", "must look like 00:03.0 or 0000:00:03.0, was '" + text + "'");
        }
    }

    /** The 16-bit value. */
    public int value() {
        return bus << 8 | device << 3 | function;
    }

    /** {@code bus << 3 | ...}: the devfn byte. */
    public int devfn() {
        return device << 3 | function;
    }

    @Override
    public int compareTo(RequesterId o) {
        return Integer.compare(value(), o.value());
    }

    /** {@code 0000:BB:DD.F}. */
    @Override
    public String toString() {
        return String.format("0000:%02x:%02x.%x", bus, device, function);
    }
}
