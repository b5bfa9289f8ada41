package dev.iommukit.conformance.run;

import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.conformance.reference.Flaw;
import dev.iommukit.conformance.reference.ReferenceBackend;
import dev.iommukit.spi.IommuBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The kit tests itself: through {@link ConformanceRunner} it passes the correct reference backends
 * and fails each deliberately broken one on exactly the rules its flaw breaks.
 */
class KitSelfTest {
    private static final ReferenceBackend CORRECT = new ReferenceBackend();
    private static final ReferenceBackend MINIMAL = ReferenceBackend.minimal();
    private static final ReferenceBackend STALE = ReferenceBackend.withFlaws(Flaw.STALE_TLB_ON_UNMAP);
    private static final ReferenceBackend OVER = ReferenceBackend.withFlaws(Flaw.OVER_ADVERTISES);
    private static final ReferenceBackend LEAKY = ReferenceBackend.withFlaws(Flaw.LEAKS_TABLE_PAGES);
    private static final ReferenceBackend WRITABLE = ReferenceBackend.withFlaws(Flaw.IGNORES_READ_ONLY);
    private static final ReferenceBackend LEAKY_PASID = ReferenceBackend.withFlaws(Flaw.PASID_FALLS_BACK_TO_UNTAGGED);
    private static final ReferenceBackend PARTIAL = ReferenceBackend.withFlaws(Flaw.PARTIAL_MAP_ON_EXHAUSTION);
    private static final ReferenceBackend PASID_IGNORED = ReferenceBackend.withFlaws(Flaw.PASID_IGNORED_WITH_RID_DOMAIN);
    private static final ReferenceBackend LIVE_AFTER_DETACH = ReferenceBackend.withFlaws(Flaw.DETACHED_PASID_STAYS_LIVE);
    private static final ReferenceBackend SVA_STALE = ReferenceBackend.withFlaws(Flaw.SVA_STALE_AFTER_MUNMAP);
    private static final ReferenceBackend SVA_LOUD = ReferenceBackend.withFlaws(Flaw.SVA_EXIT_FAULTS_REPORTED);
    private static final ReferenceBackend SVA_NO_PASID = ReferenceBackend.withFlaws(Flaw.SVA_WITHOUT_PASIDS);
    private static final ReferenceBackend ATS_LOUD = ReferenceBackend.withFlaws(Flaw.ATS_NO_ACCESS_REPORTED);
    private static final ReferenceBackend NEST_OVER = ReferenceBackend.withFlaws(Flaw.NESTING_OVER_ADVERTISED);

    @TempDir
    static Path reports;
    private static ConformanceReport report;
    private static final List<TestOutcome> streamed = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void runKitOnEveryVariant() {
        List<IommuBackend> all = List.of(CORRECT, MINIMAL, STALE, OVER, LEAKY, WRITABLE, LEAKY_PASID, PARTIAL, PASID_IGNORED,
                LIVE_AFTER_DETACH, SVA_STALE, SVA_LOUD, SVA_NO_PASID, ATS_LOUD,
                NEST_OVER);
        report = ConformanceRunner.forBackends(all).reportsTo(reports).listener(streamed::add).run();
    }

    private static Set<String> failed(IommuBackend b) {
        return report.failedRules(b.id());
    }

    private static TestOutcome outcome(IommuBackend b, String ruleId) {
        return report.outcomes(b.id()).stream().filter(o -> o.ruleId().equals(ruleId)).findFirst().orElseThrow();
    }

    @Test
    void theCorrectReferenceBackendPassesEveryRule() {
        assertThat(report.failures().stream().filter(o -> o.backendId().equals(CORRECT.id())).toList()).isEmpty();
        assertThat(report.total(CORRECT.id()).passed()).isGreaterThanOrEqualTo(70);
        for (String group : report.groups()) {
            assertThat(report.cell(CORRECT.id(), group).passed()).as("passes in %s", group).isPositive();
        }
    }

