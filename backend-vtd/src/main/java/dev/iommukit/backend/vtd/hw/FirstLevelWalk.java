package dev.iommukit.backend.vtd.hw;

import static dev.iommukit.backend.vtd.arch.FaultReasonCode.*;

import dev.iommukit.backend.vtd.arch.CapabilityRegister;
import dev.iommukit.backend.vtd.arch.ExtendedCapabilityRegister;
import dev.iommukit.backend.vtd.arch.PasidTableEntry;
import dev.iommukit.backend.vtd.hw.RemappingEngine.Abort;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.fault.FaultStage;
import dev.iommukit.spi.memory.ExternalAbortException;
import dev.iommukit.spi.memory.PhysicalMemory;
import dev.iommukit.spi.pgtable.x86.X86PagingEntry;
import dev.iommukit.spi.tlb.TlbEntry;
import dev.iommukit.spi.tlb.TranslationCache;

/**
 * The first-level walk (IA-32e, digest §7) of PGTT=001 and of the guest level of PGTT=011.
 *
 * <p>Nested (§9): the first level is the guest's, in guest-physical memory, and every address it
 * yields (each FL table pointer, the FL root and the final page) is a GPA that the second level
 * (§8) of the same entry translates to a host address before use. Nothing the guest writes can
 * take a request outside the SL mapping. A GPA at or above 2^X (X = min(MGAW + 1, AGAW)) in an FL
 * entry is SFS.5; an SL fault while translating the GPA of an FL table is reported as the SL fault
 * (SSS.1-4, SGN.5); an FL table page the SL does not let hardware read is SFS.6 (root table) or
 * SFS.7 (lower table), one it does not let hardware write when A/D must be set is SFS.8; the final
 * GPA needs the SL permission of the request (SGN.6 write, SGN.7 read) after the FL rules of §7
 * (SGN.2, SGN.6). A/D are set in FL entries only once the access is known to be allowed by both
 * levels. The combined translation is cached in the IOTLB under DID+PASID, with the smaller of the
 * two page sizes, as a first-level entry (p_iotlb and iotlb page-selective invalidations hit it as
 * §11 says) carrying the SL permissions as attributes.
 *
 * <p>First level only: the same walk with the host addresses used as they are.
 */
final class FirstLevelWalk {
    private static final int MAX_AD_RETRIES = 4;

    private final PhysicalMemory memory;
    private final TranslationCache iotlb;
    private final CapabilityRegister cap;
    private final ExtendedCapabilityRegister ecap;
    private final int haw;
    private final SecondLevelWalk secondLevel;

    FirstLevelWalk(PhysicalMemory memory, TranslationCache iotlb, CapabilityRegister cap, ExtendedCapabilityRegister ecap, int haw,
                   SecondLevelWalk secondLevel) {
        this.memory = memory;
        this.iotlb = iotlb;
        this.cap = cap;
        this.ecap = ecap;
        this.haw = haw;
        this.secondLevel = secondLevel;
    }

    /** Translates {@code address} (an IOVA/VA, or a GVA when nested) to a host physical address, or throws {@link Abort}. */
    long translate(PasidConfig pc, long address, boolean write, boolean privileged, long epoch) {
        if (!X86PagingEntry.canonical(address, pc.inputBits())) {
            throw new Abort(SGN_1, pc.fpd(), FaultStage.STAGE_1);
        }
        for (int attempt = 0; attempt < MAX_AD_RETRIES; attempt++) {
            long pa = once(pc, address, write, privileged, epoch);
            if (pa != -1) {
                return pa;
            }
        }
        throw new Abort(SFS_10, pc.fpd(), FaultStage.STAGE_1);
    }

    /** The SL translation of a nested walk's {@code gpa}; the identity (all rights, no size limit) without nesting. */
    private long host(PasidConfig pc, boolean nested, long gpa, SecondLevelWalk.Result sl) {
        if (!nested) {
            sl.shift = 63;
            sl.read = true;
            sl.write = true;
            return gpa;
        }
        return secondLevel.walk(pc.slRoot(), pc.slLevels(), pc.slInputBits(), gpa, pc.fpd(), sl);
    }

