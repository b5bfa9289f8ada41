package dev.iommukit.backend.smmuv3.driver;

import static dev.iommukit.backend.smmuv3.arch.ContextDescriptor.*;

import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.backend.smmuv3.arch.Idr5;
import dev.iommukit.spi.domain.CpuAddressSpace;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.domain.SvaDomain;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.IntConsumer;

/**
 * An SVA domain: a process's AArch64 (VMSAv8-64 stage 1, 4 KiB granule, 48-bit VA) tables shared
 * through a CD's TTB0, tagged by an SMMU-private ASID (ASET=1: broadcast TLB maintenance is not
 * modelled, so the process's changes arrive through {@link #invalidate}). The process owns the
 * tables: map and unmap are refused, iova-to-phys walks them read-only. {@link #quiesce()}
 * rewrites every attached CD to "TTB0 walks disabled, faults not recorded, aborted".
 */
final class CpuSvaDomain implements SvaDomain {
    static final String CPU_FORMAT = "aarch64";
    static final int ADDRESS_BITS = 48;
    /** The tables the CPU writes: VMSAv8-64 stage 1, 4 KiB granule, 48-bit input. */
    static final VmsaFormat FORMAT = VmsaFormat.stage1(VmsaGranule.G4K, ADDRESS_BITS);
    /** Above this many pages {@link #invalidate} drops the whole ASID instead of page by page. */
    private static final long PER_PAGE_LIMIT = 64;
    private static final int PAGE_SHIFT = 12;
    /** CD SH0 encoding for inner shareable. */
    private static final int SH0_INNER = 3;

    private final int asid;
    private final CpuAddressSpace space;
    private final PhysicalMemory memory;
    private final CommandQueue cmdq;
    private final Consumer<CpuSvaDomain> rewriteAttachedCds;
    private final IntConsumer release;
    private final AtcInvalidator atc;
    private final DomainInfo info;
    private volatile boolean quiesced;
    private volatile boolean freed;

    /**
     * @param rewriteAttachedCds rewrites the CD of every attachment of this domain to {@link #cd()}
     *     (with CFGI_CD + CMD_SYNC each)
     * @param release gives the ASID back
     */
    CpuSvaDomain(int asid, CpuAddressSpace space, PhysicalMemory memory, CommandQueue cmdq,
                 Consumer<CpuSvaDomain> rewriteAttachedCds, IntConsumer release, AtcInvalidator atc) {
        this.asid = asid;
        this.space = space;
        this.memory = memory;
        this.cmdq = cmdq;
        this.rewriteAttachedCds = rewriteAttachedCds;
        this.release = release;
        this.atc = atc;
        this.info = new DomainInfo(DomainType.SVA, 0, 0, (1L << ADDRESS_BITS) - 1, ADDRESS_BITS, true,
                "SVA: CPU AArch64 tables (TTB0), ASID " + asid);
    }

    /** Checks that {@code space} is one this backend can share (AArch64, 48-bit VA, a 4 KiB-aligned root below 2^48). */
    static void check(CpuAddressSpace space) {
        if (space == null) {
            throw IommuException.invalid("space", "must not be null");
        }
        if (!CPU_FORMAT.equals(space.cpuFormat()) || space.addressBits() != ADDRESS_BITS) {
            throw IommuException.invalid("space", "SMMUv3 SVA shares only cpuFormat \"" + CPU_FORMAT + "\" with addressBits "
                    + ADDRESS_BITS + ", was \"" + space.cpuFormat() + "\" with " + space.addressBits());
        }
        long root = space.pageTableRoot();
        if (root < 0 || root >>> ADDRESS_BITS != 0 || (root & ((1L << PAGE_SHIFT) - 1)) != 0) {
            throw IommuException.invalid("space", "pageTableRoot must be 4 KiB-aligned and below 2^48, was 0x" + Long.toHexString(root));
        }
    }

    int asid() {
        return asid;
    }

    boolean isQuiesced() {
        return quiesced;
    }

    boolean isFreed() {
        return freed;
    }

    /**
     * The CD an attachment of this domain holds: the live SVA CD ({@link #liveCd}), or once the
     * process has exited the quiet one ({@link #quiescedCd}).
     */
    long[] cd() {
        return quiesced ? quiescedCd(asid) : liveCd(asid, space.pageTableRoot());
    }

