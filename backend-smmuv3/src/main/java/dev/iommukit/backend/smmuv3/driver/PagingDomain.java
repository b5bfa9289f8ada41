package dev.iommukit.backend.smmuv3.driver;

import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.spi.cap.PageSizes;
import dev.iommukit.spi.domain.BackendDomain;
import dev.iommukit.spi.domain.DomainInfo;
import dev.iommukit.spi.domain.DomainType;
import dev.iommukit.spi.error.ClosedException;
import dev.iommukit.spi.memory.PageAllocator;
import dev.iommukit.spi.pgtable.PageTable;
import dev.iommukit.spi.pgtable.vmsa.VmsaFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * A paging domain: VMSAv8-64 tables for stage 1 (tagged by its own ASID, attachable at PASIDs) or,
 * as a nesting parent, stage 2 (tagged by its own VMID, not attachable at PASIDs). Unmap
 * invalidates by address (range TLBI when IDR3.RIL, else per page or the whole tag) and syncs.
 */
final class PagingDomain implements BackendDomain {
    static final int INPUT_BITS = 48;
    static final int OUTPUT_BITS = 48;
    /** Above this many granules an unmap without RIL invalidates the whole ASID/VMID. */
    private static final long PER_PAGE_LIMIT = 64;

    private final boolean stage2;
    private final int tag;
    private final VmsaFormat format;
    private final PageTable table;
    private final CommandQueue cmdq;
    private final boolean rangeInvalidation;
    private final IntConsumer release;
    private final AtcInvalidator atc;
    private final DomainInfo info;
    private boolean freed;

    PagingDomain(boolean stage2, int tag, VmsaFormat format, PageAllocator allocator, CommandQueue cmdq,
                 boolean rangeInvalidation, IntConsumer release, AtcInvalidator atc) {
        this.stage2 = stage2;
        this.tag = tag;
        this.format = format;
        this.table = new PageTable(format, allocator, (stage2 ? "smmuv3 S2 VMID " : "smmuv3 S1 ASID ") + tag);
        this.cmdq = cmdq;
        this.rangeInvalidation = rangeInvalidation;
        this.release = release;
        this.atc = atc;
        this.info = new DomainInfo(DomainType.PAGING, format.pageSizes(), 0, (1L << INPUT_BITS) - 1, OUTPUT_BITS, !stage2,
                (stage2 ? "stage 2, " : "stage 1, ") + format.granule().label() + " granule, " + INPUT_BITS + "-bit input, "
                        + (stage2 ? "VMID " : "ASID ") + tag + ", pages " + PageSizes.format(format.pageSizes()));
    }

    boolean isStage2() {
        return stage2;
    }

    /** The ASID (stage 1) or VMID (stage 2). */
    int tag() {
        return tag;
    }

    VmsaFormat format() {
        return format;
    }

    long root() {
        return table.root();
    }

    @Override
    public DomainInfo info() {
        return info;
    }

    @Override
    public void map(long iova, long pa, long pageSize, long count, int permissions) {
        checkLive();
        table.map(iova, pa, pageSize, count, permissions);
    }

    @Override
    public void unmap(long iova, long size) {
        checkLive();
        table.unmap(iova, size);
        cmdq.submitAndSync(invalidations(iova, size).toArray(long[][]::new));
        atc.invalidate(this, iova, size);
    }

    private List<long[]> invalidations(long iova, long size) {
        List<long[]> cmds = new ArrayList<>();
        int granuleShift = format.granule().shift();
        long pages = (size + (1L << granuleShift) - 1) >>> granuleShift;
        if (rangeInvalidation) {
            long va = iova;
            long left = pages;
            while (left > 0) {
                if (left == 1) {
                    cmds.add(byAddress(va, 0, 0, 0));
                    break;
                }
                int scale = Math.max(0, 63 - Long.numberOfLeadingZeros(left) - 4);
                long num = Math.min(31, (left >>> scale) - 1);
                cmds.add(byAddress(va, format.granule().tlbiTg(), (int) num, scale));
                long done = (num + 1) << scale;
                va += done << granuleShift;
                left -= done;
            }
        } else if (pages <= PER_PAGE_LIMIT) {
            for (long i = 0; i < pages; i++) {
                cmds.add(byAddress(iova + (i << granuleShift), 0, 0, 0));
            }
        } else {
            cmds.add(stage2 ? Command.tlbiS12Vmall(tag) : Command.tlbiNhAsid(0, tag));
        }
        if (stage2) {
            cmds.add(Command.tlbiNhAll(tag));
        }
        return cmds;
    }

    private long[] byAddress(long address, int tg, int num, int scale) {
        if (stage2) {
            long[] c = Command.tlbiS2Ipa(tag, address, true);
            c[0] |= Command.NUM.of(num) | Command.SCALE.of(scale);
            c[1] |= Command.TG.of(tg);
            return c;
        }
        return tg == 0 ? Command.tlbiNhVa(0, tag, address, true)
                : Command.tlbiNhVaRange(0, tag, address, true, tg, 0, num, scale);
    }

    @Override
    public long iovaToPhys(long iova) {
        return freed ? -1 : table.iovaToPhys(iova);
    }

    @Override
    public void free() {
        if (freed) {
            return;
        }
        freed = true;
        cmdq.submitAndSync(stage2 ? Command.tlbiS12Vmall(tag) : Command.tlbiNhAsid(0, tag));
        table.free();
        release.accept(tag);
    }

    /** Frees the tables without invalidation: the SMMU is already disabled (unit close). */
    void discard() {
        if (!freed) {
            freed = true;
            table.free();
            release.accept(tag);
        }
    }

    boolean isFreed() {
        return freed;
    }

    private void checkLive() {
        if (freed) {
            throw new ClosedException("domain " + info.translation() + " was freed");
        }
    }
}
