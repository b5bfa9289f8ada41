package dev.iommukit.cli.inspect;

/**
 * The address space a walker reads its structures from: physical memory directly, or an intermediate address
 * space translated by a second stage (nested walks).
 */
interface TableMemory {
    /** The 64-bit word at {@code address}, or a fault when the address does not translate. */
    long read64(long address) throws WalkFault;

    /** Whether hardware may write (set access/dirty flags) at {@code address}; physical memory always allows it. */
    default boolean writable(long address) {
        return true;
    }

    /** Physical memory itself. */
    static TableMemory physical(SparseMemory memory) {
        return memory::read64;
    }
}
