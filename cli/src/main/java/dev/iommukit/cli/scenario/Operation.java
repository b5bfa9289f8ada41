package dev.iommukit.cli.scenario;

import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.fault.FaultReason;
import java.util.List;
import java.util.UUID;

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
     * {@code dma}: one request from {@code device}, or from {@code mdev} (its parent's DMA tagged
     * with the mdev's PASID). The PASID is {@code pasid}, or the one recorded as {@code pasidName}
     * by an {@code attachAux} or a {@code bindSva}. The address is absolute, or an offset into the
     * memory an {@code mmap} named (its process virtual address, for SVA). With {@code data} (a
     * write) or {@code length} (a read) bytes move page by page; without, the address is only
     * translated.
     */
    record Dma(String device, String mdev, int pasid, String pasidName, AccessType access, VirtualAddress address, boolean execute,
               boolean privileged, byte[] data, int length, DmaExpectation expect) implements Operation {
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
     * What a DMA must give: the physical address of its first byte ({@code pa}, or the page that
     * the process memory {@code va} of an {@code mmap} maps to), or a fault with
     * its vendor-neutral reason and, optionally, the architecture's name for it. {@code data}: the
     * bytes a read must return.
     */
    record DmaExpectation(Long pa, VirtualAddress va, FaultReason fault, String vendor, byte[] data) {
        public boolean expectsFault() {
            return fault != null;
        }
    }

    // ------------------------------------------------------------------ processes

    /**
     * A virtual address of a process: {@code offset} bytes into the mapping an {@code mmap} named
     * {@code mmap}, or the absolute address {@code offset} when {@code mmap} is null.
     */
    record VirtualAddress(String mmap, long offset) {
        @Override
        public String toString() {
            return mmap == null ? Numbers.hex(offset) : offset == 0 ? mmap : mmap + "+" + Numbers.hex(offset);
        }
    }

    /** {@code process}: a new process called {@code name}, optionally with a locked-memory limit. */
    record NewProcess(String name, Long lockedLimit) implements Operation {
        @Override
        public String op() {
            return "process";
        }
    }

    /** {@code mmap}: anonymous memory in {@code process}, at {@code va} or anywhere free; {@code as} names it. */
    record Mmap(String process, long size, int permissions, Long va, String as) implements Operation {
        @Override
        public String op() {
            return "mmap";
        }
    }

    /** {@code munmap}: {@code [va, va + size)} of {@code process}. */
    record Munmap(String process, VirtualAddress va, long size) implements Operation {
        @Override
        public String op() {
            return "munmap";
        }
    }

    /**
     * {@code writeProcessMemory} / {@code checkProcessMemory}: stores bytes at a virtual address
     * of {@code process} as its CPU would, or checks them.
     */
    record ProcessBytes(String process, VirtualAddress va, byte[] data, boolean check) implements Operation {
        @Override
        public String op() {
            return check ? "checkProcessMemory" : "writeProcessMemory";
        }
    }

    /** {@code exit}: the process exits. */
    record Exit(String process) implements Operation {
        @Override
        public String op() {
            return "exit";
        }
    }

    // ------------------------------------------------------------------ aux domains

    /** {@code enableAux} / {@code disableAux}: aux domains on a parent device. */
    record AuxFeature(String device, boolean enable) implements Operation {
        @Override
        public String op() {
            return enable ? "enableAux" : "disableAux";
        }
    }

    /** {@code attachAux}: {@code domain} as an aux domain of {@code device}; the PASID is recorded as {@code pasidAs}. */
    record AttachAux(String device, String domain, String pasidAs) implements Operation {
        @Override
        public String op() {
            return "attachAux";
        }
    }

    /** {@code detachAux}. */
    record DetachAux(String device, String domain) implements Operation {
        @Override
        public String op() {
            return "detachAux";
        }
    }

    // ------------------------------------------------------------------ shared virtual addressing

    /**
     * {@code bindSva}: binds the address space of {@code process} to {@code device}; the PASID it
     * answers on is recorded as {@code pasidAs} (null: not recorded).
     */
    record BindSva(String device, String process, String pasidAs) implements Operation {
        @Override
        public String op() {
            return "bindSva";
        }
    }

    /** {@code unbindSva}: drops one binding of {@code process} from {@code device}. */
    record UnbindSva(String device, String process) implements Operation {
        @Override
        public String op() {
            return "unbindSva";
        }
    }

    // ------------------------------------------------------------------ mdevs and containers

    /** An mdev type a parent registers: its name, device API and how many instances it offers. */
    record MdevTypeDef(String name, String deviceApi, int maxInstances) {}

    /** {@code mdevParent}: registers {@code device} as an mdev parent with {@code types}. */
    record MdevParent(String device, List<MdevTypeDef> types) implements Operation {
        public MdevParent {
            types = List.copyOf(types);
        }

        @Override
        public String op() {
            return "mdevParent";
        }
    }

    /**
     * {@code mdevCreate}: an mdev of {@code type} on {@code parent}; steps refer to it by
     * {@code name} ({@code uuid} when no alias is given).
     */
    record MdevCreate(String parent, UUID uuid, String type, String name) implements Operation {
        @Override
        public String op() {
            return "mdevCreate";
        }
    }

    /** {@code mdevRemove}. */
    record MdevRemove(String mdev) implements Operation {
        @Override
        public String op() {
            return "mdevRemove";
        }
    }

    /** {@code container}: a VFIO-style container called {@code name}, owned by process {@code owner}. */
    record NewContainer(String name, String owner) implements Operation {
        @Override
        public String op() {
            return "container";
        }
    }

    /** {@code containerAttach} / {@code containerDetach}: a whole PCI {@code device}, or an {@code mdev}. */
    record ContainerAttach(String container, String device, String mdev, boolean detach) implements Operation {
        @Override
        public String op() {
            return detach ? "containerDetach" : "containerAttach";
        }
    }

    /** {@code mapDma}: MAP_DMA of the owner's memory at {@code vaddr} to {@code [iova, iova + size)}. */
    record MapDma(String container, VirtualAddress vaddr, long iova, long size, int permissions) implements Operation {
        @Override
        public String op() {
            return "mapDma";
        }
    }

    /** {@code unmapDma}: UNMAP_DMA; {@code expectUnmapped} is the byte count expected back, or null. */
    record UnmapDma(String container, long iova, long size, Long expectUnmapped) implements Operation {
        @Override
        public String op() {
            return "unmapDma";
        }
    }

    /** An IOVA range, both ends inclusive. */
    record IovaSpan(long start, long end) {
        @Override
        public String toString() {
            return Numbers.hex(start) + ".." + Numbers.hex(end);
        }
    }

    /** {@code containerInfo}: prints what the container offers; each non-null field must match. */
    record ContainerInfo(String container, Long pageSizes, List<IovaSpan> iovaRanges, Boolean pasidSupport, Integer pasidBits)
            implements Operation {
        public ContainerInfo {
            iovaRanges = iovaRanges == null ? null : List.copyOf(iovaRanges);
        }

        @Override
        public String op() {
            return "containerInfo";
        }
    }

    /** {@code containerClose}. */
    record ContainerClose(String container) implements Operation {
        @Override
        public String op() {
            return "containerClose";
        }
    }

    // ------------------------------------------------------------------ checks

    /**
     * {@code check}: counters of the machine must have these values (null: not checked). A counter
     * expectation is a number or the name of a snapshot an earlier check saved with {@code save}.
     */
    record Check(Counter pasidsInUse, Counter tablePagesInUse, Counter processPagesInUse, String process,
                 Long lockedBytes, Boolean alive, String device, Integer auxDomains, String parent, String type,
                 Integer availableInstances, String save) implements Operation {
        @Override
        public String op() {
            return "check";
        }
    }

    /** An expected counter value: {@code value}, or the value saved under {@code snapshot}. */
    record Counter(long value, String snapshot) {
        @Override
        public String toString() {
            return snapshot != null ? snapshot : Long.toString(value);
        }
    }
}
