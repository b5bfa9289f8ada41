package dev.iommukit.backend.smmuv3.arch;

/**
 * Queue base and pointer registers (spec §1.8): {@code *_BASE} and the PROD/CONS index, wrap and
 * flag fields, whose positions depend on the effective queue size QS.
 */
public final class QueueRegisters {
    /** RA (command queue) / WA (event and PRI queues). */
    public static final Field BASE_RWA = Field.bit("RA/WA", 62);
    /** ADDR[51:5], in place. */
    public static final Field BASE_ADDR = Field.of("ADDR", 51, 5);
    public static final Field BASE_LOG2SIZE = Field.of("LOG2SIZE", 4, 0);
    /** CMDQ_CONS.ERR [30:24]. */
    public static final Field CONS_ERR = Field.of("ERR", 30, 24);
    /** EVENTQ_PROD/PRIQ_PROD.OVFLG and EVENTQ_CONS/PRIQ_CONS.OVACKFLG, bit 31. */
    public static final Field OVERFLOW = Field.bit("OVFLG", 31);

    public static final int CERROR_NONE = 0;
    public static final int CERROR_ILL = 1;
    public static final int CERROR_ABT = 2;
    public static final int CERROR_ATC_INV_SYNC = 3;

    /** Bytes of one command. */
    public static final int COMMAND_BYTES = 16;
    /** Bytes of one event record. */
    public static final int EVENT_BYTES = 32;
    /** Bytes of one PRI queue record. */
    public static final int PRI_BYTES = 16;

    private QueueRegisters() {}

    /** The queue address held in a *_BASE value. */
    public static long address(long base) {
        return base & BASE_ADDR.mask();
    }

    /** The index field [QS-1:0] of a PROD/CONS value. */
    public static int index(int pointer, int qs) {
        return pointer & ((1 << qs) - 1);
    }

    /** The WRAP bit [QS] of a PROD/CONS value. */
    public static int wrap(int pointer, int qs) {
        return (pointer >>> qs) & 1;
    }

    /** Index and wrap, [QS:0]. */
    public static int indexAndWrap(int pointer, int qs) {
        return pointer & ((2 << qs) - 1);
    }

    /** The next index-and-wrap after {@code pointer}. */
    public static int increment(int pointer, int qs) {
        return (indexAndWrap(pointer, qs) + 1) & ((2 << qs) - 1);
    }

    /** Whether a queue with these pointers is empty (index and wrap equal). */
    public static boolean empty(int prod, int cons, int qs) {
        return indexAndWrap(prod, qs) == indexAndWrap(cons, qs);
    }

    /** Whether a queue with these pointers is full (index equal, wrap different). */
    public static boolean full(int prod, int cons, int qs) {
        return index(prod, qs) == index(cons, qs) && wrap(prod, qs) != wrap(cons, qs);
    }
}
