package dev.iommukit.cli.inspect;

import static dev.iommukit.cli.inspect.SmmuFixture.cd0;
import static dev.iommukit.cli.inspect.SmmuFixture.cd1;
import static dev.iommukit.cli.inspect.SmmuFixture.s1;
import static dev.iommukit.cli.inspect.SmmuFixture.ste0;
import static dev.iommukit.cli.inspect.SmmuFixture.ste1;
import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;

class DumpCheckerTest {
    static final int SID = 0x18;
    static final String U = SmmuFixture.UNIT;

    /** SID 0x18: stage 1 with 0x100000-0x3fffff -> 0x80100000 rw (256 4K pages, then one 2M block); SID 0x20 unused. */
    static SmmuFixture machine() {
        SmmuFixture f = SmmuFixture.linear(8);
        long ttb = f.dump.alloc(4096);
        for (long off = 0; off < 0x10_0000; off += 0x1000) {
            f.dump.vmsaMap(12, 0, 48, ttb, 0x10_0000 + off, 0x8010_0000L + off, 3, s1(true, false));
        }
        f.dump.vmsaMap(12, 0, 48, ttb, 0x20_0000, 0x8020_0000L, 2, s1(true, false));
        long cd = f.dump.alloc(64);
        f.dump.write(cd, cd0(16, 0, 5, 1), cd1(ttb));
        f.steLinear(SID, ste0(0b101, 0, cd, 0), ste1(0));
        return f;
    }

    private static List<Mismatch> mismatches(SmmuFixture f) {
        return new DumpChecker().check(f.build(SID, 0x20)).mismatches();
    }

    @Test
    void matchingExpect_isOk_evenWhenSplitDifferently() {
        SmmuFixture f = machine();
        f.dump.expect(U, SID, null, 0x10_0000, 0x18_0000, 0x8010_0000L, true, true);
        f.dump.expect(U, SID, null, 0x28_0000, 0x18_0000, 0x8028_0000L, true, true);
        DumpChecker.Report report = new DumpChecker().check(f.build(SID, 0x20));
        assertThat(report.mismatches()).isEmpty();
        assertThat(report.ok()).isTrue();
        DumpChecker.RequesterReport r = report.units().get(0).requesters().get(0);
        assertThat(r.walked().ranges()).extracting(Mapping::toString)
                .containsExactly("0x100000-0x3fffff -> 0x80100000 rw 2M blocks + 4K pages");
    }

    @Test
    void expectMissingARange_isIsolationError() {
        SmmuFixture f = machine();
        f.dump.expect(U, SID, null, 0x10_0000, 0x10_0000, 0x8010_0000L, true, true);
        assertThat(mismatches(f)).singleElement().satisfies(m -> {
            assertThat(m.kind()).isEqualTo(Mismatch.Kind.ISOLATION);
            assertThat(m.iova()).isEqualTo(0x20_0000);
            assertThat(m.size()).isEqualTo(0x20_0000);
            assertThat(m.detail()).isEqualTo("reachable -> 0x80200000 rw, not expected");
        });
    }

    @Test
    void expectListingAnExtraRange_isFunctionalError() {
        SmmuFixture f = machine();
        f.dump.expect(U, SID, null, 0x10_0000, 0x30_0000, 0x8010_0000L, true, true);
        f.dump.expect(U, SID, null, 0x4000_0000L, 0x1000, 0x1234_5000L, true, false);
        assertThat(mismatches(f)).singleElement().satisfies(m -> {
            assertThat(m.kind()).isEqualTo(Mismatch.Kind.FUNCTIONAL);
            assertThat(m.iova()).isEqualTo(0x4000_0000L);
            assertThat(m.detail()).isEqualTo("expected -> 0x12345000 r-, not reachable");
        });
    }

