package dev.iommukit.cli.scenario;

import java.util.List;

/** A parsed scenario: a machine to build and the steps to run on it, in order. */
public record Scenario(String name, String description, MachineSpec machine, List<Step> steps) {
    public Scenario {
        steps = List.copyOf(steps);
    }
}
