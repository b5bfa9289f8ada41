package dev.iommukit.backend.vtd;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.Test;

/** The driver half and the hardware half meet only at registers and memory: neither imports the other. */
class TwoHalvesArchitectureTest {
    private static final JavaClasses classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
            .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_JARS)
            .importPackagesOf(VtdBackend.class);

    @Test
    void driverDoesNotDependOnHardware() {
        noClasses().that().resideInAPackage("..vtd.driver..").should().dependOnClassesThat().resideInAPackage("..vtd.hw..")
                .check(classes);
    }

    @Test
    void hardwareDoesNotDependOnDriver() {
        noClasses().that().resideInAPackage("..vtd.hw..").should().dependOnClassesThat().resideInAPackage("..vtd.driver..")
                .check(classes);
    }

    @Test
    void archIsStatelessCodecsOnly() {
        noClasses().that().resideInAPackage("..vtd.arch..").should().dependOnClassesThat()
                .resideInAnyPackage("..vtd.hw..", "..vtd.driver..").check(classes);
    }
}
