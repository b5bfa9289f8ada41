package dev.iommukit.conformance.faults;

import dev.iommukit.api.FaultHandler;
import dev.iommukit.spi.fault.Fault;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

/**
 * A fault handler that keeps what it receives, for rules about fault delivery. A backend may
 * deliver faults on another thread (an event queue drained on interrupt), so a rule waits for a
 * sentinel fault raised after the one it checks; queues deliver in order, so by then the checked
 * fault has arrived as often as it ever will.
 */
final class FaultCollector implements FaultHandler {
    /** How long to wait for a delivery before declaring it lost. A bound, never an assertion on time. */
    private static final long DELIVERY_BOUND_MILLIS = 10_000;
    private final List<Fault> received = new CopyOnWriteArrayList<>();

    @Override
    public void onFault(Fault fault) {
        received.add(fault);
    }

    List<Fault> received() {
        return List.copyOf(received);
    }

    List<Fault> matching(Predicate<Fault> p) {
        return received.stream().filter(p).toList();
    }

    /** Waits until a fault matching {@code p} arrived; returns whether one did within the bound. */
    boolean await(Predicate<Fault> p) {
        long deadline = System.nanoTime() + DELIVERY_BOUND_MILLIS * 1_000_000L;
        while (true) {
            if (received.stream().anyMatch(p)) {
                return true;
            }
            if (System.nanoTime() - deadline > 0) {
                return false;
            }
            try {
                Thread.sleep(1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
    }
}
