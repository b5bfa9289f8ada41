package dev.iommukit.cli.inspect;

import java.io.PrintWriter;

/** Prints a {@link DumpChecker.Report} as {@code inspect} shows it. */
final class ReportPrinter {
    private final PrintWriter out;
    private final boolean verbose;

    ReportPrinter(PrintWriter out, boolean verbose) {
        this.out = out;
        this.verbose = verbose;
    }

    void print(String source, Dump dump, DumpChecker.Report report) {
        out.printf("dump %s: %d unit(s), %d page(s), %d expect entries%n", source, dump.units().size(),
                dump.memory().pageCount(), dump.expect().size());
        for (DumpChecker.UnitReport unit : report.units()) {
            out.println();
            out.printf("unit %s (%s)%n", unit.unit().name(), unit.unit().backend());
            unit.registers().forEach(r -> out.println("  " + r));
            unit.problems().forEach(p -> out.println((unit.walked() ? "  problem: " : "  ") + p));
            for (DumpChecker.RequesterReport r : unit.requesters()) {
                printRequester(r);
            }
        }
        out.println();
        report.problems().forEach(p -> out.println("problem: " + p));
        long requesters = report.units().stream().mapToLong(u -> u.requesters().size()).sum();
        long isolation = report.count(Mismatch.Kind.ISOLATION);
        long functional = report.count(Mismatch.Kind.FUNCTIONAL);
        if (report.ok()) {
            out.printf("check: OK (%d requesters walked, every one as expected)%n", requesters);
        } else {
            out.printf("check: FAILED (%d requesters walked: %d isolation error(s), %d functional error(s), %d problem(s))%n",
                    requesters, isolation, functional, report.problemCount());
        }
    }

    private void printRequester(DumpChecker.RequesterReport r) {
        WalkResult w = r.walked();
        String name = r.deviceName().isEmpty() ? "" : " [" + r.deviceName() + "]";
        boolean quiet = !verbose && w.kind() == WalkResult.Kind.BLOCKED && !r.expectedAnything()
                && r.mismatches().isEmpty() && r.requester().hasPasid();
        if (quiet) {
            out.printf("  %s%s: nothing reachable (%s); check: OK%n", r.requester(), name, w.reason());
            return;
        }
        out.printf("  %s%s%n", r.requester(), name);
        w.structures().forEach(s -> out.println("    " + s));
        switch (w.kind()) {
            case BLOCKED -> out.println("    reaches nothing: " + w.reason());
            case IDENTITY -> out.println("    identity: " + w.reason());
            case TRANSLATED -> {
                out.println("    ranges (" + w.reason() + "):");
                w.ranges().forEach(m -> out.println("      " + m));
            }
        }
        if (!w.notes().isEmpty()) {
            out.println("    faulting entries met:");
            w.notes().forEach(n -> out.println("      " + n));
        }
        if (r.mismatches().isEmpty()) {
            out.println("    check: OK" + (r.expectedAnything() ? "" : " (expect lists nothing)"));
        } else {
            out.println("    check:");
            for (Mismatch m : r.mismatches()) {
                out.println("      " + m.kind() + (m.size() == 0 ? "" : " " + Ranges.hex(m.iova()) + "-"
                        + Ranges.hex(m.iova() + m.size() - 1)) + ": " + m.detail());
            }
        }
    }
}
