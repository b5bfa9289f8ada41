package dev.iommukit.backend.smmuv3.driver;

import static dev.iommukit.backend.smmuv3.arch.StreamTableEntry.*;

import dev.iommukit.backend.smmuv3.arch.AtsCommand;
import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.backend.smmuv3.arch.ContextDescriptor;
import dev.iommukit.backend.smmuv3.arch.Idr5;
import dev.iommukit.backend.smmuv3.arch.L1ContextDescriptor;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.NestedDomain;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArraySet;
import java.util.function.Consumer;
import java.util.function.IntPredicate;

/**
 * A guest PASID-table bind: the guest's CD table (an IPA) as stage 1 on a stage 2 paging domain
 * (the parent, whose VMID tags every combined entry). Attached without PASID it makes the STE
 * nested (Config=111) with only S1ContextPtr, S1Fmt, S1CDMax and S1DSS taken from the guest; the
 * guest's cache invalidations are carried out as commands carrying the host's StreamIDs and VMID.
 */
final class NestedCdTableDomain implements NestedDomain {
    /** Without RIL, more granules than this are invalidated by ASID (or VMID) instead of one by one. */
    private static final long PER_PAGE_LIMIT = 64;
    /**
     * With RIL, ranges of more granules than this (32 * 2^26: a few commands of SCALE up to 26,
     * well inside the 5-bit field) are invalidated by ASID (or VMID): a permitted over-invalidation.
     */
    private static final long RANGE_LIMIT = 32L << 26;

    private final PagingDomain parent;
    private final SmmuContextTableConfig config;
    private final PhysicalMemory memory;
    private final CommandQueue cmdq;
    private final boolean rangeInvalidation;
    private final IntPredicate atsEnabled;
    private final Consumer<NestedCdTableDomain> release;
    private final Set<Integer> streams = new CopyOnWriteArraySet<>();
    private final DomainInfo info;
    private volatile boolean freed;

    /**
     * @param atsEnabled whether ATS is enabled for a StreamID (STE.EATS): DEVICE_IOTLB
     *     invalidations become CMD_ATC_INV only then
     */
    NestedCdTableDomain(PagingDomain parent, SmmuContextTableConfig config, PhysicalMemory memory, CommandQueue cmdq,
                        boolean rangeInvalidation, IntPredicate atsEnabled, Consumer<NestedCdTableDomain> release) {
        this.parent = parent;
        this.config = config;
        this.memory = memory;
        this.cmdq = cmdq;
        this.rangeInvalidation = rangeInvalidation;
        this.atsEnabled = atsEnabled;
        this.release = release;
        this.info = DomainInfo.unmapped(DomainType.NESTED, false, "nested: guest CD table at IPA 0x"
                + Long.toHexString(config.contextTableAddress()) + " (" + config.format() + ", S1CDMax " + config.cdMaxBits()
                + ", S1DSS " + config.defaultSubstream() + ") on stage 2 VMID " + parent.tag());
    }

    @Override
    public BackendDomain parent() {
        return parent;
    }

    PagingDomain stage2() {
        return parent;
    }

    @Override
    public SmmuContextTableConfig config() {
        return config;
    }

    @Override
    public DomainInfo info() {
        return info;
    }

    /** The VMID of the parent: the tag of every combined stage 1 + stage 2 entry. */
    int vmid() {
        return parent.tag();
    }

    /**
     * The nested STE: the parent's stage 2 STE (S2VMID, VTCR fields, S2AA64, S2PTW, S2R, S2TTB) with
     * Config=111, the guest's S1ContextPtr, S1Fmt, S1CDMax and S1DSS, and the host's CD fetch
     * attributes (S1CIR/S1COR write-back read-allocate, S1CSH inner shareable), STRW=NS-EL1,
     * EATS=0, S1STALLD=0 and MEV=1 (merged events, as Linux sets for nested STEs).
     */
    long[] ste() {
        VmsaFormat f = parent.format();
        long[] ste = StreamTable.stage2Ste(parent.tag(), parent.root(), f.txsz(), f.s2sl0(), f.granule().tg0(), Idr5.OAS_48);
        ste[0] = V.of(1) | CONFIG.of(CONFIG_NESTED) | S1FMT.of(config.format().encoding())
                | (config.contextTableAddress() & S1_CONTEXT_PTR.mask()) | S1_CD_MAX.of(config.cdMaxBits());
        ste[1] |= S1DSS.of(config.defaultSubstream().encoding()) | S1CIR.of(CIR_WBRA) | S1COR.of(CIR_WBRA) | S1CSH.of(3)
                | MEV.of(1);
        return ste;
    }

    void attached(int sid) {
        streams.add(sid);
    }

    void detached(int sid) {
        streams.remove(sid);
    }

