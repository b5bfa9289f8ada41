package dev.iommukit.it;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The module rules of DESIGN.md and the two-halves rule, held over the production classes of every module. */
class ArchitectureTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.iommukit");
    }

    @Test
    void spiDependsOnNothingOfOurs() {
        noClasses().that().resideInAPackage("dev.iommukit.spi..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.iommukit.api..", "dev.iommukit.backend..",
                        "dev.iommukit.conformance..", "dev.iommukit.cli..")
                .check(classes);
    }

    @Test
    void backendsDependOnTheSpiOnly() {
        noClasses().that().resideInAPackage("dev.iommukit.backend..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.iommukit.api..", "dev.iommukit.conformance..",
                        "dev.iommukit.cli..")
                .check(classes);
        noClasses().that().resideInAPackage("dev.iommukit.backend.smmuv3..")
                .should().dependOnClassesThat().resideInAPackage("dev.iommukit.backend.vtd..").check(classes);
        noClasses().that().resideInAPackage("dev.iommukit.backend.vtd..")
                .should().dependOnClassesThat().resideInAPackage("dev.iommukit.backend.smmuv3..").check(classes);
    }

    @Test
    void theApiKnowsNoBackend() {
        noClasses().that().resideInAPackage("dev.iommukit.api..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.iommukit.backend..", "dev.iommukit.conformance..",
                        "dev.iommukit.cli..")
                .check(classes);
    }

    @Test
    void theKitTestsThroughTheApiNeverThroughABackend() {
        noClasses().that().resideInAPackage("dev.iommukit.conformance..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.iommukit.backend..", "dev.iommukit.cli..")
                .check(classes);
    }

    @Test
    void driverHalvesAndHardwareHalvesMeetOnlyAtRegistersAndMemory() {
        for (String b : new String[] {"smmuv3", "vtd"}) {
            String root = "dev.iommukit.backend." + b;
            noClasses().that().resideInAPackage(root + ".driver..")
                    .should().dependOnClassesThat().resideInAPackage(root + ".hw..").check(classes);
            noClasses().that().resideInAPackage(root + ".hw..")
                    .should().dependOnClassesThat().resideInAPackage(root + ".driver..").check(classes);
        }
    }

    @Test
    void theGuestModelBuildsOnTheApiAndTheMdevCoreOnly() {
        noClasses().that().resideInAPackage("dev.iommukit.guest..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.iommukit.backend..", "dev.iommukit.conformance..",
                        "dev.iommukit.cli..")
                .check(classes);
        noClasses().that().resideInAnyPackage("dev.iommukit.spi..", "dev.iommukit.api..", "dev.iommukit.mdev..")
                .should().dependOnClassesThat().resideInAPackage("dev.iommukit.guest..")
                .check(classes);
    }
}
