/** The VT-d second-level paging format (3, 4 and 5 levels) as a page-table format and decode helpers for walkers. */
package dev.iommukit.spi.pgtable.vtd;
