package dev.iommukit.backend.vtd.hw;

/**
 * A context-cache entry: the decoded present scalable-mode context entry of one source id, with
 * DTE (translation and translated requests allowed) and PRE (page requests allowed).
 */
record ContextConfig(int sid, boolean fpd, boolean paside, int directoryEntries, long pasidDirectory, int ridPasid, boolean dte,
                     boolean pre) {}
