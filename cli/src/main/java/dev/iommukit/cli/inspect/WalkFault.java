package dev.iommukit.cli.inspect;

/** A fault met while reading a structure through a translating address space (stackless: it is control flow). */
final class WalkFault extends Exception {
    private static final long serialVersionUID = 1L;

    WalkFault(String message) {
        super(message, null, false, false);
    }
}
