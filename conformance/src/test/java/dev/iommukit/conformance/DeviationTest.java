package dev.iommukit.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectNestedMethod;

import dev.iommukit.conformance.reference.ReferenceBackend;
import dev.iommukit.spi.IommuBackend;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;

/** A backend may waive an optional rule, with its reason, but never a required one. */
class DeviationTest {
    /** A backend test that waives one optional and one required rule (not run by surefire: it is nested). */
    static class WaivingKit extends BackendConformanceTest {
        @Override
        protected IommuBackend backend() {
            return new ReferenceBackend();
        }

        @Override
        protected Map<String, String> deviations() {
            return Map.of("LIFE-7", "keeps PASID tables until the device is released",
                    "LIFE-2", "keeps domain tables forever");
        }
    }

    @Test
    void anOptionalRuleIsSkippedWithTheReasonAndARequiredOneFails() {
        Map<String, TestExecutionResult> results = new ConcurrentHashMap<>();
        LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request()
                .selectors(selectNestedMethod(List.of(WaivingKit.class), BackendConformanceTest.Lifetimes.class, "everythingUndoneReturnsToStart"),
                        selectNestedMethod(List.of(WaivingKit.class), BackendConformanceTest.Lifetimes.class, "domainReturnsItsPages"),
                        selectNestedMethod(List.of(WaivingKit.class), BackendConformanceTest.Lifetimes.class, "closeAttachedRefused"))
                .build(), new TestExecutionListener() {
                    @Override
                    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
                        if (id.isTest()) {
                            results.put(id.getDisplayName(), result);
                        }
                    }
                });
        assertThat(results).hasSize(3);
        TestExecutionResult waived = byName(results, "table pages return to their count");
        assertThat(waived.getStatus()).isEqualTo(TestExecutionResult.Status.ABORTED);
        assertThat(waived.getThrowable().orElseThrow().getMessage()).contains("LIFE-7").contains("keeps PASID tables");
        TestExecutionResult required = byName(results, "returns every table page when closed");
        assertThat(required.getStatus()).isEqualTo(TestExecutionResult.Status.FAILED);
        assertThat(required.getThrowable().orElseThrow().getMessage()).contains("REQUIRED and cannot be waived");
        assertThat(byName(results, "closing a domain still attached").getStatus()).isEqualTo(TestExecutionResult.Status.SUCCESSFUL);
    }

    private static TestExecutionResult byName(Map<String, TestExecutionResult> results, String part) {
        return results.entrySet().stream().filter(e -> e.getKey().contains(part)).map(Map.Entry::getValue).findFirst().orElseThrow();
    }
}
