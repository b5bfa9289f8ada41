package dev.iommukit.cli.scenario;

import dev.iommukit.api.Machine;
import dev.iommukit.api.Process;
import dev.iommukit.cli.dump.GuestStage1;
import dev.iommukit.cli.scenario.Operation.AllocGuestPasid;
import dev.iommukit.cli.scenario.Operation.AttachPasidTable;
import dev.iommukit.cli.scenario.Operation.ContextDescriptor;
import dev.iommukit.cli.scenario.Operation.DetachPasidTable;
import dev.iommukit.cli.scenario.Operation.FreeGuestPasid;
import dev.iommukit.cli.scenario.Operation.GuestAddress;
import dev.iommukit.cli.scenario.Operation.GuestBytes;
import dev.iommukit.cli.scenario.Operation.GuestContextTable;
import dev.iommukit.cli.scenario.Operation.GuestInvalidate;
import dev.iommukit.cli.scenario.Operation.GuestMap;
import dev.iommukit.cli.scenario.Operation.GuestPageTable;
import dev.iommukit.cli.scenario.Operation.GuestPasidBinding;
import dev.iommukit.cli.scenario.Operation.GuestPasidQuota;
import dev.iommukit.cli.scenario.Operation.GuestUnmap;
import dev.iommukit.cli.scenario.Operation.NewGuest;
import dev.iommukit.cli.scenario.ScenarioRunner.StepFailure;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.spi.error.NotSupportedException;
import dev.iommukit.cli.scenario.Operation.InvalidationSpec;
import dev.iommukit.spi.cap.PageSizes;
import java.util.Map;
import java.util.stream.Collectors;

/** The guest operations of a run (placeholder until the guest module is on the class path). */
final class GuestSteps implements GuestStage1 {
    /** What the run lends: its processes, containers, mdevs and recorded PASIDs. */
    interface Scope {
        Process process(String name) throws StepFailure;

        Container container(String name) throws StepFailure;

        Mdev mdev(String name) throws StepFailure;

        MdevCore mdevCore();

        Map<String, Integer> pasids();
    }

    GuestSteps(Machine machine, Scope scope) {
    }

    static boolean handles(Operation op) {
        return op instanceof GuestPasidQuota || op instanceof NewGuest || op instanceof GuestPageTable || op instanceof GuestMap
                || op instanceof GuestUnmap || op instanceof GuestBytes || op instanceof GuestContextTable
                || op instanceof ContextDescriptor || op instanceof AllocGuestPasid || op instanceof FreeGuestPasid
                || op instanceof GuestPasidBinding || op instanceof AttachPasidTable || op instanceof DetachPasidTable
                || op instanceof GuestInvalidate;
    }

    String execute(Operation op) throws StepFailure {
        throw new NotSupportedException("guest: the guest model is not on the class path");
    }

    Container newNestingContainer(Process owner) {
        throw new NotSupportedException("type: TYPE1_NESTING containers need the guest model");
    }

    int guestPasids(String container) {
        throw new NotSupportedException("guest: the guest model is not on the class path");
    }

    long hostPhysical(GuestAddress a) {
        return -1;
    }

    @Override
    public Map<Integer, Stage1> requesters(dev.iommukit.api.Device device, int pasid, dev.iommukit.api.NestedDomain domain) {
        return Map.of();
    }

    static String describe(Operation operation) {
        if (operation instanceof GuestPasidQuota q) {
            return "guestPasidQuota " + q.owner() + " " + q.quota();
        } else if (operation instanceof NewGuest g) {
            return "guest " + g.name() + " in " + g.container() + " with " + PageSizes.formatSize(g.ramSize()) + " RAM";
        } else if (operation instanceof GuestPageTable t) {
            return "guestPageTable " + t.name() + " of " + t.guest() + " (" + t.format().json() + ")";
        } else if (operation instanceof GuestMap m) {
            return "guestMap " + m.table() + " " + Numbers.hex(m.va()) + "+" + PageSizes.formatSize(m.size()) + " -> gpa "
                    + Numbers.hex(m.gpa()) + " " + Permissions.toString(m.permissions());
        } else if (operation instanceof GuestUnmap u) {
            return "guestUnmap " + u.table() + " " + Numbers.hex(u.va()) + "+" + PageSizes.formatSize(u.size());
        } else if (operation instanceof GuestBytes b) {
            return b.op() + " " + b.guest() + " gpa " + Numbers.hex(b.gpa()) + " (" + b.data().length + " bytes)";
        } else if (operation instanceof GuestContextTable c) {
            return "guestContextTable " + c.name() + " of " + c.guest() + " (" + (1 << c.cdMaxBits()) + " CDs)";
        } else if (operation instanceof ContextDescriptor c) {
            return c.op() + " " + c.contextTable() + " ssid " + c.ssid() + (c.clear() ? "" : " -> " + c.table() + " asid " + c.asid());
        } else if (operation instanceof AllocGuestPasid a) {
            return "allocGuestPasid " + a.container() + (a.pasidAs() != null ? " as " + a.pasidAs() : "");
        } else if (operation instanceof FreeGuestPasid f) {
            return "freeGuestPasid " + f.container() + " " + f.pasid();
        } else if (operation instanceof GuestPasidBinding b) {
            String target = b.mdev() != null ? "mdev " + b.mdev() : b.device();
            return b.op() + " " + b.container() + " " + target + " pasid " + b.pasid() + (b.unbind() ? ""
                    : " -> " + b.table() + (b.addressWidth() != null ? " " + b.addressWidth() + "-bit" : "")
                    + (b.flags().isEmpty() ? "" : " " + b.flags().stream().map(Enum::name).sorted().collect(Collectors.joining(","))));
        } else if (operation instanceof AttachPasidTable a) {
            return "attachPasidTable " + a.container() + " " + a.device() + " -> " + a.contextTable() + " (S1DSS "
                    + a.defaultSubstream() + ")";
        } else if (operation instanceof DetachPasidTable d) {
            return "detachPasidTable " + d.container() + " " + d.device();
        } else if (operation instanceof GuestInvalidate i) {
            return "guestInvalidate " + i.container() + " " + (i.mdev() != null ? "mdev " + i.mdev() : i.device()) + " "
                    + i.batch().stream().map(GuestSteps::describe).collect(Collectors.joining(", ", "[", "]"));
        }
        return operation.op();
    }

    private static String describe(InvalidationSpec s) {
        String caches = s.caches().stream().map(Enum::name).sorted().collect(Collectors.joining("+"));
        String what = switch (s.granularity()) {
            case DOMAIN -> "domain";
            case PASID -> s.pasid() != null ? "pasid " + s.pasid() : "asid " + s.asid();
            case ADDRESS -> (s.pasid() != null ? "pasid " + s.pasid() : "asid " + s.asid()) + " " + Numbers.hex(s.address()) + "+"
                    + s.granules() + "x" + PageSizes.formatSize(s.granuleSize()) + (s.leaf() ? " leaf" : "");
        };
        return caches + " " + what;
    }
}
