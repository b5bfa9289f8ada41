package dev.iommukit.it.mdev;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The mdev core is vendor-neutral: it builds on the API and knows no backend. */
class MdevArchitectureTest {
    @Test
    void theMdevCoreKnowsNoBackend() {
        JavaClasses classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("dev.iommukit.mdev");
        noClasses().that().resideInAPackage("dev.iommukit.mdev..")
                .should().dependOnClassesThat().resideInAnyPackage("dev.iommukit.backend..", "dev.iommukit.conformance..",
                        "dev.iommukit.cli..")
                .check(classes);
    }
}
