package dev.iommukit.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Every kit test names a unique rule of its group's prefix, states it in words, and every group is present. */
class RuleCatalogTest {
    private static List<Class<?>> groupClasses() {
        List<Class<?>> out = new ArrayList<>();
        for (Class<?> c : BackendConformanceTest.class.getDeclaredClasses()) {
            if (c.isAnnotationPresent(Nested.class)) {
                out.add(c);
            }
        }
        return out;
    }

    @Test
    void everyTestCarriesAUniqueRuleOfItsGroupAndADisplayName() {
        Set<String> ids = new HashSet<>();
        Set<String> tags = new HashSet<>();
        int tests = 0;
        for (Class<?> nested : groupClasses()) {
            String tag = nested.getAnnotation(Tag.class).value();
            tags.add(tag);
            assertThat(nested.getAnnotation(DisplayName.class)).as("display name of %s", nested.getSimpleName()).isNotNull();
            for (Method m : nested.getSuperclass().getDeclaredMethods()) {
                if (!m.isAnnotationPresent(Test.class)) {
                    continue;
                }
                tests++;
                Rule rule = m.getAnnotation(Rule.class);
                assertThat(rule).as("@Rule on %s.%s", nested.getSimpleName(), m.getName()).isNotNull();
                assertThat(ids.add(rule.id())).as("rule id %s is unique", rule.id()).isTrue();
                assertThat(Group.labelOf(rule.id())).as("group of %s in %s", rule.id(), tag).isEqualTo(tag);
                assertThat(m.getAnnotation(DisplayName.class)).as("@DisplayName on %s", rule.id()).isNotNull();
                assertThat(m.getAnnotation(DisplayName.class).value()).as("rule %s in words", rule.id()).hasSizeGreaterThan(20);
            }
        }
        assertThat(tags).as("groups with a nested class").containsExactlyInAnyOrder(
                java.util.Arrays.stream(Group.values()).map(Group::label).toArray(String[]::new));
        assertThat(tests).isGreaterThanOrEqualTo(60);
    }

    @Test
    void groupOfARuleIdFollowsItsPrefix() {
        assertThat(Group.labelOf("PAGING-3")).isEqualTo("paging");
        assertThat(Group.labelOf("INVAL-10")).isEqualTo("invalidation");
        assertThat(Group.labelOf("KIT-SETUP")).isEqualTo(Group.SETUP);
        assertThat(Group.labelOf(null)).isEqualTo(Group.SETUP);
    }
}
