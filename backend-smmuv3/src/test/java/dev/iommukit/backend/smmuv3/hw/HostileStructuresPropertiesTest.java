package dev.iommukit.backend.smmuv3.hw;

import static dev.iommukit.backend.smmuv3.hw.HardwareRig.*;
import static org.assertj.core.api.Assertions.assertThat;

import dev.iommukit.backend.smmuv3.arch.Command;
import dev.iommukit.spi.dma.AccessType;
import dev.iommukit.spi.dma.TranslationOutcome;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** Garbage in STEs, CDs and tables gives architectural outcomes, never an exception or a model error. */
class HostileStructuresPropertiesTest {
    @Provide
    Arbitrary<long[]> words() {
        // bias towards plausible values: valid bits, pointers into RAM, and raw noise
        Arbitrary<Long> word = Arbitraries.oneOf(
                Arbitraries.longs(),
                Arbitraries.longs().between(0, 64L << 20).map(o -> (RAM + o) | 3),
                Arbitraries.longs().map(v -> (v & 0xFFFF_0000_0000_FFFFL) | (RAM + 0x10_0000L) | 1),
                Arbitraries.just(0L));
        return word.array(long[].class).ofSize(48);
    }

    @Property(tries = 300)
    void translateNeverThrows(@ForAll("words") long[] w, @ForAll long address, @ForAll boolean write, @ForAll int pasid) {
        HardwareRig rig = new HardwareRig().enable();
        rig.regs.write32(dev.iommukit.backend.smmuv3.arch.SmmuRegisters.CR2, 2);
        rig.ste(1, w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]);
        // whatever the STE points at, put more garbage there
        for (int i = 0; i < 8; i++) {
            long target = (w[i] & 0x000F_FFFF_FFFF_FFC0L);
            if (target >= RAM + 0x100000 && target < RAM + (60L << 20)) {
                for (int j = 0; j < 40; j++) {
                    rig.memory.write64(target + 8L * j, w[8 + j]);
                }
            }
        }
        rig.command(Command.cfgiAll());
        for (long a : new long[] {address, address & 0xFFFF_FFFFL, 0}) {
            for (int p : new int[] {-1, pasid & 0xFFFFF}) {
                TranslationOutcome out = rig.dma(1, p, a, write ? AccessType.WRITE : AccessType.READ);
                if (!out.isTranslated()) {
                    assertThat(out.fault().record().name()).doesNotStartWith("MODEL_ERROR");
                }
            }
        }
    }
}