    @Test
    void everySkipSaysWhy() {
        List<TestOutcome> skips = report.outcomes().stream().filter(o -> o.status() == TestOutcome.Status.SKIPPED).toList();
        assertThat(skips).isNotEmpty();
        assertThat(skips).allSatisfy(o -> assertThat(o.message()).as("reason of skipped %s", o.ruleId()).isNotBlank());
        assertThat(outcome(CORRECT, "DISC-7").message()).contains("advertises IDENTITY_DOMAIN");
        assertThat(outcome(MINIMAL, "DOMAIN-1").message()).contains("does not advertise IDENTITY_DOMAIN");
    }

    @Test
    void aDiscoverableBackendIsCheckedAgainstServiceLoader() {
        assertThat(outcome(CORRECT, "DISC-2").status()).isEqualTo(TestOutcome.Status.PASSED);
        assertThat(outcome(STALE, "DISC-2").status()).isEqualTo(TestOutcome.Status.SKIPPED);
        assertThat(outcome(STALE, "DISC-2").message()).contains("differently configured instance");
    }

    @Test
    void theMinimalBackendPassesAndItsUnadvertisedCapabilitiesAreCheckedAsRefused() {
        assertThat(failed(MINIMAL)).isEmpty();
        for (String rule : List.of("DISC-7", "DISC-10", "DISC-11", "INPUT-15")) {
            assertThat(outcome(MINIMAL, rule).status()).as(rule).isEqualTo(TestOutcome.Status.PASSED);
        }
        for (String rule : List.of("DOMAIN-1", "ISOL-4", "INVAL-8")) {
            assertThat(outcome(MINIMAL, rule).status()).as(rule).isEqualTo(TestOutcome.Status.SKIPPED);
        }
    }

    @Test
    void aBackendThatForgetsTheInvalidationOnUnmapFailsTheInvalidationRules() {
        assertThat(failed(STALE)).containsExactlyInAnyOrder("INVAL-1", "INVAL-2", "INVAL-4", "INVAL-5", "INVAL-6", "INVAL-10",
                "INVAL-11", "CONC-1", "AUX-13", "CONT-4", "CONT-5");
        assertThat(outcome(STALE, "CONC-1").message()).contains("stale translations");
        assertThat(outcome(STALE, "INVAL-1").message()).contains("stale translation");
    }

    @Test
    void aBackendThatOverAdvertisesFailsTheRulesOfWhatItAdvertises() {
        assertThat(failed(OVER)).containsExactlyInAnyOrder("DOMAIN-1", "DOMAIN-2", "DOMAIN-5", "DOMAIN-6", "ISOL-4", "ISOL-5",
                "ISOL-6", "INVAL-8", "INVAL-9", "INVAL-11", "LIFE-1", "LIFE-3", "LIFE-4", "LIFE-7", "DISC-14",
                "AUX-3", "AUX-4", "AUX-5", "AUX-6", "AUX-7", "AUX-8", "AUX-9", "AUX-10", "AUX-11", "AUX-12", "AUX-13",
                "AUX-15", "CONT-3", "CONT-5", "CONT-6", "CONT-9", "CONT-10", "CONT-13",
                "SVA-2", "SVA-3", "SVA-4", "SVA-5", "SVA-7", "SVA-8",
                "IOPF-2", "IOPF-3", "IOPF-4", "IOPF-5", "IOPF-6", "IOPF-7", "IOPF-8", "IOPF-9", "IOPF-10", "IOPF-11");
        assertThat(outcome(OVER, "SVA-2").message()).as("an SVA bind is an attach at a PASID").contains("NotSupportedException");
        assertThat(outcome(OVER, "DOMAIN-1").message()).contains("NotSupportedException");
    }

    @Test
    void aBackendThatLeaksTablePagesFailsTheLifetimeRules() {
        assertThat(failed(LEAKY)).containsExactlyInAnyOrder("LIFE-2", "LIFE-3", "LIFE-4", "LIFE-7", "INPUT-10", "NEST-2",
                "INPUT-11", "PAGING-13", "CONT-12", "CONT-13", "SVA-5");
        assertThat(outcome(LEAKY, "CONT-12").message()).contains("after close");
        assertThat(outcome(LEAKY, "LIFE-4").message()).contains("table pages in use after machine.close()");
    }

    @Test
    void aBackendThatIgnoresReadOnlyFailsThePermissionRules() {
        assertThat(failed(WRITABLE)).containsExactlyInAnyOrder("PAGING-8", "FAULT-2", "FAULT-6", "FAULT-9", "INVAL-6", "CONT-8",
                "CONT-9");
    }

