/**
 * The iommukit conformance kit: the backend contract in executable form.
 *
 * <p>A backend's test extends {@link dev.iommukit.conformance.BackendConformanceTest} and names its
 * backend; the kit builds fresh machines through the public API, asks what the unit and its
 * devices advertise, and checks every rule through DMA issued by devices. Each test carries a
 * {@link dev.iommukit.conformance.Rule} (id and {@link dev.iommukit.conformance.Level}) and a
 * display name stating the rule; rule ids start with their {@link dev.iommukit.conformance.Group}'s
 * prefix. Tools run the kit with {@link dev.iommukit.conformance.run.ConformanceRunner}.
 */
package dev.iommukit.conformance;