    @Test
    void morePermissionThanExpected_isIsolation_lessIsFunctional() {
        SmmuFixture f = machine();
        f.dump.expect(U, SID, null, 0x10_0000, 0x10_0000, 0x8010_0000L, true, false);
        f.dump.expect(U, SID, null, 0x20_0000, 0x20_0000, 0x8020_0000L, true, true);
        assertThat(mismatches(f)).extracting(Mismatch::kind, Mismatch::iova)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(Mismatch.Kind.ISOLATION, 0x10_0000L));
    }

    @Test
    void differentPa_isBothIsolationAndFunctional() {
        SmmuFixture f = machine();
        f.dump.expect(U, SID, null, 0x10_0000, 0x30_0000, 0x9000_0000L, true, true);
        assertThat(mismatches(f)).extracting(Mismatch::kind)
                .containsExactlyInAnyOrder(Mismatch.Kind.ISOLATION, Mismatch.Kind.FUNCTIONAL);
    }

    @Test
    void identityDisagreements_bothWays() {
        SmmuFixture f = machine();
        f.steLinear(0x20, ste0(0b100, 0, 0, 0), 0);
        f.dump.expect(U, SID, null, 0x10_0000, 0x30_0000, 0x8010_0000L, true, true);
        f.dump.expectIdentity(U, 0x30, null);
        List<Mismatch> all = new DumpChecker().check(f.build(SID, 0x20, 0x30)).mismatches();
        assertThat(all).extracting(m -> m.kind() + " " + Ranges.hex(m.requester().rid())).containsExactly(
                "ISOLATION 0x20", "FUNCTIONAL 0x30");
    }

    @Test
    void pasidFoundInTables_butNotExpected_isIsolationError() {
        SmmuFixture f = SmmuFixture.linear(8);
        long cds = f.dump.alloc(64 * 1024);
        long ttb = f.dump.alloc(4096);
        f.dump.vmsaMap(12, 0, 48, ttb, 0x1000, 0x1000, 3, s1(true, false));
        f.dump.write(cds + 64 * 700, cd0(16, 0, 5, 7), cd1(ttb));
        f.steLinear(SID, ste0(0b101, 0, cds, 10), ste1(0));
        DumpChecker.Report report = new DumpChecker().check(f.build(SID));
        assertThat(report.mismatches()).singleElement().satisfies(m -> {
            assertThat(m.kind()).isEqualTo(Mismatch.Kind.ISOLATION);
            assertThat(m.requester()).isEqualTo(new Requester(SID, 700));
        });
        // walked: no PASID, the samples 0, 1, 2, 2^20-1, and 700 from the CD table
        assertThat(report.units().get(0).requesters()).extracting(r -> r.requester().pasid())
                .containsExactly(Requester.NO_PASID, 0, 1, 2, 700, (1 << 20) - 1);
    }

    @Test
    void vtdSecondLevel_checkedAgainstExpect() {
        VtdFixture f = new VtdFixture();
        long sl = f.dump.alloc(4096);
        f.dump.intelMap(4, sl, 0x20_0000, 0x8000_0000L, 2, VtdFixture.SL_RW, VtdFixture.SL_RW);
        long dir = f.context(0x20, true, 0, 0);
        f.pasidEntry(dir, 0, VtdFixture.pe0(2, 0b010, sl), VtdFixture.pe1(1, true), 0);
        f.dump.expect(VtdFixture.UNIT, 0x20, null, 0x20_0000, 0x20_0000, 0x8000_0000L, true, true);
        assertThat(new DumpChecker().check(f.build(0x20)).ok()).isTrue();
    }

    @Test
    void unknownBackend_isSkipped_andExpectForUnknownUnit_isAProblem() {
        TestDump d = new TestDump();
        d.unit("amd0", "amdvi", java.util.Map.of(), 0x10);
        d.expectIdentity("nope", 0x10, null);
        DumpChecker.Report report = new DumpChecker().check(d.dump());
        assertThat(report.units().get(0).walked()).isFalse();
        assertThat(report.problems()).singleElement().asString().contains("'nope'");
        assertThat(report.ok()).isFalse();
        TestDump only = new TestDump();
        only.unit("amd0", "amdvi", java.util.Map.of(), 0x10);
        assertThat(new DumpChecker().check(only.dump()).ok()).as("an unknown backend is skipped, not failed").isTrue();
    }
}
