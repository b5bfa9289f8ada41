package dev.iommukit.conformance;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * The rule a conformance test checks: a stable id such as {@code PAGING-3} (its prefix names the
 * {@link Group}) and whether a backend must keep it. Every kit test carries one, next to a
 * {@code @DisplayName} that states the rule in words.
 */
@Documented
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Rule {
    /** The rule id, {@code GROUPPREFIX-n}. */
    String id();

    /** Whether the rule is required of every backend or optional. */
    Level level() default Level.REQUIRED;
}