    /**
     * The SVA CD (spec §4.2/§4.3, §13 "SVA CD"): V, AA64, TTB0 = the process's table root,
     * T0SZ = 64 - 48, TG0 = 4K, IR0/OR0 = WB-WA, SH0 = inner, IPS = 48 bits (the CPU PARange),
     * EPD1 = 1, R = 1, A = 1, the ASID with ASET = 1 (SMMU-private; Linux uses ASET=0 and the
     * CPU's ASID, which needs BTM), MAIR = the CPU's.
     */
    static long[] liveCd(int asid, long ttb0) {
        long[] cd = new long[DWORDS];
        cd[0] = T0SZ.of(64 - ADDRESS_BITS) | TG0.of(VmsaGranule.G4K.tg0()) | IR0.of(CACHE_WBWA) | OR0.of(CACHE_WBWA)
                | SH0.of(SH0_INNER) | EPD1.of(1) | V.of(1) | IPS.of(Idr5.OAS_48) | AA64.of(1) | R.of(1) | A.of(1)
                | ASET.of(1) | ASID.of(asid);
        cd[1] = ttb0 & TTB0.mask();
        cd[3] = VmsaFormat.MAIR;
        return cd;
    }

    /**
     * The CD after the process exited: still valid (no C_BAD_CD), TTB0 walks disabled (EPD0 = 1,
     * TTB0 = 0) and translation faults aborted without a record ({A,R,S} = 100, spec §4.4).
     */
    static long[] quiescedCd(int asid) {
        long[] cd = liveCd(asid, 0);
        cd[0] = (cd[0] | EPD0.of(1)) & ~R.mask();
        return cd;
    }

    @Override
    public CpuAddressSpace addressSpace() {
        return space;
    }

    @Override
    public DomainInfo info() {
        return info;
    }

    @Override
    public void map(long iova, long pa, long pageSize, long count, int permissions) {
        throw IommuException.invalid("iova", "an SVA domain translates through the process's own tables: "
                + "the process maps pages itself and tells the domain through invalidate()");
    }

    @Override
    public void unmap(long iova, long size) {
        throw IommuException.invalid("iova", "an SVA domain translates through the process's own tables: "
                + "the process unmaps pages itself and tells the domain through invalidate()");
    }

    /** Walks the process's tables read-only; -1 when not mapped, quiesced or freed. */
    @Override
    public long iovaToPhys(long iova) {
        if (freed || quiesced || iova >>> ADDRESS_BITS != 0) {
            return -1;
        }
        long table = space.pageTableRoot();
        try {
            for (int level = 0; level < FORMAT.levels(); level++) {
                long index = (iova >>> FORMAT.indexShift(level)) & ((1L << FORMAT.indexBits(level)) - 1);
                long d = memory.read64(table + 8 * index);
                if (FORMAT.isLeaf(d, level)) {
                    return FORMAT.address(d, level) + (iova & (FORMAT.leafSize(level) - 1));
                }
                if (!FORMAT.isTable(d, level)) {
                    return -1;
                }
                table = FORMAT.address(d, level);
            }
        } catch (ExternalAbortException e) {
            return -1;
        }
        return -1;
    }

    /**
     * TLBI_NH_VA (Leaf=0: the process may also have freed table pages) for each 4 KiB page of the
     * range, or TLBI_NH_ASID above {@value #PER_PAGE_LIMIT} pages, then CMD_SYNC. The process's
     * pages are nG=1 (ASID-tagged), so NH_ASID covers them.
     */
    @Override
    public void invalidate(long va, long size) {
        checkLive();
        if (size < 0) {
            throw IommuException.invalid("size", "must not be negative, was " + size);
        }
        if (size == 0) {
            return;
        }
        long first = va >>> PAGE_SHIFT;
        long last = (va + size - 1) >>> PAGE_SHIFT;
        List<long[]> cmds = new ArrayList<>();
        if (Long.compareUnsigned(last, first) < 0 || last - first >= PER_PAGE_LIMIT) {
            cmds.add(Command.tlbiNhAsid(0, asid));
        } else {
            for (long p = first; p <= last; p++) {
                cmds.add(Command.tlbiNhVa(0, asid, p << PAGE_SHIFT, false));
            }
        }
        cmdq.submitAndSync(cmds.toArray(long[][]::new));
        atc.invalidate(this, va, size);
    }

    /**
     * Every attached CD becomes {@link #quiescedCd} (CFGI_CD + CMD_SYNC each), then TLBI_NH_ASID +
     * CMD_SYNC: afterwards no request walks or hits the process's tables, and faults are silent.
     */
    @Override
    public void quiesce() {
        checkLive();
        if (quiesced) {
            return;
        }
        quiesced = true;
        rewriteAttachedCds.accept(this);
        cmdq.submitAndSync(Command.tlbiNhAsid(0, asid));
        atc.invalidate(this, 0, 0);
    }

    /** TLBI_NH_ASID + CMD_SYNC, then the ASID goes back. The tables stay: they are the process's. */
    @Override
    public void free() {
        if (freed) {
            return;
        }
        freed = true;
        cmdq.submitAndSync(Command.tlbiNhAsid(0, asid));
        release.accept(asid);
    }

    /** Gives the ASID back without invalidation: the SMMU is already disabled (unit close). */
    void discard() {
        if (!freed) {
            freed = true;
            release.accept(asid);
        }
    }

    private void checkLive() {
        if (freed) {
            throw new ClosedException("domain " + info.translation() + " was freed");
        }
    }
}
