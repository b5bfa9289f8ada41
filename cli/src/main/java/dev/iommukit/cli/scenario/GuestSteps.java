package dev.iommukit.cli.scenario;

import dev.iommukit.api.Device;
import dev.iommukit.api.NestedDomain;
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
import dev.iommukit.cli.scenario.Operation.PasidRef;
import dev.iommukit.guest.Guest;
import dev.iommukit.mdev.ContainerType;
import dev.iommukit.mdev.GuestBinding;
import dev.iommukit.spi.device.Pasid;
import dev.iommukit.spi.nested.CacheInvalidation;
import dev.iommukit.spi.nested.InvalidationBatchResult;
import dev.iommukit.spi.nested.SmmuContextTableConfig;
import dev.iommukit.spi.nested.VtdFirstLevelConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.TreeMap;
import dev.iommukit.cli.scenario.ScenarioRunner.StepFailure;
import dev.iommukit.mdev.Container;
import dev.iommukit.mdev.Mdev;
import dev.iommukit.mdev.MdevCore;
import dev.iommukit.spi.domain.Permissions;
import dev.iommukit.cli.scenario.Operation.InvalidationSpec;
import dev.iommukit.spi.cap.PageSizes;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The guest operations of a run: guests, their page tables and CD tables, guest PASIDs, guest
 * PASID and PASID-table binds, guest invalidations. It keeps the guests' own bookkeeping of what
 * they mapped (each {@code guestMap} and {@code guestUnmap} as asked, each CD as written) and
 * answers {@link GuestStage1} from it for dumps: never from the tables in guest memory.
 */
final class GuestSteps implements GuestStage1 {
    private static final long PAGE = 4096;

    /** What the run lends: its processes, containers, mdevs and recorded PASIDs. */
    interface Scope {
        Process process(String name) throws StepFailure;

        Container container(String name) throws StepFailure;

        Mdev mdev(String name) throws StepFailure;

        MdevCore mdevCore();

        Map<String, Integer> pasids();
    }

    /** A guest page table with the guest's record of what it mapped: 4 KiB page VA to {gpa, permissions}. */
    private record Table(dev.iommukit.guest.GuestPageTable table, TreeMap<Long, long[]> pages) {}

    /** A guest CD table with the guest's record of which page table each written CD names. */
    private record CdTable(dev.iommukit.guest.GuestContextTable table, TreeMap<Integer, Table> cds) {}

    /** What a nested domain carries: a guest page table (VT-d) or a guest CD table with its S1DSS (SMMUv3). */
    private record Stage1Source(Table table, CdTable cdTable, SmmuContextTableConfig.DefaultSubstream defaultSubstream) {}

    private final Scope scope;
    private final Map<String, Guest> guests = new HashMap<>();
    private final Map<String, Table> tables = new HashMap<>();
    private final Map<String, CdTable> cdTables = new HashMap<>();
    private final Map<NestedDomain, Stage1Source> bound = new IdentityHashMap<>();

    GuestSteps(Scope scope) {
        this.scope = scope;
    }

    static boolean handles(Operation op) {
        return op instanceof GuestPasidQuota || op instanceof NewGuest || op instanceof GuestPageTable || op instanceof GuestMap
                || op instanceof GuestUnmap || op instanceof GuestBytes || op instanceof GuestContextTable
                || op instanceof ContextDescriptor || op instanceof AllocGuestPasid || op instanceof FreeGuestPasid
                || op instanceof GuestPasidBinding || op instanceof AttachPasidTable || op instanceof DetachPasidTable
                || op instanceof GuestInvalidate;
    }

    Container newNestingContainer(Process owner) {
        return scope.mdevCore().newContainer(owner, ContainerType.TYPE1_NESTING);
    }

    int guestPasids(String container) throws StepFailure {
        return scope.container(container).guestPasids().size();
    }

    long hostPhysical(GuestAddress a) throws StepFailure {
        return guest(a.guest()).hostPhysical(a.gpa());
    }

