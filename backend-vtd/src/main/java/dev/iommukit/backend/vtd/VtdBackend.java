package dev.iommukit.backend.vtd;

import com.google.auto.service.AutoService;
import dev.iommukit.backend.vtd.driver.NestingCapabilities;
import dev.iommukit.backend.vtd.driver.UnitOptions;
import dev.iommukit.backend.vtd.driver.VtdDriver;
import dev.iommukit.backend.vtd.hw.HardwareModel;
import dev.iommukit.backend.vtd.hw.VtdHardware;
import dev.iommukit.spi.IommuBackend;
import dev.iommukit.spi.IommuUnit;
import dev.iommukit.spi.UnitContext;
import dev.iommukit.spi.cap.CapabilitySet;

/**
 * The Intel VT-d 3.x backend in scalable mode: a hardware half in reset state and a driver half
 * that initialises it, wired only through the register file, physical memory and the fault
 * event and page request event interrupts. Unit options: {@code pagingLevel} = second|first, {@code addressWidth} =
 * 39|48|57.
 */
@AutoService(IommuBackend.class)
public final class VtdBackend implements IommuBackend {
    @Override
    public String id() {
        return "vtd";
    }

    @Override
    public String description() {
        return "Intel VT-d 3.x remapping unit in scalable mode (root/context/PASID tables, first and second level, invalidation queue)";
    }

    @Override
    public CapabilitySet capabilities() {
        HardwareModel model = HardwareModel.defaults();
        return NestingCapabilities.add(VtdDriver.capabilities(UnitOptions.DEFAULTS, Math.min(model.hostAddressWidth(),
                model.cap().mgaw() + 1), model.ecap().pasidBits()), model.cap(), model.ecap(), model.ecap().pasidBits());
    }

    @Override
    public IommuUnit createUnit(UnitContext context) {
        UnitOptions options = UnitOptions.parse(context.options());
        HardwareModel model = HardwareModel.defaults();
        VtdHardware hardware = new VtdHardware(context.memory(), model);
        VtdDriver driver = new VtdDriver(context, hardware, hardware.dmaPort(), options, model.hostAddressWidth());
        hardware.connectFaultEvent(driver::onFaultInterrupt);
        hardware.connectPageRequestEvent(driver::onPageRequestInterrupt);
        driver.initialize();
        return driver;
    }
}
