/** The x86-64 IA-32e paging format (4 and 5 levels) as a page-table format and decode helpers for walkers. */
package dev.iommukit.spi.pgtable.x86;
