/*
 * test_summary_table.c — the table of function summaries the files of one
 * run share: sorted by USR, the first file to define a function wins,
 * absent lookups kept apart from present ones, equality over every part a
 * call site reads.
 */
#include <criterion/criterion.h>
#include <string.h>

#include "summary_table.h"

static ps_summary releasing(unsigned nparams)
{
    ps_summary s;
    ps_summary_unknown(&s, nparams);
    s.effect[0] = PS_EFFECT_RELEASE;
    s.proxy_params = 1;
    return s;
}

Test(summary_table, unknown_is_every_parameter_a_move)
{
    ps_summary s;
    ps_summary_unknown(&s, 3);
    cr_assert_eq(s.nparams, 3);
    for (unsigned i = 0; i < PS_SUMMARY_MAX_PARAMS; i++)
        cr_assert_eq(s.effect[i], PS_EFFECT_MOVE);
    cr_assert_not(s.returns_new);
    cr_assert_eq(s.nfields, 0);
    ps_summary_unknown(&s, 1000);
    cr_assert_eq(s.nparams, PS_SUMMARY_MAX_PARAMS, "clamped to what a summary holds");
}

Test(summary_table, sorted_lookup_and_first_definition_wins)
{
    ps_summary_table t = {0};
    ps_summary a = releasing(1), b = releasing(1);
    b.effect[0] = PS_EFFECT_BORROW;
    cr_assert_eq(ps_summary_table_add(&t, "c:@F@zeta", &a), 0);
    cr_assert_eq(ps_summary_table_add(&t, "c:@F@alpha", &b), 0);
    cr_assert_eq(ps_summary_table_add(&t, "c:@F@zeta", &b), 0); /* a later file: loses */
    cr_assert_eq(ps_summary_table_add(&t, "c:@F@gone", NULL), 0);
    cr_assert_null(ps_summary_table_find(&t, "c:@F@zeta"), "not sorted yet: no lookups");
    ps_summary_table_sort(&t);
    cr_assert_eq(t.n, 3);
    const ps_summary_entry *z = ps_summary_table_find(&t, "c:@F@zeta");
    cr_assert_not_null(z);
    cr_assert(z->present);
    cr_assert_eq(z->s.effect[0], PS_EFFECT_RELEASE, "the first added of equal USRs");
    const ps_summary_entry *g = ps_summary_table_find(&t, "c:@F@gone");
    cr_assert_not_null(g);
    cr_assert_not(g->present, "a lookup that found nothing");
    cr_assert_null(ps_summary_table_find(&t, "c:@F@other"));
    ps_summary_table_clear(&t);
    cr_assert_eq(t.n, 0);
    cr_assert_null(ps_summary_table_find(&t, "c:@F@zeta"));
}

Test(summary_table, add_all_tags_the_source_and_copy_keeps_it)
{
    ps_summary_table from = {0}, all = {0}, copy = {0};
    ps_summary s = releasing(2);
    cr_assert_eq(ps_summary_table_add(&from, "c:@F@f", &s), 0);
    cr_assert_eq(ps_summary_table_add(&from, "c:@F@g", NULL), 0);
    cr_assert_eq(ps_summary_table_add_all(&all, &from, 7), 0);
    ps_summary_table_sort(&all);
    cr_assert_eq(ps_summary_table_find(&all, "c:@F@f")->source, 7);
    cr_assert_not(ps_summary_table_find(&all, "c:@F@g")->present);
    cr_assert_eq(ps_summary_table_copy(&copy, &all), 0);
    const ps_summary_entry *f = ps_summary_table_find(&copy, "c:@F@f");
    cr_assert_not_null(f);
    cr_assert_eq(f->source, 7);
    cr_assert(ps_summary_equal(&f->s, &s));
    ps_summary_table_clear(&from);
    ps_summary_table_clear(&all);
    ps_summary_table_clear(&copy);
}

Test(summary_table, equality_sees_effects_results_and_fields)
{
    ps_summary a = releasing(2), b = releasing(2);
    cr_assert(ps_summary_equal(&a, &b));
    b.effect[1] = PS_EFFECT_BORROW;
    cr_assert_not(ps_summary_equal(&a, &b));
    b = a;
    b.returns_new = true;
    cr_assert_not(ps_summary_equal(&a, &b));
    b = a;
    a.nfields = b.nfields = 1;
    a.fields[0] = (ps_field_effect){.param = 0, .effect = PS_EFFECT_RELEASE};
    b.fields[0] = a.fields[0];
    strcpy(a.fields[0].usr, "c:@S@job@FI@input");
    strcpy(b.fields[0].usr, "c:@S@job@FI@input");
    cr_assert(ps_summary_equal(&a, &b));
    strcpy(b.fields[0].usr, "c:@S@job@FI@output");
    cr_assert_not(ps_summary_equal(&a, &b), "another field");
    b = a;
    b.fields_kept = 1;
    cr_assert_not(ps_summary_equal(&a, &b));
}
