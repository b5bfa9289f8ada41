package dev.iommukit.backend.vtd.driver;

import dev.iommukit.backend.vtd.arch.CapabilityRegister;
import dev.iommukit.backend.vtd.arch.ExtendedCapabilityRegister;
import dev.iommukit.backend.vtd.arch.InvalidationDescriptor;
import dev.iommukit.backend.vtd.arch.PasidDeviceTlbDescriptor;
import dev.iommukit.backend.vtd.arch.PasidTableEntry;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.BusyException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.NestedConfig;
import dev.iommukit.spi.nested.NestedDomain;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import dev.iommukit.spi.nested.VtdGuestPasidFlag;
import dev.iommukit.spi.pgtable.vtd.SecondLevelFormat;
import dev.iommukit.spi.pgtable.x86.X86PagingEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntPredicate;

/**
 * A guest PASID bind (digest §9, §14): a nested PASID entry (PGTT=011) whose first level is the
 * guest's x86-64 tables at a guest-physical FLPTPTR and whose second level is the parent, a
 * second-level paging domain of the same unit. As Linux's intel_pasid_setup_nested does, the
 * entry takes DID, SLPTPTR and AW from the parent (so the parent's iotlb invalidations cover the
 * nested PASIDs too), FLPTPTR, FLPM, SRE and WPE from the guest's config, PWSNP from ECAP.SMPWCS.
 *
 * <p>The guest changes its own tables and then asks for {@link #invalidate}: each invalidation
 * becomes the descriptors of digest §11 in the order the architecture needs (PASID cache, then
 * IOTLB, then device TLB), and the completed part of a batch ends in one inv_wait.
 */
final class NestedFirstLevelDomain implements DriverDomain, NestedDomain {
    private static final int MAX_RANGE_DESCRIPTORS = 32;

    private final PagingDomain parent;
    private final VtdFirstLevelConfig config;
    private final InvalidationQueue queue;
    private final PhysicalMemory memory;
    private final int mamv;
    private final IntPredicate deviceTlbEnabled;
    private final PasidTableEntry entry;
    private final DomainInfo info;
    private final Attachments attachments = new Attachments();

    private NestedFirstLevelDomain(PagingDomain parent, VtdFirstLevelConfig config, InvalidationQueue queue, PhysicalMemory memory,
                                   int mamv, boolean pwsnp, boolean oneGigPages, IntPredicate deviceTlbEnabled) {
        this.parent = parent;
        this.config = config;
        this.queue = queue;
        this.memory = memory;
        this.mamv = mamv;
        this.deviceTlbEnabled = deviceTlbEnabled;
        int aw = parentAwCode(parent);
        int flpm = config.addressWidth() == 57 ? 1 : 0;
        boolean sre = config.has(VtdGuestPasidFlag.SRE);
        this.entry = new PasidTableEntry(true, false, aw, false, PasidTableEntry.PGTT_NESTED, false, parent.table().root(), parent.did(),
                pwsnp, false, sre, false, flpm, sre && config.has(VtdGuestPasidFlag.WPE), false, false,
                config.has(VtdGuestPasidFlag.EAFE), config.firstLevelPointer());
        long sizes = (1L << 12) | (1L << 21) | (oneGigPages ? 1L << 30 : 0);
        this.info = new DomainInfo(DomainType.NESTED, sizes, 0, (1L << (config.addressWidth() - 1)) - 1, parent.info().outputBits(), true,
                String.format("nested (PGTT=011): guest first level x86-64 %d-level at GPA 0x%x%s, second level DID %d (%d-bit)",
                        config.levels(), config.firstLevelPointer(), sre ? ", SRE" : "", parent.did(),
                        SecondLevelFormat.addressWidthOf(aw)));
    }

    private static int parentAwCode(PagingDomain parent) {
        return ((SecondLevelFormat) parent.table().format()).awCode();
    }

