package dev.iommukit.conformance.run;

/** Receives each conformance test's outcome as soon as it finished, on the thread that ran it. */
@FunctionalInterface
public interface ConformanceListener {
    void testFinished(TestOutcome outcome);
}
