/*
 * test_baseline.c — fingerprints, ordering and deduplication of findings,
 * and baselines: parse errors, matching by content and count, round trip.
 */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "baseline.h"
#include "findings.h"
#include "reject_cases.h"
#include "run_check.h"

static const char *const FILE_A = "/repo/src/a.c";
static const char *const FILE_B = "/repo/src/b.c";

static ps_finding *mk(ps_rule rule, const char *file, unsigned line, unsigned col,
                      const char *msg, const char *text)
{
    ps_finding *f = ps_finding_new(rule, PS_SEV_ERROR, file, line, col, msg);
    cr_assert_not_null(f);
    f->line_text = text ? strdup(text) : NULL;
    return f;
}

static void add(ps_findings *list, ps_finding *f)
{
    ps_finding **one = malloc(sizeof *one);
    one[0] = f;
    cr_assert_eq(ps_findings_take(list, one, 1), 0);
}

Test(fingerprint, ignores_indentation_but_not_content)
{
    char a[17], b[17], c[17], d[17], e[17];
    ps_fingerprint("ps-leak", "src/a.c", "    x = p;", "msg", a);
    ps_fingerprint("ps-leak", "src/a.c", "\tx  =   p;  ", "msg", b);
    ps_fingerprint("ps-leak", "src/a.c", "x = q;", "msg", c);
    ps_fingerprint("ps-borrow", "src/a.c", "x = p;", "msg", d);
    ps_fingerprint("ps-leak", "src/b.c", "x = p;", "msg", e);
    cr_assert_str_eq(a, b);
    cr_assert_str_neq(a, c);
    cr_assert_str_neq(a, d);
    cr_assert_str_neq(a, e);
    cr_assert_eq(strlen(a), 16);
    char *n = ps_fingerprint_normalize_line("  a \t b  ");
    cr_assert_str_eq(n, "a b");
    free(n);
}

Test(fingerprint, field_boundaries_matter)
{
    char a[17], b[17];
    ps_fingerprint("r", "ab", "c", "m", a);
    ps_fingerprint("r", "a", "bc", "m", b);
    cr_assert_str_neq(a, b);
}

Test(findings, sorted_deduplicated_and_numbered)
{
    ps_findings list = {0};
    add(&list, mk(PS_RULE_LEAK, FILE_B, 3, 1, "m", "x;"));
    add(&list, mk(PS_RULE_LEAK, FILE_A, 9, 2, "m", "y;"));
    add(&list, mk(PS_RULE_BORROW, FILE_A, 9, 2, "m", "y;"));
    add(&list, mk(PS_RULE_LEAK, FILE_A, 9, 2, "m", "y;")); /* a duplicate from another TU */
    add(&list, mk(PS_RULE_LEAK, FILE_A, 2, 5, "m", "y;"));
    ps_findings_finish(&list, "/repo");
    cr_assert_eq(list.len, 4);
    cr_assert_eq(list.items[0]->diag.loc.line, 2);
    cr_assert_eq(list.items[1]->diag.rule, PS_RULE_LEAK);
    cr_assert_eq(list.items[1]->diag.loc.line, 9);
    cr_assert_eq(list.items[2]->diag.rule, PS_RULE_BORROW);
    cr_assert_str_eq(list.items[3]->diag.loc.file, FILE_B);
    /* Lines 2 and 9 of a.c hold the same text: one fingerprint, two occurrences. */
    cr_assert_str_eq(list.items[0]->fingerprint, list.items[1]->fingerprint);
    cr_assert_eq(list.items[0]->occurrence, 1);
    cr_assert_eq(list.items[1]->occurrence, 2);
    cr_assert_eq(list.items[2]->occurrence, 1);
    char expect[17];
    ps_fingerprint("ps-leak", "src/b.c", "x;", "m", expect);
    cr_assert_str_eq(list.items[3]->fingerprint, expect, "the file is repo-relative");
    ps_findings_clear(&list);
}

static int parse(ps_baseline *bl, const char *text, char *err)
{
    return ps_baseline_parse(bl, text, strlen(text), "base.json", err, 512);
}

static int reject_baseline(const char *text, char *err, size_t errlen, void *arg)
{
    (void)arg;
    ps_baseline bl;
    int rc = ps_baseline_parse(&bl, text, strlen(text), "base.json", err, errlen);
    if (rc != 0)
        cr_assert_null(bl.entries, "a refused baseline holds nothing: %s", text);
    ps_baseline_free(&bl);
    return rc;
}