    /**
     * Checks {@code parent} and {@code config} as Linux's bind does (digest §14) and makes the
     * domain. {@code deviceTlbEnabled} says whether a source id has ATS enabled (context DTE).
     */
    static NestedFirstLevelDomain create(BackendDomain parent, NestedConfig config, String unit, InvalidationQueue queue,
                                         PhysicalMemory memory, CapabilityRegister cap, ExtendedCapabilityRegister ecap,
                                         IntPredicate deviceTlbEnabled) {
        if (!(parent instanceof PagingDomain p) || !p.ownedBy(queue) || p.firstLevel()) {
            throw IommuException.invalid("parent", "must be a second-level paging domain of unit " + unit
                    + " (allocated as nesting parent), was " + (parent == null ? "null" : parent.info().translation()));
        }
        if (!(config instanceof VtdFirstLevelConfig vtd)) {
            throw new NotSupportedException("config: unit " + unit + " nests a VT-d guest first level ("
                    + VtdFirstLevelConfig.STAGE1 + "), not " + (config == null ? "null" : config.stage1()));
        }
        if (!NestingCapabilities.supported(ecap)) {
            throw new NotSupportedException("unit " + unit + ": nested translation needs ECAP.NEST with SMTS, PASID, FLTS and SLTS");
        }
        if (vtd.addressWidth() == 57 && !cap.fl5lp()) {
            throw new NotSupportedException("addressWidth: 57-bit (5-level) guest paging needs CAP.FL5LP on unit " + unit);
        }
        List<VtdGuestPasidFlag> honoured = NestingCapabilities.flags(ecap);
        for (VtdGuestPasidFlag f : vtd.flags()) {
            if (!honoured.contains(f)) {
                throw new NotSupportedException("flags: unit " + unit + " honours guest PASID flags " + honoured + ", not " + f
                        + " (SRE needs ECAP.SRS, EAFE ECAP.EAFS, PCD/PWT ECAP.MTS)");
            }
        }
        if (vtd.has(VtdGuestPasidFlag.WPE) && !vtd.has(VtdGuestPasidFlag.SRE)) {
            throw IommuException.invalid("config", "flag WPE governs supervisor writes and needs SRE");
        }
        int x = Math.min(cap.mgaw() + 1, SecondLevelFormat.addressWidthOf(parentAwCode(p)));
        if ((vtd.firstLevelPointer() >>> x) != 0) {
            throw IommuException.invalid("config", String.format("firstLevelPointer 0x%x is above the parent's %d-bit guest-physical"
                    + " space (FLPTPTR must be below 2^X, else SPT.4)", vtd.firstLevelPointer(), x));
        }
        return new NestedFirstLevelDomain(p, vtd, queue, memory, cap.mamv(), ecap.smpwcs(), cap.fl1gp(), deviceTlbEnabled);
    }

    boolean ownedBy(InvalidationQueue q) {
        return queue == q;
    }

    @Override
    public PasidTableEntry pasidEntry() {
        return entry;
    }

    @Override
    public void attached(int rid, int pasid) {
        attachments.add(rid, pasid);
    }

    @Override
    public void detached(int rid, int pasid) {
        attachments.remove(rid, pasid);
    }

    @Override
    public BackendDomain parent() {
        return parent;
    }

    @Override
    public NestedConfig config() {
        return config;
    }

    @Override
    public DomainInfo info() {
        return info;
    }

    @Override
    public void map(long iova, long pa, long pageSize, long count, int permissions) {
        throw IommuException.invalid("iova", "a nested domain has no map: the guest writes its own first-level tables and calls invalidate()");
    }

    @Override
    public void unmap(long iova, long size) {
        throw IommuException.invalid("iova", "a nested domain has no unmap: the guest writes its own first-level tables and calls invalidate()");
    }

    /**
     * Walks the guest's tables read-only (never sets A/D), each GPA through the parent's tables:
     * the host physical address {@code iova} reaches, or -1.
     */
    @Override
    public long iovaToPhys(long iova) {
        return FirstLevelLookup.lookup(memory, config.firstLevelPointer(), config.levels(), config.addressWidth(), iova,
                parent::iovaToPhys);
    }


    /**
     * Which level denied a write to {@code address} (an SGN.6 fault record): the first level when
     * the guest's tables, walked as software, do not allow it for a request of that privilege,
     * else the second level.
     */
    FaultStage writeFaultStage(long address, boolean privileged) {
        int levels = config.levels();
        if (!X86PagingEntry.canonical(address, config.addressWidth())) {
            return FaultStage.STAGE_1;
        }
        boolean user = true;
        boolean writable = true;
        long table = config.firstLevelPointer();
        try {
            for (int level = 0; level < levels; level++) {
                int shift = 12 + 9 * (levels - 1 - level);
                long slot = parent.iovaToPhys(table + ((address >>> shift) & 0x1FF) * 8);
                long e = slot < 0 ? 0 : memory.read64(slot);
                if (!X86PagingEntry.present(e)) {
                    return FaultStage.STAGE_1;
                }
                user &= X86PagingEntry.user(e);
                writable &= X86PagingEntry.writable(e);
                if (shift == 12 || (X86PagingEntry.pageSize(e) && (shift == 21 || shift == 30))) {
                    break;
                }
                table = X86PagingEntry.address(e, 12);
            }
        } catch (ExternalAbortException | IllegalArgumentException e) {
            return FaultStage.STAGE_1;
        }
        boolean allowed = privileged ? writable || !entry.wpe() : user && writable;
        return allowed ? FaultStage.STAGE_2 : FaultStage.STAGE_1;
    }

