package dev.iommukit.cli.inspect;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.Map;
import java.util.TreeMap;

/**
 * Builds small dumps by hand: a byte model of physical memory written 64 bits at a time (little-endian), a bump
 * allocator for structures, unit registers, devices and expect entries, encoded as iommukit-dump/1 JSON.
 */
final class TestDump {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final TreeMap<Long, byte[]> pages = new TreeMap<>();
    private final ObjectNode root = JSON.createObjectNode();
    private final ArrayNode units = root.putArray("units");
    private final ArrayNode expect = JSON.createArrayNode();
    private long next = 0x4000_0000L;

    TestDump() {
        root.put("format", "iommukit-dump/1");
    }

    /** A zeroed, naturally aligned block of {@code bytes} (at least 4 KiB alignment for tables). */
    long alloc(long bytes) {
        long align = Math.max(4096, Long.highestOneBit(bytes - 1) << 1);
        next = (next + align - 1) & -align;
        long a = next;
        next += Math.max(bytes, 4096);
        return a;
    }

    void write64(long pa, long value) {
        byte[] page = pages.computeIfAbsent(pa & ~4095L, k -> new byte[4096]);
        ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN).putLong((int) (pa & 4095), value);
    }

    long read64(long pa) {
        byte[] page = pages.get(pa & ~4095L);
        return page == null ? 0 : ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN).getLong((int) (pa & 4095));
    }

    /** Writes consecutive 64-bit words. */
    void write(long pa, long... words) {
        for (int i = 0; i < words.length; i++) {
            write64(pa + 8L * i, words[i]);
        }
    }

    TestDump unit(String name, String backend, Map<String, Long> registers, int... rids) {
        ObjectNode u = units.addObject();
        u.put("name", name);
        u.put("backend", backend);
        ObjectNode regs = u.putObject("registers");
        registers.forEach((k, v) -> regs.put(k, "0x" + Long.toHexString(v)));
        ArrayNode devs = u.putArray("devices");
        for (int rid : rids) {
            ObjectNode d = devs.addObject();
            d.put("name", String.format("0000:%02x:%02x.%x", rid >>> 8, (rid >>> 3) & 0x1F, rid & 7));
            d.put("rid", "0x" + Integer.toHexString(rid));
        }
        return this;
    }

    /** An expected range; {@code pasid} null for requests without PASID. */
    TestDump expect(String unit, int rid, Integer pasid, long iova, long size, long pa, boolean read, boolean write) {
        ObjectNode e = entry(unit, rid, pasid);
        e.put("iova", "0x" + Long.toHexString(iova));
        e.put("size", "0x" + Long.toHexString(size));
        e.put("pa", "0x" + Long.toHexString(pa));
        e.put("read", read);
        e.put("write", write);
        return this;
    }

    TestDump expectIdentity(String unit, int rid, Integer pasid) {
        entry(unit, rid, pasid).put("identity", true);
        return this;
    }

    private ObjectNode entry(String unit, int rid, Integer pasid) {
        ObjectNode e = expect.addObject();
        e.put("unit", unit);
        e.put("rid", rid);
        if (pasid == null) {
            e.putNull("pasid");
        } else {
            e.put("pasid", pasid);
        }
        return e;
    }

    String json() {
        ObjectNode r = root.deepCopy();
        ObjectNode memory = r.putObject("memory");
        memory.put("pageSize", 4096);
        ArrayNode list = memory.putArray("pages");
        pages.forEach((pa, data) -> {
            for (byte b : data) {
                if (b != 0) {
                    ObjectNode p = list.addObject();
                    p.put("pa", "0x" + Long.toHexString(pa));
                    p.put("data", Base64.getEncoder().encodeToString(data));
                    return;
                }
            }
        });
        r.set("expect", expect.deepCopy());
        return r.toString();
    }

    Dump dump() {
        return new DumpReader().read(json());
    }

    // ---- VMSAv8-64 tables (spec/smmuv3.md §7) -------------------------------------------------------------

    /** Maps one leaf at {@code leafLevel}; creates granule-sized tables on the way (descriptor bits[1:0]=11). */
    void vmsaMap(int granuleBits, int startLevel, int inputBits, long root, long va, long pa, int leafLevel,
            long attributes) {
        int stride = granuleBits - 3;
        long table = root;
        for (int level = startLevel; ; level++) {
            int shift = granuleBits + (3 - level) * stride;
            int bits = level == startLevel ? inputBits - shift : stride;
            long index = (va >>> shift) & ((1L << bits) - 1);
            long slot = table + 8 * index;
            if (level == leafLevel) {
                write64(slot, pa | attributes | (level == 3 ? 0b11 : 0b01));
                return;
            }
            long d = read64(slot);
            if ((d & 3) != 3) {
                long t = alloc(1L << granuleBits);
                d = t | 0b11;
                write64(slot, d);
            }
            table = d & ((1L << 48) - 1) & -(1L << granuleBits);
        }
    }

    // ---- VT-d paging structures (spec/vtd.md §7, §8) -------------------------------------------------------

    /**
     * Maps one leaf in a VT-d paging structure of {@code levels} levels; non-leaf entries get {@code tableBits}
     * (SL: R|W = 0b11; FL: P|R/W|U/S|A = 0x27), the leaf {@code leafBits} (plus PS above level 1).
     */
    void intelMap(int levels, long root, long va, long pa, int leafLevel, long tableBits, long leafBits) {
        long table = root;
        for (int level = levels; ; level--) {
            int shift = 12 + 9 * (level - 1);
            long slot = table + 8 * ((va >>> shift) & 511);
            if (level == leafLevel) {
                write64(slot, pa | leafBits | (level > 1 ? 1L << 7 : 0));
                return;
            }
            long d = read64(slot);
            if (d == 0) {
                d = alloc(4096) | tableBits;
                write64(slot, d);
            }
            table = d & 0x000F_FFFF_FFFF_F000L;
        }
    }
}
