/**
 * The Intel VT-d 3.x backend (scalable mode): {@link dev.iommukit.backend.vtd.VtdBackend} wires a
 * hardware half ({@code hw}) and a driver half ({@code driver}) that meet only at registers,
 * physical memory and the fault-event interrupt; {@code arch} holds the bit layouts both use.
 */
package dev.iommukit.backend.vtd;
