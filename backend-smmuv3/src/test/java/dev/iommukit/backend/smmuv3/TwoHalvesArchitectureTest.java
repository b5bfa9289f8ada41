package dev.iommukit.backend.smmuv3;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The driver and hardware halves meet only at registers and memory: neither uses the other's types. */
class TwoHalvesArchitectureTest {
    private static final JavaClasses MAIN = new ClassFileImporter()
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .importPackagesOf(dev.iommukit.backend.smmuv3.SmmuV3Backend.class);

    @Test
    void driverDoesNotDependOnHardware() {
        noClasses().that().resideInAPackage("..smmuv3.driver..")
                .should().dependOnClassesThat().resideInAPackage("..smmuv3.hw..")
                .check(MAIN);
    }

    @Test
    void hardwareDoesNotDependOnDriver() {
        noClasses().that().resideInAPackage("..smmuv3.hw..")
                .should().dependOnClassesThat().resideInAPackage("..smmuv3.driver..")
                .check(MAIN);
    }

    @Test
    void archHoldsOnlyCodecsUsableByBothHalves() {
        noClasses().that().resideInAPackage("..smmuv3.arch..")
                .should().dependOnClassesThat().resideInAnyPackage("..smmuv3.hw..", "..smmuv3.driver..")
                .check(MAIN);
    }

    @Test
    void theRulesSeeTheClasses() {
        org.assertj.core.api.Assertions.assertThat(MAIN.stream().map(c -> c.getPackageName()))
                .contains("dev.iommukit.backend.smmuv3.hw", "dev.iommukit.backend.smmuv3.driver", "dev.iommukit.backend.smmuv3.arch");
    }
}
