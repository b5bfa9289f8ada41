package dev.iommukit.spi.iopf;

/**
 * The response code of a PCIe page request group response. {@link #SUCCESS}: every page of the
 * group is now resident, retry. {@link #INVALID_REQUEST}: a page could not be made resident; the
 * device treats the access as failed. {@link #RESPONSE_FAILURE}: a permanent error; the device
 * stops issuing page requests.
 */
public enum PageResponseCode {
    SUCCESS,
    INVALID_REQUEST,
    RESPONSE_FAILURE
}
