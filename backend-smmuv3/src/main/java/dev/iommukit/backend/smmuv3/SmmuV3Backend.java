package dev.iommukit.backend.smmuv3;

import com.google.auto.service.AutoService;
import dev.iommukit.backend.smmuv3.driver.DriverOptions;
import dev.iommukit.backend.smmuv3.driver.SmmuCapabilities;
import dev.iommukit.backend.smmuv3.driver.SmmuV3Driver;
import dev.iommukit.backend.smmuv3.hw.SmmuV3Hardware;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.CapabilitySet;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.pgtable.vmsa.VmsaGranule;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The Arm SMMUv3 backend ({@code smmuv3}): builds the hardware half in reset state and the driver
 * half that initialises it, wired only through the register file, physical memory and the event
 * and PRI queue interrupt lines. Options: {@code streamTable} (linear|2level), {@code granule} (4K|16K|64K),
 * {@code sidBits} (1..16), {@code pri} (true|false: whether the SMMU implements the PCIe page request
 * interface, IDR0.PRI; default true).
 */
@AutoService(IommuBackend.class)
public final class SmmuV3Backend implements IommuBackend {
    private static final String PRI_OPTION = "pri";

    private static boolean parsePri(String value) {
        if (value == null || value.equals("true")) {
            return true;
        }
        if (value.equals("false")) {
            return false;
        }
        throw IommuException.invalid(PRI_OPTION, "must be true or false, was '" + value + "'");
    }

    @Override
    public String id() {
        return "smmuv3";
    }

    @Override
    public String description() {
        return "Arm SMMUv3 (Non-secure, stage 1 + stage 2, VMSAv8-64 4K/16K/64K, 2-level stream and CD tables)";
    }

    @Override
    public CapabilitySet capabilities() {
        return SmmuCapabilities.of(VmsaGranule.G4K);
    }

    @Override
    public IommuUnit createUnit(UnitContext context) {
        Map<String, String> rest = new HashMap<>(context.options());
        boolean pri = parsePri(rest.remove(PRI_OPTION));
        DriverOptions options = DriverOptions.parse(rest);
        AtomicReference<SmmuV3Driver> driver = new AtomicReference<>();
        SmmuV3Hardware hardware = new SmmuV3Hardware(context.memory(), options.sidBits(), () -> {
            SmmuV3Driver d = driver.get();
            if (d != null) {
                d.onEventInterrupt();
            }
        }, () -> {
            SmmuV3Driver d = driver.get();
            if (d != null) {
                d.onPriqInterrupt();
            }
        }, pri);
        driver.set(new SmmuV3Driver(context.name(), hardware.registers(), context.tableAllocator(), context.faults(),
                context.pageRequests(), hardware.dmaPort(), options));
        return driver.get();
    }
}