    @Test
    void aBackendThatLetsUnattachedPasidsThroughFailsTheIsolationRules() {
        assertThat(failed(LEAKY_PASID)).containsExactlyInAnyOrder("ISOL-3", "ISOL-4", "ISOL-7", "FAULT-4", "INVAL-8", "INPUT-16",
                "AUX-6");
    }

    @Test
    void anAuxDomainThatAnswersOnTheParentsRidDomainFailsTheAuxIsolationRules() {
        assertThat(failed(PASID_IGNORED)).containsExactlyInAnyOrder("AUX-5", "AUX-6", "ISOL-4", "INVAL-8", "SVA-5", "IOPF-11");
        assertThat(outcome(PASID_IGNORED, "AUX-6").message()).contains("should reach").contains("but reached");
        assertThat(outcome(PASID_IGNORED, "AUX-3").status()).as("without a RID domain the flaw does not show").isEqualTo(TestOutcome.Status.PASSED);
    }

    @Test
    void aPasidThatStaysLiveAfterDetachFailsTheDetachReuseAndCloseRules() {
        assertThat(failed(LIVE_AFTER_DETACH)).containsExactlyInAnyOrder("AUX-7", "AUX-11", "AUX-12", "AUX-15", "CONT-13", "INVAL-8",
                "SVA-3");
        assertThat(outcome(LIVE_AFTER_DETACH, "SVA-3").message()).as("an unbound SVA PASID stays live").contains("still reaches the old page");
        assertThat(outcome(LIVE_AFTER_DETACH, "AUX-7").message()).contains("still reaches the old page");
    }

    @Test
    void withoutAuxDomainsTheMdevRulesSkipSayingWhyAndTheRefusalsAreChecked() {
        for (String rule : List.of("AUX-2", "CONT-1", "CONT-2", "CONT-4", "CONT-6", "CONT-7", "CONT-8", "CONT-11", "CONT-12", "CONT-14")) {
            assertThat(outcome(MINIMAL, rule).status()).as(rule).isEqualTo(TestOutcome.Status.PASSED);
        }
        for (String rule : List.of("AUX-1", "AUX-3", "AUX-13", "CONT-3", "CONT-5", "CONT-9", "CONT-10", "CONT-13")) {
            assertThat(outcome(MINIMAL, rule).status()).as(rule).isEqualTo(TestOutcome.Status.SKIPPED);
            assertThat(outcome(MINIMAL, rule).message()).as(rule).contains("does not advertise AUX_DOMAIN");
        }
    }

    @Test
    void anSvaDomainThatIgnoresMunmapFailsTheMunmapRules() {
        assertThat(failed(SVA_STALE)).containsExactlyInAnyOrder("SVA-4", "SVA-7", "SVA-8");
        assertThat(outcome(SVA_STALE, "SVA-4").message()).contains("still reaches the old page");
        assertThat(outcome(SVA_STALE, "SVA-8").message()).contains("stale translations");
    }

    @Test
    void anSvaDomainThatReportsFaultsAfterExitFailsTheQuietExitRule() {
        assertThat(failed(SVA_LOUD)).containsExactly("SVA-5");
        assertThat(outcome(SVA_LOUD, "SVA-5").message()).contains("must be quiet");
    }

    @Test
    void aDeviceWithoutPasidsThatAdvertisesSvaFailsTheCapabilityRule() {
        assertThat(failed(SVA_NO_PASID)).containsExactly("SVA-1");
        assertThat(outcome(SVA_NO_PASID, "SVA-1").message()).contains("without PASID support advertises SVA");
    }

