/**
 * Conformance rules for I/O page faults: page requests from devices with ATS and PRI enabled,
 * resolved by a handler (for SVA, by faulting the page in on the process's side) and answered with
 * page responses; pending requests, late and repeated answers, unregistering, unbinding and
 * disabling while requests are pending.
 */
package dev.iommukit.conformance.iopf;
