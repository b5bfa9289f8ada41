package dev.iommukit.cli.scenario;

import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.fault.FaultReason;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import java.util.List;
import java.util.Set;
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
    record DmaExpectation(Long pa, VirtualAddress va, GuestAddress gpa, FaultReason fault, String vendor, FaultStage stage,
                          byte[] data, Integer pageRequests) {
        public boolean expectsFault() {
            return fault != null;
        }
    }

    /** A guest-physical address of the guest named {@code guest}. */
    record GuestAddress(String guest, long gpa) {
        @Override
        public String toString() {
            return guest + " gpa " + Numbers.hex(gpa);
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

    /**
     * {@code container}: a VFIO-style container called {@code name}, owned by process {@code owner};
     * {@code nesting}: of type TYPE1_NESTING (its domains can be stages 2 of guests).
     */
    record NewContainer(String name, String owner, boolean nesting) implements Operation {
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

    // ------------------------------------------------------------------ I/O page faults

    /** {@code mmapLazy}: memory of {@code process} whose pages appear on first touch; {@code as} names it. */
    record MmapLazy(String process, long size, int permissions, String as) implements Operation {
        @Override
        public String op() {
            return "mmapLazy";
        }
    }

    /** {@code enablePageRequests} / {@code disablePageRequests}: ATS and PRI on {@code device}. */
    record PageRequests(String device, boolean enable) implements Operation {
        @Override
        public String op() {
            return enable ? "enablePageRequests" : "disablePageRequests";
        }
    }

    /** The page request handlers a scenario can register. */
    enum HandlerKind {
        /** {@code svaFaultIn}: faults the page in on the bound process's side (PageRequestHandler.svaFaultIn()). */
        SVA_FAULT_IN("svaFaultIn"),
        /** {@code invalidRequest}: answers every request as an invalid request. */
        INVALID_REQUEST("invalidRequest");

        private final String json;

        HandlerKind(String json) {
            this.json = json;
        }

        public String json() {
            return json;
        }
    }

    /** {@code pageRequestHandler}: registers a handler for the page requests of {@code device}. */
    record PageRequestHandlerOp(String device, HandlerKind handler) implements Operation {
        @Override
        public String op() {
            return "pageRequestHandler";
        }
    }

    /** {@code removePageRequestHandler}: closes the registration (BUSY while requests are unanswered). */
    record RemovePageRequestHandler(String device) implements Operation {
        @Override
        public String op() {
            return "removePageRequestHandler";
        }
    }

    // ------------------------------------------------------------------ guests

    /** A PASID named by a number or by a name recorded earlier ({@code pasidAs}). */
    record PasidRef(int value, String name) {
        @Override
        public String toString() {
            return name != null ? name : Integer.toString(value);
        }
    }

    /** {@code guestPasidQuota}: how many guest PASIDs the containers of {@code owner} may hold together. */
    record GuestPasidQuota(String owner, int quota) implements Operation {
        @Override
        public String op() {
            return "guestPasidQuota";
        }
    }

    /** {@code guest}: a guest of {@code ramSize} bytes whose stage 2 is {@code container}'s domains. */
    record NewGuest(String name, String container, long ramSize) implements Operation {
        @Override
        public String op() {
            return "guest";
        }
    }

    /** Formats of guest page tables, by their JSON names. */
    enum GuestTableFormat {
        X86_64_4LEVEL("x86_64_4level", 48),
        X86_64_5LEVEL("x86_64_5level", 57),
        AARCH64_4K_48BIT("aarch64_4k_48bit", 48);

        private final String json;
        private final int addressWidth;

        GuestTableFormat(String json, int addressWidth) {
            this.json = json;
            this.addressWidth = addressWidth;
        }

        public String json() {
            return json;
        }

        /** The input address width of the format (a VT-d guest PASID bind's addressWidth). */
        public int addressWidth() {
            return addressWidth;
        }
    }

    /** {@code guestPageTable}: a page table the guest builds in its RAM. */
    record GuestPageTable(String name, String guest, GuestTableFormat format) implements Operation {
        @Override
        public String op() {
            return "guestPageTable";
        }
    }

    /** {@code guestMap}: the guest maps {@code [va, va + size)} to {@code gpa} in {@code table}. */
    record GuestMap(String table, long va, long gpa, long size, int permissions) implements Operation {
        @Override
        public String op() {
            return "guestMap";
        }
    }

    /** {@code guestUnmap}: the guest removes {@code [va, va + size)} from {@code table}. */
    record GuestUnmap(String table, long va, long size) implements Operation {
        @Override
        public String op() {
            return "guestUnmap";
        }
    }

    /** {@code guestWriteMemory} / {@code guestCheckMemory}: bytes at a guest-physical address. */
    record GuestBytes(String guest, long gpa, byte[] data, boolean check) implements Operation {
        @Override
        public String op() {
            return check ? "guestCheckMemory" : "guestWriteMemory";
        }
    }

    /** {@code guestContextTable}: a linear SMMUv3 CD table of {@code 2^cdMaxBits} CDs in guest RAM. */
    record GuestContextTable(String name, String guest, int cdMaxBits) implements Operation {
        @Override
        public String op() {
            return "guestContextTable";
        }
    }

    /**
     * {@code writeContextDescriptor} / {@code clearContextDescriptor}: the guest writes CD {@code ssid}
     * of {@code contextTable} for {@code table} under {@code asid}, or clears it.
     */
    record ContextDescriptor(String contextTable, int ssid, String table, int asid, boolean clear) implements Operation {
        @Override
        public String op() {
            return clear ? "clearContextDescriptor" : "writeContextDescriptor";
        }
    }

    /** {@code allocGuestPasid}: a guest PASID from {@code container}, recorded as {@code pasidAs}. */
    record AllocGuestPasid(String container, String pasidAs) implements Operation {
        @Override
        public String op() {
            return "allocGuestPasid";
        }
    }

    /** {@code freeGuestPasid}. */
    record FreeGuestPasid(String container, PasidRef pasid) implements Operation {
        @Override
        public String op() {
            return "freeGuestPasid";
        }
    }

    /**
     * {@code bindGuestPasid} / {@code unbindGuestPasid}: a guest PASID on a whole PCI {@code device} or an
     * {@code mdev} of {@code container}; a bind names the guest page {@code table} (its root is the first-level
     * pointer), the address width ({@code null}: the table format's) and the flags.
     */
    record GuestPasidBinding(String container, String device, String mdev, PasidRef pasid, String table, Integer addressWidth,
                             Set<VtdGuestPasidFlag> flags, boolean unbind) implements Operation {
        public GuestPasidBinding {
            flags = flags == null ? null : Set.copyOf(flags);
        }

        @Override
        public String op() {
            return unbind ? "unbindGuestPasid" : "bindGuestPasid";
        }
    }

    /** {@code attachPasidTable}: the guest CD table to the whole {@code device} (STE nested). */
    record AttachPasidTable(String container, String device, String contextTable,
                            SmmuContextTableConfig.DefaultSubstream defaultSubstream) implements Operation {
        @Override
        public String op() {
            return "attachPasidTable";
        }
    }

    /** {@code detachPasidTable}: back to the container's stage-2 domain. */
    record DetachPasidTable(String container, String device) implements Operation {
        @Override
        public String op() {
            return "detachPasidTable";
        }
    }

    /** One invalidation of a {@code guestInvalidate} batch, PASID unresolved; the run builds the CacheInvalidation. */
    record InvalidationSpec(Set<CacheInvalidation.Cache> caches, CacheInvalidation.Granularity granularity, PasidRef pasid,
                            int asid, long address, long granuleSize, long granules, boolean leaf) {
        public InvalidationSpec {
            caches = Set.copyOf(caches);
        }
    }

    /**
     * {@code guestInvalidate}: a batch of guest invalidations through {@code container} for a whole PCI
     * {@code device} or an {@code mdev}; {@code expectCompleted}: how many must complete (null: all).
     */
    record GuestInvalidate(String container, String device, String mdev, List<InvalidationSpec> batch, Integer expectCompleted)
            implements Operation {
        public GuestInvalidate {
            batch = List.copyOf(batch);
        }

        @Override
        public String op() {
            return "guestInvalidate";
        }
    }

    // ------------------------------------------------------------------ checks

    /**
     * {@code check}: counters of the machine must have these values (null: not checked). A counter
     * expectation is a number or the name of a snapshot an earlier check saved with {@code save}.
     */
    record Check(Counter pasidsInUse, Counter tablePagesInUse, Counter processPagesInUse, String process,
                 Long lockedBytes, Boolean alive, String device, Integer auxDomains, Integer pendingPageRequests,
                 String parent, String type, Integer availableInstances, String container, Integer guestPasids,
                 String save) implements Operation {
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
