package dev.iommukit.cli.dump;

import dev.iommukit.api.Device;
import dev.iommukit.api.NestedDomain;
import java.util.List;
import java.util.Map;

/**
 * What a guest's own stage 1 maps, from the guest's bookkeeping (the mappings its page tables were given, the
 * context descriptors it wrote), for the {@code expect} of a dump: the core knows a nested domain's stage 2 but not
 * what the guest put in its memory, and a dump must not learn it by walking the same tables a checker walks.
 */
@FunctionalInterface
public interface GuestStage1 {
    /** No guest bookkeeping: nested attachments contribute nothing to {@code expect}. */
    GuestStage1 NONE = (device, pasid, domain) -> Map.of();

    /**
     * The requesters that the nested {@code domain}, attached to {@code device} at {@code pasid}
     * ({@link dev.iommukit.spi.device.Pasid#NONE}: without PASID), serves, each (a PASID, or {@code Pasid.NONE} for
     * requests without PASID) with its stage-1 view.
     */
    Map<Integer, Stage1> requesters(Device device, int pasid, NestedDomain domain);

    /** A requester's stage 1: {@code bypass} (stage 2 only) or the guest's ranges, input address to guest-physical. */
    record Stage1(boolean bypass, List<Range> ranges) {
        public Stage1 {
            ranges = List.copyOf(ranges);
        }

        public static Stage1 bypassed() {
            return new Stage1(true, List.of());
        }

        public static Stage1 of(List<Range> ranges) {
            return new Stage1(false, ranges);
        }
    }

    /** {@code size} bytes from {@code va} map to guest-physical {@code gpa} with {@code permissions} (READ/WRITE bits). */
    record Range(long va, long gpa, long size, int permissions) {}
}
