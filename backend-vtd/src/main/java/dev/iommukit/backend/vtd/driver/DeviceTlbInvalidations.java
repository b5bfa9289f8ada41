package dev.iommukit.backend.vtd.driver;

import static dev.iommukit.backend.vtd.arch.InvalidationDescriptor.*;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Which devices have ATS enabled (SM context DTE=1) and which DID serves each of their PASIDs,
 * so that every IOTLB invalidation the driver queues is followed by the device-TLB invalidation
 * the architecture asks for (digest §11 Table 28, "IOTLB before the matching device-TLB
 * invalidation"), as Linux does for devices with ATS enabled: dev_tlb_inv for the RID_PASID
 * translation (PASID 0), p_dev_tlb_inv for the others. PFSID is the device's own SID (a physical
 * function) and MIP 0. Safe to use from any thread.
 */
final class DeviceTlbInvalidations {
    private final Map<Integer, Map<Integer, Integer>> atsDevices = new ConcurrentHashMap<>();
    private final Map<Long, Integer> lastDid = new ConcurrentHashMap<>();

    private static long key(int sid, int pasid) {
        return (long) sid << 32 | pasid;
    }

    /** ATS is now enabled for {@code sid}, whose PASIDs are served by the DIDs in {@code attached}. */
    void enable(int sid, Map<Integer, Integer> attached) {
        atsDevices.put(sid, new ConcurrentHashMap<>(attached));
    }

    void disable(int sid) {
        atsDevices.remove(sid);
    }

    boolean enabled(int sid) {
        return atsDevices.containsKey(sid);
    }

    /** {@code did} now serves {@code sid} at hardware PASID {@code pasid}. */
    void attached(int sid, int pasid, int did) {
        lastDid.put(key(sid, pasid), did);
        Map<Integer, Integer> m = atsDevices.get(sid);
        if (m != null) {
            m.put(pasid, did);
        }
    }

    void detached(int sid, int pasid) {
        Map<Integer, Integer> m = atsDevices.get(sid);
        if (m != null) {
            m.remove(pasid);
        }
    }

    /** The device is gone: forget it. */
    void released(int sid) {
        atsDevices.remove(sid);
        lastDid.keySet().removeIf(k -> (int) (k >>> 32) == sid);
    }

    /** The DID serving (or that last served) {@code sid} at {@code pasid}, or -1. */
    int servingDid(int sid, int pasid) {
        Integer d = lastDid.get(key(sid, pasid));
        return d == null ? -1 : d;
    }

    /** {@code descriptors} with the device-TLB invalidations each IOTLB invalidation needs inserted after it. */
    List<long[]> expand(List<long[]> descriptors) {
        if (atsDevices.isEmpty()) {
            return descriptors;
        }
        List<long[]> out = new ArrayList<>(descriptors.size() * 2);
        for (long[] d : descriptors) {
            out.add(d);
            int type = type(d[0]);
            if (type == IOTLB_INV) {
                afterIotlb(d, out);
            } else if (type == P_IOTLB_INV) {
                afterPasidIotlb(d, out);
            }
        }
        return out;
    }

    private void afterIotlb(long[] d, List<long[]> out) {
        int g = granularity(d[0]);
        int did = did(d[0]);
        for (Map.Entry<Integer, Map<Integer, Integer>> dev : atsDevices.entrySet()) {
            int sid = dev.getKey();
            if (g == IOTLB_GLOBAL) {
                out.add(deviceTlb(sid, sid, 0, DEVICE_TLB_WHOLE_RANGE, true));
                out.add(pasidDeviceTlb(sid, sid, 0, 0, true, DEVICE_TLB_WHOLE_RANGE, true));
                continue;
            }
            for (Map.Entry<Integer, Integer> a : dev.getValue().entrySet()) {
                if (a.getValue() == did) {
                    out.add(forPasid(sid, a.getKey(), g == IOTLB_PAGE, d[1]));
                }
            }
        }
    }

    private void afterPasidIotlb(long[] d, List<long[]> out) {
        int did = did(d[0]);
        int pasid = pasid(d[0]);
        for (Map.Entry<Integer, Map<Integer, Integer>> dev : atsDevices.entrySet()) {
            Integer served = dev.getValue().get(pasid);
            if (served != null && served == did) {
                out.add(forPasid(dev.getKey(), pasid, granularity(d[0]) == P_IOTLB_PAGE, d[1]));
            }
        }
    }

    /** The device-TLB invalidation of {@code sid} at {@code pasid}: the IOTLB descriptor's range, or everything. */
    private static long[] forPasid(int sid, int pasid, boolean range, long qw1) {
        int am = range ? addressMask(qw1) : 0;
        long addr = range ? deviceTlbAddress(address(qw1), am) : DEVICE_TLB_WHOLE_RANGE;
        boolean size = !range || am > 0;
        return pasid == 0 ? deviceTlb(sid, sid, 0, addr, size) : pasidDeviceTlb(sid, sid, pasid, 0, false, addr, size);
    }
}