    String execute(Operation op) throws StepFailure {
        if (op instanceof GuestPasidQuota q) {
            scope.mdevCore().setGuestPasidQuota(scope.process(q.owner()), q.quota());
            return "";
        } else if (op instanceof NewGuest g) {
            Guest guest = Guest.create(scope.container(g.container()), g.ramSize());
            guests.put(g.name(), guest);
            return "RAM at vmm va " + Numbers.hex(guest.vmmAddress()) + ", gpa 0x0 -> pa " + Numbers.hex(guest.hostPhysical(0));
        } else if (op instanceof GuestPageTable t) {
            dev.iommukit.guest.GuestPageTable table = guest(t.guest()).newPageTable(switch (t.format()) {
                case X86_64_4LEVEL -> dev.iommukit.guest.GuestPageTable.Format.X86_64_4LEVEL;
                case X86_64_5LEVEL -> dev.iommukit.guest.GuestPageTable.Format.X86_64_5LEVEL;
                case AARCH64_4K_48BIT -> dev.iommukit.guest.GuestPageTable.Format.AARCH64_4K_48BIT;
            });
            tables.put(t.name(), new Table(table, new TreeMap<>(Long::compareUnsigned)));
            return "root at gpa " + Numbers.hex(table.root());
        } else if (op instanceof GuestMap m) {
            Table t = table(m.table());
            t.table().map(m.va(), m.gpa(), m.size(), m.permissions());
            for (long off = 0; off < m.size(); off += PAGE) {
                t.pages().put(m.va() + off, new long[] {m.gpa() + off, m.permissions()});
            }
            return "";
        } else if (op instanceof GuestUnmap u) {
            Table t = table(u.table());
            long unmapped = t.table().unmap(u.va(), u.size());
            t.pages().subMap(u.va(), true, u.va() + u.size() - 1, true).clear();
            return "unmapped " + Numbers.hex(unmapped) + " bytes";
        } else if (op instanceof GuestBytes b) {
            return guestBytes(b);
        } else if (op instanceof GuestContextTable c) {
            dev.iommukit.guest.GuestContextTable table = guest(c.guest()).newContextTable(c.cdMaxBits());
            cdTables.put(c.name(), new CdTable(table, new TreeMap<>()));
            return "at gpa " + Numbers.hex(table.address());
        } else if (op instanceof ContextDescriptor c) {
            CdTable ct = cdTable(c.contextTable());
            if (c.clear()) {
                ct.table().clear(c.ssid());
                ct.cds().remove(c.ssid());
                return "";
            }
            Table t = table(c.table());
            ct.table().writeContextDescriptor(c.ssid(), t.table(), c.asid());
            ct.cds().put(c.ssid(), t);
            return "CD at gpa " + Numbers.hex(ct.table().descriptorAddress(c.ssid()));
        } else if (op instanceof AllocGuestPasid a) {
            int pasid = scope.container(a.container()).allocateGuestPasid();
            if (a.pasidAs() != null) {
                scope.pasids().put(a.pasidAs(), pasid);
            }
            return "pasid " + pasid;
        } else if (op instanceof FreeGuestPasid f) {
            scope.container(f.container()).freeGuestPasid(pasid(f.pasid()));
            return "";
        } else if (op instanceof GuestPasidBinding b) {
            return guestPasidBinding(b);
        } else if (op instanceof AttachPasidTable a) {
            CdTable ct = cdTable(a.contextTable());
            GuestBinding binding = scope.container(a.container()).attachPasidTable(device(a.device()),
                    ct.table().config(a.defaultSubstream()));
            bound.put(binding.domain(), new Stage1Source(null, ct, a.defaultSubstream()));
            return "CD table at gpa " + Numbers.hex(ct.table().address()) + ", " + ct.table().size() + " CDs";
        } else if (op instanceof DetachPasidTable d) {
            scope.container(d.container()).detachPasidTable(device(d.device()));
            return "";
        } else if (op instanceof GuestInvalidate i) {
            return invalidate(i);
        }
        throw new IllegalStateException("unhandled guest operation " + op);
    }

    private String guestBytes(GuestBytes b) throws StepFailure {
        Guest g = guest(b.guest());
        if (!b.check()) {
            g.memory().write(b.gpa(), b.data());
            return "pa " + Numbers.hex(g.hostPhysical(b.gpa()));
        }
        byte[] actual = g.memory().read(b.gpa(), b.data().length);
        if (!Arrays.equals(actual, b.data())) {
            throw new StepFailure("holds " + HexFormat.ofDelimiter(" ").formatHex(actual) + "; expected "
                    + HexFormat.ofDelimiter(" ").formatHex(b.data()));
        }
        return "matches";
    }

    private String guestPasidBinding(GuestPasidBinding b) throws StepFailure {
        Container c = scope.container(b.container());
        int pasid = pasid(b.pasid());
        if (b.unbind()) {
            if (b.mdev() != null) {
                c.unbindGuestPasid(scope.mdev(b.mdev()), pasid);
            } else {
                c.unbindGuestPasid(device(b.device()), pasid);
            }
            return "";
        }
        Table t = table(b.table());
        int width = b.addressWidth() != null ? b.addressWidth() : t.table().format().vaBits();
        VtdFirstLevelConfig config = new VtdFirstLevelConfig(t.table().root(), width, b.flags());
        GuestBinding binding = b.mdev() != null ? c.bindGuestPasid(scope.mdev(b.mdev()), pasid, config)
                : c.bindGuestPasid(device(b.device()), pasid, config);
        bound.put(binding.domain(), new Stage1Source(t, null, null));
        return "pasid " + pasid + " of " + binding.device().name() + ", first level at gpa " + Numbers.hex(t.table().root());
    }

