package dev.iommukit.api;

import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The machine's page request thread: page requests that drivers report (often on a DMA thread,
 * inside the hardware's interrupt) are handled here, in order, so that handlers never run under a
 * driver's or the hardware's locks. Each submission gets a sequence number, which draining uses
 * to tell requests queued before a drain from later ones.
 */
final class PageRequestQueue {
    private static final System.Logger LOG = System.getLogger(PageRequestQueue.class.getName());
    private final LinkedBlockingQueue<Runnable> queue = new LinkedBlockingQueue<>();
    private final AtomicLong sequence = new AtomicLong();
    private final String name;
    private Thread worker;
    private boolean stopped;

    PageRequestQueue(String name) {
        this.name = name;
    }

    /** The sequence number the next submission will get. */
    long nextSequence() {
        return sequence.get();
    }

    interface Task {
        void run(long sequence);
    }

    void submit(Task task) {
        long seq = sequence.getAndIncrement();
        synchronized (this) {
            if (stopped) {
                return;
            }
            if (worker == null) {
                worker = new Thread(this::loop, name);
                worker.setDaemon(true);
                worker.start();
            }
            queue.add(() -> task.run(seq));
        }
    }

    private void loop() {
        while (true) {
            Runnable r;
            try {
                r = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            try {
                r.run();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "page request handling failed", e);
            }
        }
    }

    void stop() {
        Thread t;
        synchronized (this) {
            stopped = true;
            t = worker;
        }
        if (t != null && t != Thread.currentThread()) {
            t.interrupt();
        }
    }
}
