package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.SmmuFixture.cd0;
import static dev.iommukit.cli.inspect.SmmuFixture.cd1;
import static dev.iommukit.cli.inspect.SmmuFixture.s1;
import static dev.iommukit.cli.inspect.SmmuFixture.s2;
import static dev.iommukit.cli.inspect.SmmuFixture.ste0;
import static dev.iommukit.cli.inspect.SmmuFixture.ste1;
import static dev.iommukit.cli.inspect.SmmuFixture.ste2;
import static dev.iommukit.cli.inspect.VtdFixture.FL_LEAF;
import static dev.iommukit.cli.inspect.VtdFixture.FL_TABLE;
import static dev.iommukit.cli.inspect.VtdFixture.SL_RW;
import static dev.iommukit.cli.inspect.VtdFixture.pe0;
import static dev.iommukit.cli.inspect.VtdFixture.pe1;
import static dev.iommukit.cli.inspect.VtdFixture.pe2;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Nested dumps whose {@code expect} lists guest-virtual to host-physical ranges: a consistent one passes, and one
 * altered by hand in the guest's own structures (which live in guest RAM, reached through stage 2) or in stage 2 is
 * caught, as an isolation error where the structures reach more and a functional one where they reach less.
 */
class NestedDumpCheckTest {
    static final int RID = 0x20;
    static final int SID = 0x18;
    static final int GUEST_PASID = 9;

    /** VT-d PGTT=011 at PASID 9: guest VA 0x7000 -> GPA 0x20007000 -> HPA 0xc0007000; VA 0x8000 -> GPA 0x20008000. */
    private static final class Vtd {
        final VtdFixture f = new VtdFixture();
        final long hostFl = f.dump.alloc(4 * 4096);
        final long sl = f.dump.alloc(4096);

        Vtd() {
            long gpaFl = 0x1000_0000L;
            for (int i = 0; i < 4; i++) {
                f.dump.intelMap(4, sl, gpaFl + 4096L * i, hostFl + 4096L * i, 1, SL_RW, SL_RW);
            }
            f.dump.intelMap(4, sl, 0x2000_0000L, 0xC000_0000L, 2, SL_RW, SL_RW);
            for (int level = 0; level < 3; level++) {
                f.dump.write64(hostFl + 4096L * level, (gpaFl + 4096L * (level + 1)) | FL_TABLE);
            }
            f.dump.write64(ptSlot(7), 0x2000_7000L | FL_LEAF);
            f.dump.write64(ptSlot(8), 0x2000_8000L | FL_LEAF & ~0b10L); // read-only guest page
            long dir = f.context(RID, true, 0, 0);
            f.pasidEntry(dir, GUEST_PASID, pe0(2, 0b011, sl), pe1(4, true), pe2(0, gpaFl));
            f.dump.expect(VtdFixture.UNIT, RID, GUEST_PASID, 0x7000, 0x1000, 0xC000_7000L, true, true);
            f.dump.expect(VtdFixture.UNIT, RID, GUEST_PASID, 0x8000, 0x1000, 0xC000_8000L, true, false);
        }

        long ptSlot(int index) {
            return hostFl + 3 * 4096L + 8L * index;
        }

        List<Mismatch> check() {
            return new DumpChecker().check(f.build(RID)).mismatches();
        }
    }

    @Test
    void vtdNested_consistentDump_passes() {
        assertThat(new Vtd().check()).isEmpty();
    }

