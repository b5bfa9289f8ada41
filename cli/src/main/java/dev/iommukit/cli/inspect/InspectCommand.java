package dev.iommukit.cli.inspect;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.function.IntPredicate;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code iommukit inspect DUMP}: walks the SMMUv3 and VT-d structures of a state dump as hardware would, prints what
 * it found per requester (structures decoded by field name, then the ranges they translate) and compares that with
 * the dump's {@code expect}. Exit status: 0, or 1 with {@code --check} when anything disagrees, 2 for an unreadable
 * dump.
 */
@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = "Walk the IOMMU structures of a state dump as hardware would and check them against its expect list.")
public final class InspectCommand implements Callable<Integer> {

    @Parameters(index = "0", paramLabel = "DUMP", description = "the state dump (iommukit-dump/1 JSON)")
    Path dump;

    @Option(names = "--check", description = "exit with status 1 on any mismatch")
    boolean check;

    @Option(names = "--rid", paramLabel = "RID",
            description = "only this requester id: 0x18, 24 or 00:03.0")
    String rid;

    @Option(names = {"-v", "--verbose"}, description = "also show the structures of requesters that reach nothing")
    boolean verbose;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Dump parsed;
        IntPredicate filter;
        try {
            filter = ridFilter(rid);
            parsed = new DumpReader().read(dump);
        } catch (IOException | DumpFormatException | IllegalArgumentException e) {
            err.println("inspect: " + dump + ": " + e.getMessage());
            err.flush();
            return 2;
        }
        DumpChecker.Report report = new DumpChecker().check(parsed, filter);
        new ReportPrinter(out, verbose).print(dump.toString(), parsed, report);
        out.flush();
        return check && !report.ok() ? 1 : 0;
    }

    /** Accepts {@code 0x18}, {@code 24} or {@code 00:03.0} / {@code 0000:00:03.0}. */
    static IntPredicate ridFilter(String text) {
        if (text == null) {
            return r -> true;
        }
        String s = text.trim();
        int value;
        try {
            if (s.contains(":")) {
                value = dev.iommukit.spi.device.RequesterId.parse(s).value();
            } else if (s.startsWith("0x") || s.startsWith("0X")) {
                value = Integer.parseInt(s.substring(2), 16);
            } else {
                value = Integer.parseInt(s);
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("--rid must be 0x18, 24 or 00:03.0, was '" + text + "'", e);
        }
        return r -> r == value;
    }
}
