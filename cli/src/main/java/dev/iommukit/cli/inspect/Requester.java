package dev.iommukit.cli.inspect;

/** A requester as the walkers see it: a 16-bit requester id and a PASID, or {@link #NO_PASID}. */
public record Requester(int rid, int pasid) implements Comparable<Requester> {
    /** Requests without a PASID (the same sentinel as {@code spi.device.Pasid.NONE}). */
    public static final int NO_PASID = -1;

    public boolean hasPasid() {
        return pasid != NO_PASID;
    }

    @Override
    public int compareTo(Requester o) {
        int c = Integer.compare(rid, o.rid);
        return c != 0 ? c : Integer.compare(pasid, o.pasid);
    }

    /** {@code rid 0x18 (00:03.0) pasid 5} or {@code ... no pasid}. */
    @Override
    public String toString() {
        return String.format("rid 0x%x (%02x:%02x.%x) %s", rid, rid >>> 8, (rid >>> 3) & 0x1F, rid & 7,
                hasPasid() ? "pasid " + pasid : "no pasid");
    }
}