    @Test
    void vtdNested_guestLeafRedirectedInGuestRam_isCaught() {
        Vtd v = new Vtd();
        v.f.dump.write64(v.ptSlot(7), 0x2000_3000L | FL_LEAF); // the guest entry now names GPA 0x20003000
        assertThat(v.check()).extracting(Mismatch::kind, Mismatch::iova)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple(Mismatch.Kind.ISOLATION, 0x7000L),
                        org.assertj.core.groups.Tuple.tuple(Mismatch.Kind.FUNCTIONAL, 0x7000L));
    }

    @Test
    void vtdNested_guestPageMadeWritableInGuestRam_isIsolationError() {
        Vtd v = new Vtd();
        v.f.dump.write64(v.ptSlot(8), 0x2000_8000L | FL_LEAF);
        assertThat(v.check()).singleElement().satisfies(m -> {
            assertThat(m.kind()).isEqualTo(Mismatch.Kind.ISOLATION);
            assertThat(m.iova()).isEqualTo(0x8000);
            assertThat(m.detail()).contains("grants rw, expected r-");
        });
    }

    @Test
    void vtdNested_guestTablePageLostAtSecondLevel_isFunctionalError() {
        Vtd v = new Vtd();
        // The second-level entry for the guest's PT page (GPA 0x10003000) becomes not present (R=W=0).
        long pml4 = v.f.dump.read64(v.sl) & ~0xFFFL;
        long pd = v.f.dump.read64(pml4) & ~0xFFFL;
        long pt = v.f.dump.read64(pd + 8 * 0x80) & ~0xFFFL;
        v.f.dump.write64(pt + 8 * 3, 0);
        assertThat(v.check()).extracting(Mismatch::kind, Mismatch::iova).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple(Mismatch.Kind.FUNCTIONAL, 0x7000L),
                org.assertj.core.groups.Tuple.tuple(Mismatch.Kind.FUNCTIONAL, 0x8000L));
    }

    /** SMMUv3 Config=111, guest CD table at IPA 0x10000000 (2 CDs), S1DSS=0b10: CD 0 and substream 1. */
    private static final class Smmu {
        final SmmuFixture f = SmmuFixture.linear(8);
        final long cdPa = f.dump.alloc(4096);
        final long hostTables = f.dump.alloc(16 * 4096);
        final long s2ttb = f.dump.alloc(2 * 4096);

        Smmu() {
            f.dump.vmsaMap(12, 1, 40, s2ttb, 0x1000_0000L, cdPa, 3, s2(true, true));
            for (int i = 0; i < 4; i++) {
                f.dump.vmsaMap(12, 1, 40, s2ttb, 0x1000_1000L + 4096L * i, hostTables + 4096L * i, 3, s2(true, true));
            }
            f.dump.vmsaMap(12, 1, 40, s2ttb, 0x2000_0000L, 0x9000_0000L, 2, s2(true, true));
            long ipaL0 = 0x1000_1000L;
            for (int level = 0; level < 3; level++) {
                f.dump.write64(hostTables + 4096L * level, (ipaL0 + 4096L * (level + 1)) | 0b11);
            }
            f.dump.write64(hostTables + 3 * 4096L + 8 * 5, 0x2000_5000L | s1(true, false) | 0b11);
            f.dump.write(cdPa, cd0(16, 0, 5, 1), cd1(ipaL0));
            f.dump.write(cdPa + 64, cd0(16, 0, 5, 2), cd1(ipaL0));
            f.steLinear(SID, ste0(0b111, 0, 0x1000_0000L, 1), ste1(0b10), ste2(1, 24, 1, 0, 5), s2ttb);
            f.dump.expect(SmmuFixture.UNIT, SID, null, 0x5000, 0x1000, 0x9000_5000L, true, true);
            f.dump.expect(SmmuFixture.UNIT, SID, 1, 0x5000, 0x1000, 0x9000_5000L, true, true);
        }

        List<Mismatch> check() {
            return new DumpChecker().check(f.build(SID)).mismatches();
        }
    }

    @Test
    void smmuNested_consistentDump_passes() {
        assertThat(new Smmu().check()).isEmpty();
    }

    @Test
    void smmuNested_guestCdInvalidatedInGuestRam_isFunctionalErrorAtThatSubstream() {
        Smmu s = new Smmu();
        s.f.dump.write64(s.cdPa + 64, cd0(16, 0, 5, 2) & ~(1L << 31)); // CD 1: V=0
        assertThat(s.check()).singleElement().satisfies(m -> {
            assertThat(m.kind()).isEqualTo(Mismatch.Kind.FUNCTIONAL);
            assertThat(m.requester()).isEqualTo(new Requester(SID, 1));
        });
    }

    @Test
    void smmuNested_extraGuestCdInGuestRam_isIsolationErrorAtItsSubstream() {
        Smmu s = new Smmu();
        // The guest table is 2^1 CDs: S1CDMax raised to 2 by hand and CD 3 written makes substream 3 reachable.
        long ste = s.f.strtab + 64L * SID;
        s.f.dump.write64(ste, ste0(0b111, 0, 0x1000_0000L, 2));
        s.f.dump.write(s.cdPa + 3 * 64, cd0(16, 0, 5, 3), cd1(0x1000_1000L));
        assertThat(s.check()).singleElement().satisfies(m -> {
            assertThat(m.kind()).isEqualTo(Mismatch.Kind.ISOLATION);
            assertThat(m.requester()).isEqualTo(new Requester(SID, 3));
        });
    }
}