    private String invalidate(GuestInvalidate i) throws StepFailure {
        Container c = scope.container(i.container());
        List<CacheInvalidation> batch = new ArrayList<>();
        for (InvalidationSpec s : i.batch()) {
            int pasid = s.pasid() == null ? Pasid.NONE : pasid(s.pasid());
            batch.add(new CacheInvalidation(s.caches(), s.granularity(), pasid, s.asid(), s.address(), s.granuleSize(), s.granules(),
                    s.leaf()));
        }
        InvalidationBatchResult r = i.mdev() != null ? c.invalidateGuestCaches(scope.mdev(i.mdev()), batch)
                : c.invalidateGuestCaches(device(i.device()), batch);
        String text = r.completed() + " of " + r.requested() + " completed"
                + r.refusal().map(e -> "; stopped: " + e.code() + ": " + e.getMessage()).orElse("");
        int expected = i.expectCompleted() != null ? i.expectCompleted() : r.requested();
        if (r.completed() != expected) {
            throw new StepFailure(text + "; expected " + expected + " completed");
        }
        return text;
    }

    private int pasid(PasidRef ref) throws StepFailure {
        if (ref.name() == null) {
            return ref.value();
        }
        Integer p = scope.pasids().get(ref.name());
        if (p == null) {
            throw new StepFailure("PASID '" + ref.name() + "' does not exist: the operation that records it failed");
        }
        return p;
    }

    private Device device(String name) {
        return scope.mdevCore().machine().device(name);
    }

    private Guest guest(String name) throws StepFailure {
        Guest g = guests.get(name);
        if (g == null) {
            throw new StepFailure("guest '" + name + "' does not exist: the guest operation that creates it failed");
        }
        return g;
    }

    private Table table(String name) throws StepFailure {
        Table t = tables.get(name);
        if (t == null) {
            throw new StepFailure("guest page table '" + name + "' does not exist: the guestPageTable that creates it failed");
        }
        return t;
    }

    private CdTable cdTable(String name) throws StepFailure {
        CdTable t = cdTables.get(name);
        if (t == null) {
            throw new StepFailure("guest CD table '" + name + "' does not exist: the guestContextTable that creates it failed");
        }
        return t;
    }

    // ------------------------------------------------------------------ the guests' stage 1, for dumps

    @Override
    public Map<Integer, Stage1> requesters(Device device, int pasid, NestedDomain domain) {
        Stage1Source source = bound.get(domain);
        if (source == null) {
            return Map.of();
        }
        if (source.table() != null) {
            return Map.of(pasid, Stage1.of(ranges(source.table())));
        }
        Map<Integer, Stage1> out = new TreeMap<>();
        CdTable ct = source.cdTable();
        if (ct.table().cdMaxBits() == 0) {
            Table cd0 = ct.cds().get(0);
            if (cd0 != null) {
                out.put(Pasid.NONE, Stage1.of(ranges(cd0)));
            }
            return out;
        }
        for (Map.Entry<Integer, Table> e : ct.cds().entrySet()) {
            if (e.getKey() != 0) {
                out.put(e.getKey(), Stage1.of(ranges(e.getValue())));
            }
        }
        switch (source.defaultSubstream()) {
            case SUBSTREAM_0 -> {
                Table cd0 = ct.cds().get(0);
                if (cd0 != null) {
                    out.put(Pasid.NONE, Stage1.of(ranges(cd0)));
                }
            }
            case BYPASS -> out.put(Pasid.NONE, Stage1.bypassed());
            case TERMINATE -> { }
        }
        return out;
    }

    /** The guest's record of a table as ranges, pages merged where VA, GPA and permissions continue. */
    private static List<Range> ranges(Table t) {
        List<Range> out = new ArrayList<>();
        long va = 0;
        long gpa = 0;
        long size = 0;
        int perms = 0;
        for (Map.Entry<Long, long[]> e : t.pages().entrySet()) {
            long pageGpa = e.getValue()[0];
            int pagePerms = (int) e.getValue()[1];
            if (size > 0 && e.getKey() == va + size && pageGpa == gpa + size && pagePerms == perms) {
                size += PAGE;
                continue;
            }
            if (size > 0) {
                out.add(new Range(va, gpa, size, perms));
            }
            va = e.getKey();
            gpa = pageGpa;
            size = PAGE;
            perms = pagePerms;
        }
        if (size > 0) {
            out.add(new Range(va, gpa, size, perms));
        }
        return out;
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
