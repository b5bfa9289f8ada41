package dev.iommukit.cli.inspect;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class InspectCommandTest {
    @TempDir
    Path dir;

    private record Run(int status, String out, String err) {}

    private Run run(String json, String... args) throws IOException {
        Path file = dir.resolve("dump.json");
        Files.writeString(file, json);
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = new CommandLine(new InspectCommand());
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        String[] all = new String[args.length + 1];
        System.arraycopy(args, 0, all, 0, args.length);
        all[args.length] = file.toString();
        int status = cli.execute(all);
        return new Run(status, out.toString(), err.toString());
    }

    private static SmmuFixture machine() {
        SmmuFixture f = DumpCheckerTest.machine();
        f.dump.expect(SmmuFixture.UNIT, 0x18, null, 0x10_0000, 0x30_0000, 0x8010_0000L, true, true);
        return f;
    }

    private static String json(SmmuFixture f, int... rids) {
        f.dump.unit(SmmuFixture.UNIT, "smmuv3", f.registers, rids);
        return f.dump.json();
    }

    @Test
    void printsStructuresByFieldName_rangesAndCheck() throws IOException {
        Run r = run(json(machine(), 0x18, 0x20));
        assertThat(r.status()).isZero();
        assertThat(r.out()).contains(
                "unit smmu0 (smmuv3)",
                "CR0=0x1: SMMUEN=1",
                "rid 0x18 (00:03.0) no pasid [0000:00:03.0]",
                "STE @0x",
                "V=1 Config=0b101(S1 only) S1Fmt=0 S1ContextPtr=0x",
                "CD @0x",
                "0x100000-0x3fffff -> 0x80100000 rw 2M blocks + 4K pages",
                "rid 0x20 (00:04.0) no pasid",
                "reaches nothing: C_BAD_STE: STE V=0",
                "check: OK");
    }

    @Test
    void checkOption_exitsNonZeroOnMismatch() throws IOException {
        SmmuFixture f = DumpCheckerTest.machine();
        f.dump.expect(SmmuFixture.UNIT, 0x18, null, 0x10_0000, 0x10_0000, 0x8010_0000L, true, true);
        String json = json(f, 0x18);
        Run plain = run(json);
        assertThat(plain.status()).isZero();
        assertThat(plain.out()).contains("ISOLATION 0x200000-0x3fffff: reachable -> 0x80200000 rw, not expected",
                "check: FAILED (", "1 isolation error(s), 0 functional error(s)");
        assertThat(run(json, "--check").status()).isEqualTo(1);
    }

    @Test
    void ridOption_limitsTheRequesters() throws IOException {
        Run r = run(json(machine(), 0x18, 0x20), "--rid", "00:04.0");
        assertThat(r.out()).contains("rid 0x20").doesNotContain("rid 0x18");
        assertThat(run(json(machine(), 0x18, 0x20), "--rid", "0x18").out()).doesNotContain("rid 0x20");
    }

    @Test
    void unreadableDump_exitsWith2() throws IOException {
        Run r = run("{\"format\":\"other\"}");
        assertThat(r.status()).isEqualTo(2);
        assertThat(r.err()).contains("format must be \"iommukit-dump/1\"");
    }
}