    /**
     * Whether the guest's CD for {@code ssid} has V=1, read through the parent's stage 2 as the SMMU
     * would fetch it (false when any step is unmapped or outside RAM). Used to tell an empty
     * substream (BLOCKED) from an ILLEGAL guest CD when a C_BAD_CD event is reported.
     */
    boolean guestCdValid(int ssid) {
        int cdMax = config.cdMaxBits();
        if (ssid < 0 || (cdMax == 0 && ssid != 0) || (cdMax > 0 && ssid >>> cdMax != 0)) {
            return false;
        }
        long cdIpa;
        if (cdMax == 0 || config.format() == SmmuContextTableConfig.Format.LINEAR) {
            cdIpa = config.contextTableAddress() + (long) ContextDescriptor.BYTES * ssid;
        } else {
            int split = config.format() == SmmuContextTableConfig.Format.TWO_LEVEL_64K ? L1ContextDescriptor.SPLIT_64K
                    : L1ContextDescriptor.SPLIT_4K;
            long l1 = readGuest(config.contextTableAddress() + 8L * (ssid >>> split));
            if (l1 == 0 || !L1ContextDescriptor.V.isSet(l1)) {
                return false;
            }
            cdIpa = L1ContextDescriptor.l2Pointer(l1) + (long) ContextDescriptor.BYTES * (ssid & ((1 << split) - 1));
        }
        return ContextDescriptor.V.isSet(readGuest(cdIpa));
    }

    /** A dword of guest memory at {@code ipa} through the parent's stage 2; 0 when unmapped or not RAM. */
    private long readGuest(long ipa) {
        if (ipa < 0 || ipa >>> PagingDomain.INPUT_BITS != 0) {
            return 0;
        }
        long pa = parent.iovaToPhys(ipa);
        if (pa < 0) {
            return 0;
        }
        try {
            return memory.read64(pa);
        } catch (ExternalAbortException e) {
            return 0;
        }
    }

    /**
     * Carries out {@code batch} in order: each invalidation becomes SMMU commands with the host's
     * StreamIDs (CFGI_CD, CFGI_CD_ALL, CMD_ATC_INV) and VMID (TLBI_NH_*); the batch stops at the
     * first one SMMUv3 cannot express, and one CMD_SYNC follows the commands of the completed part.
     */
    @Override
    public synchronized InvalidationBatchResult invalidate(List<CacheInvalidation> batch) {
        if (freed) {
            throw new ClosedException("domain " + info.translation() + " was freed");
        }
        List<long[]> commands = new ArrayList<>();
        List<Integer> sids = List.copyOf(streams);
        for (int i = 0; i < batch.size(); i++) {
            IommuException refusal = commands(batch.get(i), sids, commands);
            if (refusal != null) {
                submit(commands);
                return InvalidationBatchResult.stoppedAt(i, batch.size(), refusal);
            }
        }
        submit(commands);
        return InvalidationBatchResult.all(batch.size());
    }

    private void submit(List<long[]> commands) {
        if (!commands.isEmpty()) {
            cmdq.submitAndSync(commands.toArray(long[][]::new));
        }
    }

    /** Appends the commands of {@code c} to {@code out}, or returns why SMMUv3 cannot express it (appending nothing). */
    private IommuException commands(CacheInvalidation c, List<Integer> sids, List<long[]> out) {
        boolean cdCache = c.covers(CacheInvalidation.Cache.PASID);
        boolean tlb = c.covers(CacheInvalidation.Cache.IOTLB);
        boolean atc = c.covers(CacheInvalidation.Cache.DEVICE_IOTLB);
        CacheInvalidation.Granularity g = c.granularity();
        if (cdCache && g == CacheInvalidation.Granularity.PASID && !c.hasPasid()) {
            return IommuException.invalid("pasid", "the SMMUv3 CD cache is indexed by substream: a PASID-cache invalidation of ASID "
                    + c.archId() + " without a PASID cannot be expressed (CMD_CFGI_CD takes a SubstreamID)");
        }
        if (tlb && g == CacheInvalidation.Granularity.PASID && !c.hasArchId()) {
            return IommuException.invalid("archId", "SMMUv3 TLB entries are tagged by ASID, not by substream: an IOTLB invalidation of PASID "
                    + c.pasid() + " needs the ASID of its CD (archId); none was given");
        }
        if (cdCache) {
            for (int sid : sids) {
                out.add(g == CacheInvalidation.Granularity.DOMAIN ? Command.cfgiCdAll(sid) : Command.cfgiCd(sid, c.pasid(), false));
            }
        }
        if (tlb) {
            int vmid = vmid();
            switch (g) {
                case DOMAIN -> out.add(Command.tlbiNhAll(vmid));
                case PASID -> out.add(Command.tlbiNhAsid(vmid, c.archId()));
                case ADDRESS -> byAddress(vmid, c, out);
            }
        }
        if (atc) {
            for (int sid : sids) {
                if (atsEnabled.test(sid)) {
                    out.add(atcInvalidation(sid, c));
                }
            }
        }
        return null;
    }

