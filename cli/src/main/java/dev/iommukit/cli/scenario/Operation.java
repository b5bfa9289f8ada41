package dev.iommukit.cli.scenario;

import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.fault.FaultReason;

/** What one step of a scenario does; each kind is a record named after its {@code "op"}. */
public sealed interface Operation {
    /** The {@code "op"} name in JSON. */
    String op();

    /** {@code pagingDomain}: a new paging domain called {@code name} on {@code unit}. */
    record CreatePagingDomain(String name, String unit, boolean nestingParent) implements Operation {
        @Override
        public String op() {
            return "pagingDomain";
        }
    }

    /** {@code identityDomain} / {@code blockedDomain}: the unit's domain of that type, called {@code name}. */
    record UnitDomain(DomainType type, String name, String unit) implements Operation {
        @Override
        public String op() {
            return type == DomainType.IDENTITY ? "identityDomain" : "blockedDomain";
        }
    }

    /** {@code map}: {@code [iova, iova + size)} to {@code pa} with permission bits. */
    record MapRange(String domain, long iova, long pa, long size, int permissions) implements Operation {
        @Override
        public String op() {
            return "map";
        }
    }

    /** {@code unmap}: {@code [iova, iova + size)}; {@code expectUnmapped} is the byte count expected back, or null. */
    record UnmapRange(String domain, long iova, long size, Long expectUnmapped) implements Operation {
        @Override
        public String op() {
            return "unmap";
        }
    }

    /** {@code attach} / {@code replace}: {@code domain} for requests without PASID. */
    record Attach(String device, String domain, boolean replace) implements Operation {
        @Override
        public String op() {
            return replace ? "replace" : "attach";
        }
    }

    /** {@code detach}: requests without PASID are blocked again. */
    record Detach(String device) implements Operation {
        @Override
        public String op() {
            return "detach";
        }
    }

    /** {@code attachPasid} / {@code replacePasid}: {@code domain} at {@code pasid}. */
    record AttachPasid(String device, int pasid, String domain, boolean replace) implements Operation {
        @Override
        public String op() {
            return replace ? "replacePasid" : "attachPasid";
        }
    }

    /** {@code detachPasid}. */
    record DetachPasid(String device, int pasid) implements Operation {
        @Override
        public String op() {
            return "detachPasid";
        }
    }

    /** {@code close}: closes a paging domain. */
    record Close(String domain) implements Operation {
        @Override
        public String op() {
            return "close";
        }
    }

    /** {@code writeMemory}: stores bytes into physical memory, as a CPU would. */
    record WriteMemory(long pa, byte[] data) implements Operation {
        @Override
        public String op() {
            return "writeMemory";
        }
    }

    /** {@code checkMemory}: physical memory at {@code pa} must hold exactly {@code data}. */
    record CheckMemory(long pa, byte[] data) implements Operation {
        @Override
        public String op() {
            return "checkMemory";
        }
    }

    /**
     * {@code dma}: one request from {@code device}. With {@code data} (a write) or {@code length}
     * (a read) bytes move page by page; without, the address is only translated.
     */
    record Dma(String device, int pasid, AccessType access, long address, boolean execute, boolean privileged,
               byte[] data, int length, DmaExpectation expect) implements Operation {
        @Override
        public String op() {
            return "dma";
        }

        /** Whether bytes move (a transfer) rather than a bare translation. */
        public boolean transfers() {
            return access == AccessType.WRITE ? data != null : length > 0;
        }
    }

    /**
     * What a DMA must give: the physical address of its first byte ({@code pa}), or a fault with
     * its vendor-neutral reason and, optionally, the architecture's name for it. {@code data}: the
     * bytes a read must return.
     */
    record DmaExpectation(Long pa, FaultReason fault, String vendor, byte[] data) {
        public boolean expectsFault() {
            return fault != null;
        }
    }
}