    @Test
    void withoutSvaTheBindRulesSkipSayingWhyAndTheRefusalIsChecked() {
        assertThat(outcome(MINIMAL, "SVA-1").status()).isEqualTo(TestOutcome.Status.PASSED);
        for (String rule : List.of("SVA-2", "SVA-3", "SVA-4", "SVA-5", "SVA-6", "SVA-7", "SVA-8")) {
            assertThat(outcome(MINIMAL, rule).status()).as(rule).isEqualTo(TestOutcome.Status.SKIPPED);
            assertThat(outcome(MINIMAL, rule).message()).as(rule).contains("does not advertise SVA");
        }
        for (String rule : List.of("SVA-1", "SVA-2", "SVA-3", "SVA-4", "SVA-5", "SVA-6", "SVA-7", "SVA-8")) {
            assertThat(outcome(CORRECT, rule).status()).as(rule).isEqualTo(TestOutcome.Status.PASSED);
        }
    }

    @Test
    void aUnitThatRecordsAtsNoAccessAsFaultsFailsTheQuietPageFaultRule() {
        assertThat(failed(ATS_LOUD)).containsExactly("IOPF-11");
        assertThat(outcome(ATS_LOUD, "IOPF-11").message()).contains("faults reported for pasid");
    }

    @Test
    void aBackendThatAdvertisesGuestPasidBindWithoutNestingFailsTheBindRules() {
        assertThat(failed(NEST_OVER)).containsExactlyInAnyOrder("NEST-3", "NEST-4", "NEST-5", "GPASID-2", "GPASID-3", "GPASID-4",
                "GPASID-5", "GPASID-6", "GPASID-7", "GPASID-8", "GPASID-9", "GPASID-10");
        assertThat(outcome(NEST_OVER, "GPASID-2").message()).contains("NotSupportedException");
        for (String rule : List.of("NEST-1", "NEST-2", "GPASID-1", "PTBIND-1")) {
            assertThat(outcome(NEST_OVER, rule).status()).as(rule).isEqualTo(TestOutcome.Status.PASSED);
        }
    }

    @Test
    void pageRequestsWorkWhereAdvertisedAndAreRefusedWhereNot() {
        for (int i = 1; i <= 11; i++) {
            assertThat(outcome(CORRECT, "IOPF-" + i).status()).as("IOPF-%d", i).isEqualTo(TestOutcome.Status.PASSED);
        }
        assertThat(outcome(MINIMAL, "IOPF-1").status()).isEqualTo(TestOutcome.Status.PASSED);
        for (int i = 2; i <= 11; i++) {
            assertThat(outcome(MINIMAL, "IOPF-" + i).status()).as("IOPF-%d", i).isEqualTo(TestOutcome.Status.SKIPPED);
            assertThat(outcome(MINIMAL, "IOPF-" + i).message()).as("IOPF-%d", i).contains("does not advertise PAGE_REQUEST");
        }
    }

    @Test
    void unadvertisedNestingIsRefusedOnANestingParentAndOnAPlainParent() {
        for (IommuBackend b : List.of(CORRECT, MINIMAL)) {
            assertThat(outcome(b, "NEST-1").status()).as("NEST-1 of %s", b.id()).isEqualTo(TestOutcome.Status.PASSED);
            assertThat(outcome(b, "NEST-2").status()).as("NEST-2 of %s", b.id()).isEqualTo(TestOutcome.Status.PASSED);
            assertThat(outcome(b, "NEST-3").status()).as("NEST-3 of %s", b.id()).isEqualTo(TestOutcome.Status.SKIPPED);
            assertThat(outcome(b, "NEST-3").message()).contains("does not advertise NESTING");
        }
        assertThat(outcome(CORRECT, "PAGING-11").status()).as("the reference's nesting parents translate").isEqualTo(TestOutcome.Status.PASSED);
        for (IommuBackend b : List.of(CORRECT, MINIMAL)) {
            for (String rule : List.of("NEST-4", "NEST-5")) {
                assertThat(outcome(b, rule).status()).as("%s of %s", rule, b.id()).isEqualTo(TestOutcome.Status.SKIPPED);
                assertThat(outcome(b, rule).message()).contains("does not advertise NESTING");
            }
        }
    }