    /**
     * TLBI_NH_VA (with the guest's ASID) or TLBI_NH_VAA (any ASID) over the range: with IDR3.RIL
     * range commands (TG of the guest's granule, NUM/SCALE, TTL=0) where the granule size names
     * a translation granule, else one command per granule; beyond {@link #PER_PAGE_LIMIT}
     * granules without RIL (or {@link #RANGE_LIMIT} with it), TLBI_NH_ASID or TLBI_NH_ALL (a
     * permitted over-invalidation).
     */
    private void byAddress(int vmid, CacheInvalidation c, List<long[]> out) {
        boolean asid = c.hasArchId();
        int tg = rangeInvalidation ? tlbiGranule(c.granuleSize()) : 0;
        if (tg == 0 && c.granules() > PER_PAGE_LIMIT) {
            out.add(asid ? Command.tlbiNhAsid(vmid, c.archId()) : Command.tlbiNhAll(vmid));
            return;
        }
        if (tg == 0) {
            for (long i = 0; i < c.granules(); i++) {
                out.add(vaCommand(vmid, c, c.address() + i * c.granuleSize(), 0, 0, 0));
            }
            return;
        }
        int shift = 10 + 2 * tg;
        long left = c.granules() * (c.granuleSize() >>> shift);
        if (left > RANGE_LIMIT) {
            out.add(asid ? Command.tlbiNhAsid(vmid, c.archId()) : Command.tlbiNhAll(vmid));
            return;
        }
        long va = c.address();
        while (left > 0) {
            if (left == 1) {
                out.add(vaCommand(vmid, c, va, 0, 0, 0));
                return;
            }
            int scale = Math.max(0, 63 - Long.numberOfLeadingZeros(left) - 4);
            long num = Math.min(31, (left >>> scale) - 1);
            out.add(vaCommand(vmid, c, va, tg, (int) num, scale));
            long done = (num + 1) << scale;
            va += done << shift;
            left -= done;
        }
    }

    /** The TLBI TG of the translation granule a guest granule size implies (its own size, or a block's), 0 when none. */
    private static int tlbiGranule(long size) {
        int log2 = Long.numberOfTrailingZeros(size);
        return switch (log2) {
            case 12, 21, 30 -> 1; // 4K page, 2M and 1G blocks
            case 14, 25 -> 2;     // 16K page, 32M block
            case 16, 29 -> 3;     // 64K page, 512M block
            default -> 0;
        };
    }

    private static long[] vaCommand(int vmid, CacheInvalidation c, long va, int tg, int num, int scale) {
        long[] cmd;
        if (c.hasArchId()) {
            cmd = tg == 0 ? Command.tlbiNhVa(vmid, c.archId(), va, c.leaf())
                    : Command.tlbiNhVaRange(vmid, c.archId(), va, c.leaf(), tg, 0, num, scale);
        } else {
            cmd = Command.tlbiNhVa(vmid, 0, va, c.leaf());
            cmd[0] = Command.OPCODE.set(cmd[0], Command.TLBI_NH_VAA);
            if (tg != 0) {
                cmd[0] |= Command.NUM.of(num) | Command.SCALE.of(scale);
                cmd[1] |= Command.TG.of(tg);
            }
        }
        return cmd;
    }

    /**
     * CMD_ATC_INV for {@code sid}: the substream when a PASID is named (SSV=1), else without PASID;
     * the smallest aligned span holding an address range, everything (Size=52) otherwise.
     */
    private static long[] atcInvalidation(int sid, CacheInvalidation c) {
        if (c.granularity() == CacheInvalidation.Granularity.ADDRESS) {
            return AtsCommand.atcInvRange(sid, c.hasPasid(), c.hasPasid() ? c.pasid() : 0, c.address(), c.granuleSize() * c.granules());
        }
        return AtsCommand.atcInvAll(sid, c.hasPasid(), c.hasPasid() ? c.pasid() : 0);
    }

    @Override
    public void map(long iova, long pa, long pageSize, long count, int permissions) {
        throw new NotSupportedException("map: a nested domain's stage 1 is the guest's own tables; map the parent (stage 2) instead");
    }

    @Override
    public void unmap(long iova, long size) {
        throw new NotSupportedException("unmap: a nested domain's stage 1 is the guest's own tables; unmap the parent (stage 2) instead");
    }

    /** Not walked by the driver: the guest's stage 1 changes without the host knowing. */
    @Override
    public long iovaToPhys(long iova) {
        return -1;
    }

    /** Invalidates every stage 1 entry of the parent's VMID (the guest's combined entries). */
    @Override
    public void free() {
        if (freed) {
            return;
        }
        freed = true;
        if (!parent.isFreed()) {
            cmdq.submitAndSync(Command.tlbiNhAll(vmid()));
        }
        release.accept(this);
    }

    /** Forgets the domain without commands: the SMMU is already disabled (unit close). */
    void discard() {
        freed = true;
    }

    boolean isFreed() {
        return freed;
    }
}
