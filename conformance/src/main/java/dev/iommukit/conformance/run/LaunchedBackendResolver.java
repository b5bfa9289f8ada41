package dev.iommukit.conformance.run;

import dev.iommukit.spi.IommuBackend;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;

/** Resolves the {@link IommuBackend} constructor parameter of {@link LaunchedConformanceTest} from the launch's configuration. */
public final class LaunchedBackendResolver implements ParameterResolver {
    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == IommuBackend.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        String token = context.getConfigurationParameter(ConformanceRunner.BACKEND_PARAMETER)
                .orElseThrow(() -> new ParameterResolutionException("configuration parameter "
                        + ConformanceRunner.BACKEND_PARAMETER + " is not set: launch the kit through ConformanceRunner"));
        IommuBackend backend = LaunchedBackends.lookUp(token);
        if (backend == null) {
            throw new ParameterResolutionException("no backend registered under '" + token + "'");
        }
        return backend;
    }
}