Test(baseline, malformed)
{
    static const reject_case cases[] = {
        {"{", "base.json:1:2: invalid JSON: unexpected end of file"},
        {"[]", "not a ps-check baseline"},
        {"{\"findings\": []}", "unsupported baseline version"},
        {"{\"version\": 2, \"findings\": []}", "unsupported baseline version"},
        {"{\"version\": 1, \"findings\": [{\"fingerprint\": \"xyz\"}]}", "16 hex digits"},
        {"{\"version\": 1, \"findings\": [{\"fingerprint\": \"0123456789abcdef\", \"count\": 0}]}",
         "positive integer"},
        {"{\"version\": 1, \"findings\": [{\"fingerprint\": \"0123456789abcdef\", \"count\": \"2\"}]}",
         "positive integer"},
    };
    EXPECT_REJECTED(cases, reject_baseline, NULL);
}

Test(baseline, hides_up_to_count_matches)
{
    ps_findings list = {0};
    add(&list, mk(PS_RULE_LEAK, FILE_A, 10, 1, "m", "x;"));
    add(&list, mk(PS_RULE_LEAK, FILE_A, 20, 1, "m", "x;"));
    add(&list, mk(PS_RULE_LEAK, FILE_A, 30, 1, "m", "x;"));
    add(&list, mk(PS_RULE_BORROW, FILE_A, 40, 1, "other", "z;"));
    ps_findings_finish(&list, "/repo");
    char text[256];
    snprintf(text, sizeof text, "{\"version\": 1, \"findings\": [{\"fingerprint\": \"%s\", "
                                "\"count\": 2}]}", list.items[0]->fingerprint);
    ps_baseline bl;
    char err[512];
    cr_assert_eq(parse(&bl, text, err), 0, "%s", err);
    cr_assert_eq(ps_baseline_apply(&bl, &list), 2);
    cr_assert_eq(list.len, 2);
    cr_assert_eq(list.items[0]->diag.loc.line, 30, "the extra occurrence is reported");
    cr_assert_eq(list.items[1]->diag.rule, PS_RULE_BORROW);
    ps_baseline_free(&bl);
    ps_findings_clear(&list);
}

Test(baseline, write_then_load_round_trip)
{
    char *dir = scratch_dir();
    char *path = NULL;
    cr_assert_geq(asprintf(&path, "%s/base.json", dir), 0);
    ps_findings list = {0};
    add(&list, mk(PS_RULE_LEAK, FILE_A, 10, 1, "m", "x;"));
    add(&list, mk(PS_RULE_LEAK, FILE_A, 20, 1, "m", "x;"));
    add(&list, mk(PS_RULE_BORROW, FILE_B, 5, 1, "n", "y;"));
    ps_findings_finish(&list, "/repo");
    char err[512];
    cr_assert_eq(ps_baseline_write(&list, "/repo", path, err, sizeof err), 0, "%s", err);
    char *text = slurp(path);
    cr_assert(strstr(text, "\"file\":\t\"src/a.c\""), "%s", text);
    cr_assert(strstr(text, "\"count\":\t2"), "%s", text);
    free(text);

    ps_baseline bl;
    cr_assert_eq(ps_baseline_load(&bl, path, err, sizeof err), 0, "%s", err);
    cr_assert_eq(bl.len, 2);
    /* The same findings, moved to other lines, are all covered. */
    ps_findings moved = {0};
    add(&moved, mk(PS_RULE_LEAK, FILE_A, 110, 1, "m", "  x;"));
    add(&moved, mk(PS_RULE_LEAK, FILE_A, 120, 1, "m", "x;"));
    add(&moved, mk(PS_RULE_BORROW, FILE_B, 50, 1, "n", "y;"));
    ps_findings_finish(&moved, "/repo");
    cr_assert_eq(ps_baseline_apply(&bl, &moved), 3);
    cr_assert_eq(moved.len, 0);
    ps_baseline_free(&bl);
    ps_findings_clear(&moved);
    ps_findings_clear(&list);

    cr_assert_eq(ps_baseline_write(&list, "/repo", "/nonexistent/dir/b.json", err, sizeof err), -1);
    cr_assert_eq(ps_baseline_load(&bl, "/nonexistent/b.json", err, sizeof err), -1);
    cr_assert(strstr(err, "cannot read baseline"), "%s", err);
    free(path);
    scratch_remove(dir);
}
