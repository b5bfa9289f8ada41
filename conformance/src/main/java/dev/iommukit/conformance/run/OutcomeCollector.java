package dev.iommukit.conformance.run;

import dev.iommukit.conformance.Group;
import dev.iommukit.conformance.Rule;
import java.lang.reflect.Method;
import java.util.Optional;
import java.util.function.Consumer;
import org.junit.jupiter.api.Tag;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/** Turns the JUnit Platform's events for one backend's run into {@link TestOutcome}s. */
final class OutcomeCollector implements TestExecutionListener {
    /** The rule id given to a failure outside any rule, such as a test class that could not start. */
    static final String SETUP_RULE = "KIT-SETUP";

    private final String backendId;
    private final Consumer<TestOutcome> sink;
    private TestPlan plan;

    OutcomeCollector(String backendId, Consumer<TestOutcome> sink) {
        this.backendId = backendId;
        this.sink = sink;
    }

    @Override
    public void testPlanExecutionStarted(TestPlan testPlan) {
        this.plan = testPlan;
    }

    @Override
    public void executionSkipped(TestIdentifier id, String reason) {
        if (id.isTest()) {
            sink.accept(outcome(id, TestOutcome.Status.SKIPPED, reason));
        } else if (plan != null) {
            for (TestIdentifier t : plan.getDescendants(id)) {
                if (t.isTest()) {
                    sink.accept(outcome(t, TestOutcome.Status.SKIPPED, reason));
                }
            }
        }
    }

    @Override
    public void executionFinished(TestIdentifier id, TestExecutionResult result) {
        String message = result.getThrowable().map(OutcomeCollector::describe).orElse(null);
        if (id.isTest()) {
            TestOutcome.Status status = switch (result.getStatus()) {
                case SUCCESSFUL -> TestOutcome.Status.PASSED;
                case ABORTED -> TestOutcome.Status.SKIPPED;
                case FAILED -> TestOutcome.Status.FAILED;
            };
            sink.accept(outcome(id, status, message));
        } else if (result.getStatus() == TestExecutionResult.Status.FAILED) {
            sink.accept(new TestOutcome(backendId, containerGroup(id), SETUP_RULE, "REQUIRED", id.getDisplayName(),
                    TestOutcome.Status.FAILED, message));
        }
    }

    private TestOutcome outcome(TestIdentifier id, TestOutcome.Status status, String message) {
        Optional<Rule> rule = method(id).map(m -> m.getAnnotation(Rule.class));
        String ruleId = rule.map(Rule::id).orElse(SETUP_RULE);
        String level = rule.map(r -> r.level().name()).orElse("REQUIRED");
        return new TestOutcome(backendId, Group.labelOf(ruleId), ruleId, level, id.getDisplayName(), status, message);
    }

    private static Optional<Method> method(TestIdentifier id) {
        return id.getSource().filter(MethodSource.class::isInstance).map(MethodSource.class::cast).flatMap(s -> {
            try {
                return Optional.of(s.getJavaMethod());
            } catch (RuntimeException e) {
                return Optional.empty();
            }
        });
    }

    private static String containerGroup(TestIdentifier id) {
        return id.getSource().filter(ClassSource.class::isInstance).map(ClassSource.class::cast).flatMap(s -> {
            try {
                return Optional.ofNullable(s.getJavaClass().getAnnotation(Tag.class)).map(Tag::value);
            } catch (RuntimeException e) {
                return Optional.empty();
            }
        }).orElse(Group.SETUP);
    }

    /** An assertion's message, or the exception itself when the backend threw something unexpected. */
    private static String describe(Throwable t) {
        if (t instanceof AssertionError && t.getMessage() != null) {
            return t.getMessage().strip();
        }
        if (t instanceof org.opentest4j.TestAbortedException && t.getMessage() != null) {
            return t.getMessage().replaceFirst("^Assumption failed: ", "").strip();
        }
        return t.toString();
    }
}