    /** One walk; -1 when an A/D update lost a race with software and the walk must restart. */
    private long once(PasidConfig pc, long address, boolean write, boolean privileged, long epoch) {
        boolean nested = pc.pgtt() == PasidTableEntry.PGTT_NESTED;
        boolean fpd = pc.fpd();
        int levels = pc.levels();
        int x = nested ? pc.slInputBits() : 64;
        long[] slots = new long[levels];
        long[] entries = new long[levels];
        boolean[] tableWritable = new boolean[levels];
        SecondLevelWalk.Result sl = new SecondLevelWalk.Result();
        long table = pc.root();
        boolean userOk = true;
        boolean writeOk = true;
        int used = 0;
        int leafShift = 0;
        long leafBase = 0;
        for (int level = 0; level < levels; level++) {
            int shift = 12 + 9 * (levels - 1 - level);
            long slot = host(pc, nested, table + ((address >>> shift) & 0x1FF) * 8, sl);
            if (!sl.read) {
                throw new Abort(level == 0 ? SFS_6 : SFS_7, fpd, FaultStage.STAGE_2);
            }
            long e = SecondLevelWalk.read(memory, slot, level == 0 ? SFS_4 : SFS_1, fpd);
            if (!X86PagingEntry.present(e)) {
                throw new Abort(SFS_2, fpd, FaultStage.STAGE_1);
            }
            boolean ps = X86PagingEntry.pageSize(e);
            boolean leaf = shift == 12 || (ps && (shift == 21 || shift == 30));
            long reserved = X86PagingEntry.reservedMask(haw, shift, leaf ? shift : 0);
            if (shift == 30 && ps && !cap.fl1gp()) {
                reserved |= X86PagingEntry.PS;
            }
            if ((e & reserved) != 0) {
                throw new Abort(SFS_3, fpd, FaultStage.STAGE_1);
            }
            long next = X86PagingEntry.address(e, leaf ? shift : 12);
            if (x < 64 && (next >>> x) != 0) {
                throw new Abort(SFS_5, fpd, FaultStage.STAGE_1);
            }
            userOk &= X86PagingEntry.user(e);
            writeOk &= X86PagingEntry.writable(e);
            slots[used] = slot;
            tableWritable[used] = sl.write;
            entries[used++] = e;
            if (leaf) {
                leafShift = shift;
                leafBase = next;
                break;
            }
            table = next;
        }
        // First-level access rights (digest §7), then the second level of the final GPA.
        if (!privileged) {
            if (!userOk) {
                throw new Abort(SGN_2, fpd, FaultStage.STAGE_1);
            }
            if (write && !writeOk) {
                throw new Abort(SGN_6, fpd, FaultStage.STAGE_1);
            }
        } else if (write && pc.wpe() && !writeOk) {
            throw new Abort(SGN_6, fpd, FaultStage.STAGE_1);
        }
        long hpa = host(pc, nested, leafBase | (address & ((1L << leafShift) - 1)), sl);
        if (write && !sl.write) {
            throw new Abort(SGN_6, fpd, FaultStage.STAGE_2);
        }
        if (!write && !sl.read) {
            throw new Abort(SGN_7, fpd, FaultStage.STAGE_2);
        }
        // Accessed in every FL entry used, dirty in the leaf for a write: nested, each needs SL write on its table page.
        boolean needsUpdate = write && !X86PagingEntry.dirty(entries[used - 1]);
        for (int i = 0; i < used; i++) {
            needsUpdate |= !X86PagingEntry.accessed(entries[i]);
        }
        if (needsUpdate) {
            if (!(pc.pwsnp() && ecap.smpwcs())) {
                throw new Abort(SFS_9, fpd, FaultStage.STAGE_1);
            }
            for (int i = 0; i < used; i++) {
                long update = entries[i] | X86PagingEntry.A | (i == used - 1 && write ? X86PagingEntry.D : 0);
                if (update == entries[i]) {
                    continue;
                }
                if (!tableWritable[i]) {
                    throw new Abort(SFS_8, fpd, FaultStage.STAGE_2);
                }
                try {
                    if (!memory.compareAndSwap64(slots[i], entries[i], update)) {
                        return -1;
                    }
                } catch (ExternalAbortException | IllegalArgumentException e) {
                    throw new Abort(SFS_10, fpd, FaultStage.STAGE_1);
                }
                entries[i] = update;
            }
        }
        int shift = Math.min(leafShift, sl.shift);
        long leafEntry = entries[used - 1];
        long attributes = IotlbTags.FIRST_LEVEL | (X86PagingEntry.dirty(leafEntry) ? IotlbTags.DIRTY : 0) | (userOk ? IotlbTags.USER : 0)
                | (nested ? IotlbTags.NESTED | (sl.read ? IotlbTags.SL_READ : 0) | (sl.write ? IotlbTags.SL_WRITE : 0) : 0);
        int perms = Permissions.READ | (writeOk ? Permissions.WRITE : 0);
        iotlb.fill(new TlbEntry(pc.tag(), address & -(1L << shift), shift, hpa & -(1L << shift), perms, attributes), epoch);
        return hpa;
    }
}
