package dev.iommukit.backend.smmuv3.arch;

/** IDR1 fields (spec §1.3). */
public final class Idr1 {
    public static final Field SIDSIZE = Field.of("SIDSIZE", 5, 0);
    public static final Field SSIDSIZE = Field.of("SSIDSIZE", 10, 6);
    public static final Field PRIQS = Field.of("PRIQS", 15, 11);
    public static final Field EVENTQS = Field.of("EVENTQS", 20, 16);
    public static final Field CMDQS = Field.of("CMDQS", 25, 21);
    public static final Field ATTR_PERMS_OVR = Field.bit("ATTR_PERMS_OVR", 26);
    public static final Field ATTR_TYPES_OVR = Field.bit("ATTR_TYPES_OVR", 27);
    public static final Field REL = Field.bit("REL", 28);
    public static final Field QUEUES_PRESET = Field.bit("QUEUES_PRESET", 29);
    public static final Field TABLES_PRESET = Field.bit("TABLES_PRESET", 30);
    public static final Field ECMDQ = Field.bit("ECMDQ", 31);

    private Idr1() {}
}
