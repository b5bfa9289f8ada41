package dev.iommukit.backend.vtd.hw;

/** A context-cache entry: the decoded present scalable-mode context entry of one source id. */
record ContextConfig(int sid, boolean fpd, boolean paside, int directoryEntries, long pasidDirectory, int ridPasid) {}