    /** The PASIDs this domain is attached at, in order. */
    private Set<Integer> attachedPasids() {
        Set<Integer> pasids = new TreeSet<>();
        for (long a : attachments) {
            pasids.add((int) a);
        }
        return pasids;
    }

    @Override
    public InvalidationBatchResult invalidate(List<CacheInvalidation> batch) {
        List<long[]> descriptors = new ArrayList<>();
        int done = 0;
        IommuException refusal = null;
        for (CacheInvalidation inv : batch) {
            refusal = refusal(inv);
            if (refusal != null) {
                break;
            }
            descriptors.addAll(descriptors(inv));
            done++;
        }
        if (!descriptors.isEmpty()) {
            queue.submitAndWait(descriptors);
        }
        return refusal == null ? InvalidationBatchResult.all(batch.size()) : InvalidationBatchResult.stoppedAt(done, batch.size(), refusal);
    }

    /** Why {@code inv} cannot be carried out at this domain's attachments, or null. */
    private IommuException refusal(CacheInvalidation inv) {
        if (inv.hasArchId()) {
            return IommuException.invalid("archId", "VT-d tags a guest's translations by DID and PASID; archId " + inv.archId()
                    + " (an SMMUv3 ASID) has no meaning here");
        }
        if (inv.granularity() != CacheInvalidation.Granularity.DOMAIN && !attachedPasids().contains(inv.pasid())) {
            return IommuException.invalid("pasid", inv.pasid() + " is not a PASID this nested domain is attached at (attached at "
                    + attachedPasids() + ")");
        }
        return null;
    }

    /**
     * The descriptors for {@code inv}: PASID cache first, then IOTLB (also when only the PASID
     * cache was named), then device TLB (digest §11 ordering).
     */
    private List<long[]> descriptors(CacheInvalidation inv) {
        int did = parent.did();
        boolean domainWide = inv.granularity() == CacheInvalidation.Granularity.DOMAIN;
        Set<Integer> pasids = domainWide ? attachedPasids() : Set.of(inv.pasid());
        boolean tooMany = pasids.size() > MAX_RANGE_DESCRIPTORS;
        List<long[]> out = new ArrayList<>();
        if (inv.covers(CacheInvalidation.Cache.PASID)) {
            if (tooMany) {
                out.add(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_DOMAIN, did, 0));
            } else {
                for (int pasid : pasids) {
                    out.add(InvalidationDescriptor.pasidCache(InvalidationDescriptor.PC_PASID, did, pasid));
                }
            }
        }
        List<long[]> ranges = inv.granularity() == CacheInvalidation.Granularity.ADDRESS
                ? PagingDomain.ranges(inv.address(), inv.granuleSize() * inv.granules(), mamv) : List.of();
        boolean wholePasid = ranges.isEmpty() || ranges.size() > MAX_RANGE_DESCRIPTORS;
        // A PASID-cache invalidation is followed by an IOTLB one of at least its scope (digest §11 ordering rules).
        if (inv.covers(CacheInvalidation.Cache.IOTLB) || inv.covers(CacheInvalidation.Cache.PASID)) {
            if (tooMany) {
                // Domain-selective hits every PASID of the parent's DID, this domain's included.
                out.add(InvalidationDescriptor.iotlb(InvalidationDescriptor.IOTLB_DOMAIN, did, 0, 0, false));
            } else {
                for (int pasid : pasids) {
                    if (wholePasid) {
                        out.add(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PASID, did, pasid, 0, 0, false));
                    } else {
                        for (long[] r : ranges) {
                            out.add(InvalidationDescriptor.pasidIotlb(InvalidationDescriptor.P_IOTLB_PAGE, did, pasid, r[0], (int) r[1],
                                    inv.leaf()));
                        }
                    }
                }
            }
        }
        if (inv.covers(CacheInvalidation.Cache.DEVICE_IOTLB)) {
            for (long a : attachments) {
                int rid = (int) (a >>> 32);
                int pasid = (int) a;
                if (!pasids.contains(pasid) || !deviceTlbEnabled.test(rid)) {
                    continue;
                }
                if (wholePasid) {
                    out.add(PasidDeviceTlbDescriptor.whole(rid, pasid));
                } else {
                    for (long[] r : ranges) {
                        out.add(PasidDeviceTlbDescriptor.range(rid, pasid, r[0], 1L << r[1]));
                    }
                }
            }
        }
        return out;
    }

    /** Nothing of its own to give back: no DID (the parent's), no tables (the guest's). */
    @Override
    public void free() {
        if (!attachments.isEmpty()) {
            throw new BusyException("nested domain is still attached at " + attachedPasids());
        }
    }
}
