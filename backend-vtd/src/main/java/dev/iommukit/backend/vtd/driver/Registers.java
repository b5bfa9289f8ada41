package dev.iommukit.backend.vtd.driver;

import static dev.iommukit.backend.vtd.arch.RegisterOffsets.*;

import dev.iommukit.spi.error.ErrorCode;
import dev.iommukit.spi.error.IommuException;
import dev.iommukit.spi.mmio.Mmio;
import java.util.LinkedHashMap;
import java.util.Map;

/** Driver helpers for GCMD/GSTS handshakes and the register dump. */
final class Registers {
    private static final int MAX_POLLS = 1_000_000;

    private Registers() {}

    /** Writes GCMD as (GSTS &amp; 0x96FFFFFF) with {@code bit} set or cleared (digest §1.4). */
    static void command(Mmio mmio, int bit, boolean on) {
        int keep = mmio.read32(GSTS_REG) & GCMD_PRESERVE_MASK;
        mmio.write32(GCMD_REG, on ? keep | bit : keep & ~bit);
    }

    /** Polls GSTS until {@code bit} reads {@code set}. */
    static void pollStatus(Mmio mmio, int bit, boolean set) {
        for (int i = 0; ((mmio.read32(GSTS_REG) & bit) != 0) != set; i++) {
            if (i > MAX_POLLS) {
                throw new IommuException(ErrorCode.INTERNAL, "GSTS bit 0x" + Integer.toHexString(bit) + " did not become " + set);
            }
            Thread.onSpinWait();
        }
    }

    /** The registers by their specification names, in register-map order. */
    static Map<String, Long> dump(Mmio mmio, int fro, int iro, int frcdCount) {
        Map<String, Long> m = new LinkedHashMap<>();
        m.put("VER_REG", u32(mmio.read32(VER_REG)));
        m.put("CAP_REG", mmio.read64(CAP_REG));
        m.put("ECAP_REG", mmio.read64(ECAP_REG));
        m.put("GCMD_REG", u32(mmio.read32(GCMD_REG)));
        m.put("GSTS_REG", u32(mmio.read32(GSTS_REG)));
        m.put("RTADDR_REG", mmio.read64(RTADDR_REG));
        m.put("CCMD_REG", mmio.read64(CCMD_REG));
        m.put("FSTS_REG", u32(mmio.read32(FSTS_REG)));
        m.put("FECTL_REG", u32(mmio.read32(FECTL_REG)));
        m.put("FEDATA_REG", u32(mmio.read32(FEDATA_REG)));
        m.put("FEADDR_REG", u32(mmio.read32(FEADDR_REG)));
        m.put("FEUADDR_REG", u32(mmio.read32(FEUADDR_REG)));
        m.put("IQH_REG", mmio.read64(IQH_REG));
        m.put("IQT_REG", mmio.read64(IQT_REG));
        m.put("IQA_REG", mmio.read64(IQA_REG));
        m.put("ICS_REG", u32(mmio.read32(ICS_REG)));
        m.put("IECTL_REG", u32(mmio.read32(IECTL_REG)));
        m.put("IEDATA_REG", u32(mmio.read32(IEDATA_REG)));
        m.put("IEADDR_REG", u32(mmio.read32(IEADDR_REG)));
        m.put("IEUADDR_REG", u32(mmio.read32(IEUADDR_REG)));
        m.put("IQERCD_REG", mmio.read64(IQERCD_REG));
        m.put("PQH_REG", mmio.read64(PQH_REG));
        m.put("PQT_REG", mmio.read64(PQT_REG));
        m.put("PQA_REG", mmio.read64(PQA_REG));
        m.put("PRS_REG", u32(mmio.read32(PRS_REG)));
        m.put("PECTL_REG", u32(mmio.read32(PECTL_REG)));
        m.put("PEDATA_REG", u32(mmio.read32(PEDATA_REG)));
        m.put("PEADDR_REG", u32(mmio.read32(PEADDR_REG)));
        m.put("PEUADDR_REG", u32(mmio.read32(PEUADDR_REG)));
        for (int i = 0; i < frcdCount; i++) {
            m.put("FRCD_REG[" + i + "].LO", mmio.read64(frcd(fro, i)));
            m.put("FRCD_REG[" + i + "].HI", mmio.read64(frcd(fro, i) + 8));
        }
        m.put("IVA_REG", mmio.read64(iva(iro)));
        m.put("IOTLB_REG", mmio.read64(iotlb(iro)));
        return m;
    }

    private static long u32(int v) {
        return v & 0xFFFF_FFFFL;
    }
}