    @Test
    void unadvertisedGuestBindsAreRefusedThroughTheCoreAndTheContainer() {
        for (IommuBackend b : List.of(CORRECT, MINIMAL)) {
            assertThat(outcome(b, "GPASID-1").status()).as("GPASID-1 of %s", b.id()).isEqualTo(TestOutcome.Status.PASSED);
            assertThat(outcome(b, "PTBIND-1").status()).as("PTBIND-1 of %s", b.id()).isEqualTo(TestOutcome.Status.PASSED);
            for (int i = 2; i <= 10; i++) {
                assertThat(outcome(b, "GPASID-" + i).status()).as("GPASID-%d of %s", i, b.id()).isEqualTo(TestOutcome.Status.SKIPPED);
                assertThat(outcome(b, "GPASID-" + i).message()).contains("does not advertise GUEST_PASID_BIND");
            }
            for (int i = 2; i <= 7; i++) {
                assertThat(outcome(b, "PTBIND-" + i).status()).as("PTBIND-%d of %s", i, b.id()).isEqualTo(TestOutcome.Status.SKIPPED);
                assertThat(outcome(b, "PTBIND-" + i).message()).contains("does not advertise PASID_TABLE_BIND");
            }
        }
    }

    @Test
    void aBackendWhoseMapIsNotAllOrNothingFailsTheExhaustionRule() {
        assertThat(failed(PARTIAL)).containsExactly("PAGING-13");
        assertThat(outcome(PARTIAL, "PAGING-13").message()).contains("must fault but reached");
        assertThat(outcome(CORRECT, "PAGING-13").status()).isEqualTo(TestOutcome.Status.PASSED);
    }

    @Test
    void outcomesCarryRuleLevelGroupAndAreStreamedAsTheyFinish() {
        assertThat(streamed).containsExactlyElementsOf(report.outcomes());
        assertThat(report.backends()).containsExactly(CORRECT.id(), MINIMAL.id(), STALE.id(), OVER.id(), LEAKY.id(), WRITABLE.id(),
                LEAKY_PASID.id(), PARTIAL.id(), PASID_IGNORED.id(), LIVE_AFTER_DETACH.id(), SVA_STALE.id(), SVA_LOUD.id(), SVA_NO_PASID.id(),
                ATS_LOUD.id(), NEST_OVER.id());
        TestOutcome o = outcome(CORRECT, "PAGING-3");
        assertThat(o.group()).isEqualTo("paging");
        assertThat(o.level()).isEqualTo("REQUIRED");
        assertThat(o.displayName()).contains("block mapping");
        assertThat(outcome(CORRECT, "FAULT-9").level()).isEqualTo("OPTIONAL");
        assertThat(report.groups()).containsSubsequence("concurrency", "aux", "container", "sva", "page-requests", "nesting",
                "guest-pasid", "pasid-table");
        assertThat(outcome(CORRECT, "GPASID-1").group()).isEqualTo("guest-pasid");
        assertThat(outcome(CORRECT, "PTBIND-1").group()).isEqualTo("pasid-table");
        assertThat(outcome(CORRECT, "IOPF-4").group()).isEqualTo("page-requests");
        assertThat(outcome(CORRECT, "NEST-1").group()).isEqualTo("nesting");
        assertThat(outcome(CORRECT, "SVA-4").group()).isEqualTo("sva");
        assertThat(outcome(CORRECT, "AUX-3").group()).isEqualTo("aux");
        assertThat(outcome(CORRECT, "CONT-10").group()).isEqualTo("container");
        assertThat(report.passed() + report.failed() + report.skipped()).isEqualTo(report.outcomes().size());
        long sum = 0;
        for (String b : report.backends()) {
            for (String g : report.groups()) {
                sum += report.cell(b, g).total();
            }
        }
        assertThat(sum).isEqualTo(report.outcomes().size());
        assertThat(report.totalsLine()).matches("\\d+ passed, \\d+ failed, \\d+ skipped");
    }

    @Test
    void junitXmlIsWrittenPerBackend() throws Exception {
        List<String> failuresInXml = new ArrayList<>();
        for (IommuBackend b : List.of(CORRECT, STALE)) {
            Path xml = reports.resolve(b.id()).resolve("TEST-junit-jupiter.xml");
            assertThat(xml).exists();
            String text = Files.readString(xml);
            assertThat(text).contains("<testsuite").contains("<testcase").contains("- rule: INVAL-4").contains("- backend: " + b.id());
            if (text.contains("<failure")) {
                failuresInXml.add(b.id());
            }
        }
        assertThat(failuresInXml).containsExactly(STALE.id());
    }
}
