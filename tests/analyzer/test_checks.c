/*
 * test_checks.c — the non-flow rules run in-process on snippets: what they
 * report, with which notes and fix-its, what they leave alone, --strict,
 * and inputs that must not crash them.  (fixtures/ covers the rules case
 * by case through the ps-check binary.)
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checks.h"
#include "parse_snippet.h"
#include "sink.h"

#define PRELUDE                                                                                    \
    "#include <proxystore/proxystore.h>\n"                                                         \
    "#include <stdlib.h>\n"                                                                        \
    "#include <string.h>\n"                                                                        \
    "struct matrix { int n; double d[4]; };\n"                                                     \
    "struct mesh { int k; };\n"
#define PRELUDE_LINES 5

typedef struct result {
    ps_finding **v;
    size_t n;
} result;

static ps_strpool *pool;

static void setup(void)
{
    pool = ps_strpool_new();
    cr_assert_not_null(pool);
}

static void teardown(void)
{
    ps_strpool_free(pool);
}

static result check_tu(CXTranslationUnit tu, bool strict)
{
    ps_sink_config cfg;
    memset(&cfg, 0, sizeof cfg);
    for (int r = 0; r < PS_RULE_COUNT_; r++) {
        const ps_rule_info *info = ps_rule_info_of((ps_rule)r);
        cfg.severity[r] = info->enabled_by_default ? info->default_severity : PS_SEV_OFF;
    }
    if (strict)
        cfg.severity[PS_RULE_UNTYPED_PROXY] = PS_SEV_WARNING;
    cfg.root = "/virtual";
    cfg.pool = pool;
    ps_diag_sink *sink = ps_diag_sink_new(&cfg, tu);
    cr_assert_not_null(sink);
    ps_check_options opts = {.strict = strict};
    ps_check_translation_unit(tu, sink, &opts);
    result r;
    r.n = ps_diag_sink_take(sink, &r.v);
    ps_diag_sink_free(sink);
    return r;
}

static result check_snippet(const char *body, bool strict)
{
    char *src = NULL;
    cr_assert_geq(asprintf(&src, "%s%s", PRELUDE, body), 0);
    snippet s = snippet_parse(src);
    free(src);
    result r = check_tu(s.tu, strict);
    snippet_free(&s);
    return r;
}

static void result_free(result *r)
{
    for (size_t i = 0; i < r->n; i++)
        ps_finding_free(r->v[i]);
    free(r->v);
}

static void dump(const result *r)
{
    for (size_t i = 0; i < r->n; i++)
        cr_log_info("%u:%u %s [%s]", r->v[i]->diag.loc.line, r->v[i]->diag.loc.col,
                    r->v[i]->diag.message, ps_rule_info_of(r->v[i]->diag.rule)->id);
}

/* The only finding, which must be of rule on body line `line` (1-based). */
static ps_diag *only(const result *r, ps_rule rule, unsigned line)
{
    dump(r);
    cr_assert_eq(r->n, 1, "expected exactly one finding, got %zu", r->n);
    ps_diag *d = &r->v[0]->diag;
    cr_assert_eq(d->rule, rule, "rule %s", ps_rule_info_of(d->rule)->id);
    cr_assert_eq(d->loc.line, line + PRELUDE_LINES, "line %u", d->loc.line);
    return d;
}

TestSuite(checks, .init = setup, .fini = teardown);

Test(checks, code_without_proxies_has_no_findings)
{
    result r = check_snippet(
        "typedef struct node { struct node *next; void *data; int (*cmp)(const void *, const void *); } node;\n"
        "static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }\n"
        "void *plain(node *list, struct matrix *m, void *opaque, int c) {\n"
        "  struct matrix copy = *m;\n"
        "  memcpy(&copy, m, sizeof copy);\n"
        "  node n = {.next = list, .data = m, .cmp = cmp_int};\n"
        "  node arr[2] = {{0}, {list, opaque, 0}};\n"
        "  void *p = c ? (void *)m : opaque;\n"
        "  struct matrix *back = p;\n"
        "  free(opaque);\n"
        "  qsort(arr, 2, sizeof arr[0], n.cmp);\n"
        "  (void)back;\n"
        "  return (struct mesh *)list->data;\n"
        "}\n",
        false);
    dump(&r);
    cr_assert_eq(r.n, 0);
    result_free(&r);
}

Test(checks, target_mismatch_with_notes)
{
    result r = check_snippet("void f(PROXY(struct matrix) p) {\n"
                             "  PROXY(struct mesh) q = p;\n"
                             "  (void)q;\n"
                             "}\n",
                             false);
    ps_diag *d = only(&r, PS_RULE_TARGET_MISMATCH, 2);
    cr_assert_str_eq(d->message, "PROXY(struct mesh) initialized with PROXY(struct matrix)");
    cr_assert_eq(d->nnotes, 2);
    cr_assert_str_eq(d->notes[0].message, "'p' declared as PROXY(struct matrix) here");
    cr_assert_eq(d->notes[0].loc.line, 1 + PRELUDE_LINES);
    cr_assert_str_eq(d->notes[1].message, "'q' declared as PROXY(struct mesh) here");
    result_free(&r);
}

Test(checks, unresolved_proxy_has_a_fixit)
{
    result r = check_snippet("void use(struct matrix *m);\n"
                             "void f(PROXY(struct matrix) p) {\n"
                             "  use(p);\n"
                             "}\n",
                             false);
    ps_diag *d = only(&r, PS_RULE_UNRESOLVED_PROXY, 3);
    cr_assert_str_eq(d->message, "proxy 'p' (PROXY(struct matrix)) passed to parameter 'm' of "
                                 "type 'struct matrix *' without resolving it");
    cr_assert_eq(d->nfixits, 1);
    cr_assert_str_eq(d->fixits[0].text, "PS_RESOLVE(struct matrix, p)");
    cr_assert_eq(d->fixits[0].begin.col, 7);
    cr_assert_eq(d->fixits[0].end.col, 8);
    result_free(&r);
}

Test(checks, free_of_a_proxy_suggests_ps_proxy_free)
{
    result r = check_snippet("void f(PROXY(struct matrix) p) {\n"
                             "  free(p);\n"
                             "}\n",
                             false);
    ps_diag *d = only(&r, PS_RULE_UNRESOLVED_PROXY, 2);
    cr_assert_eq(d->nfixits, 1);
    cr_assert_str_eq(d->fixits[0].text, "ps_proxy_free");
    cr_assert_eq(d->fixits[0].begin.col, 3);
    cr_assert_eq(d->fixits[0].end.col, 7);
    result_free(&r);
}

Test(checks, or_rules)
{
    result r = check_snippet("double sum(PROXY_OR(struct matrix) m);\n"
                             "void f(struct mesh *g) { sum(g); }\n",
                             false);
    ps_diag *d = only(&r, PS_RULE_OR_MISMATCH, 2);
    cr_assert_str_eq(d->message,
                     "'struct mesh *' passed to parameter 'm' of type PROXY_OR(struct matrix)");
    result_free(&r);

    r = check_snippet("void use(struct matrix *m);\n"
                      "void f(PROXY_OR(struct matrix) x) { use(x); }\n",
                      false);
    d = only(&r, PS_RULE_UNRESOLVED_OR, 2);
    cr_assert_eq(d->nfixits, 1);
    cr_assert_str_eq(d->fixits[0].text, "PS_RESOLVE_OR(struct matrix, x)");
    result_free(&r);
}

Test(checks, resolve_and_create_mismatches)
{
    result r = check_snippet("void f(PROXY(struct matrix) p) {\n"
                             "  struct mesh *g = PS_RESOLVE(struct mesh, p); (void)g;\n"
                             "}\n",
                             false);
    ps_diag *d = only(&r, PS_RULE_RESOLVE_MISMATCH, 2);
    cr_assert_str_eq(d->message, "proxy 'p' (PROXY(struct matrix)) resolved as 'struct mesh'");
    result_free(&r);

    r = check_snippet("PS_TYPE_POD_DEFINE(mesh_type, struct mesh);\n"
                      "void f(ps_store *s, struct mesh *g) {\n"
                      "  PROXY(struct matrix) p = ps_proxy(s, &mesh_type, g); ps_proxy_free(p);\n"
                      "}\n",
                      false);
    d = only(&r, PS_RULE_CREATE_MISMATCH, 3);
    cr_assert_str_eq(d->message, "PROXY(struct matrix) initialized with a proxy of 'struct mesh' "
                                 "(descriptor 'mesh_type')");
    cr_assert_eq(d->nnotes, 2);
    cr_assert_str_eq(d->notes[0].message, "descriptor 'mesh_type' describes 'struct mesh' here");
    cr_assert_eq(d->notes[0].loc.line, 1 + PRELUDE_LINES);
    result_free(&r);
}

Test(checks, annotation_rule)
{
    result r = check_snippet("PROXY(void) v;\n", false);
    ps_diag *d = only(&r, PS_RULE_ANNOTATION, 1);
    cr_assert_str_eq(d->message, "PROXY(void): a proxy's target must be an object type, not void");
    cr_assert_eq(d->loc.col, 13, "reported at the declared name");
    result_free(&r);
}

Test(checks, strict_reports_untyped_proxies_only_when_asked)
{
    const char *body = "ps_proxy_t *bare;\n"
                       "void f(PROXY(struct matrix) p) { (void)p; }\n";
    result r = check_snippet(body, false);
    cr_assert_eq(r.n, 0);
    result_free(&r);
    r = check_snippet(body, true);
    ps_diag *d = only(&r, PS_RULE_UNTYPED_PROXY, 1);
    cr_assert_str_eq(d->message, "'bare' is an unannotated proxy (ps_proxy_t *); declare it with "
                                 "PROXY(T) so its target is checked");
    result_free(&r);
}

Test(checks, macro_uses_are_reported_where_the_macro_is_used)
{
    result r = check_snippet("void mesh_step(PROXY(struct mesh) g);\n"
                             "#define RUN(x) mesh_step(x)\n"
                             "#define HIDDEN() mesh_step(matrix_global)\n"
                             "extern PROXY(struct matrix) matrix_global;\n"
                             "void f(void) {\n"
                             "  HIDDEN();\n"
                             "}\n",
                             false);
    ps_diag *d = only(&r, PS_RULE_TARGET_MISMATCH, 6);
    cr_assert_eq(d->loc.col, 3, "the expansion site");
    result_free(&r);
}

Test(checks, broken_code_does_not_crash)
{
    /* KeepGoing ASTs with holes: unknown types, missing declarations. */
    const char *src = "#include <proxystore/proxystore.h>\n"
                      "struct matrix { int n; };\n"
                      "void f(PROXY(struct matrix) p, PROXY(struct nosuch) q) {\n"
                      "  undeclared(p, q);\n"
                      "  struct nosuch *x = p;\n"
                      "  PROXY(unknown_t) r = q;\n"
                      "  struct matrix m = { .nosuch = p, 1, 2, 3 };\n"
                      "  return p;\n"
                      "}\n";
    CXIndex index = clang_createIndex(0, 0);
    const char *args[] = {"-D__PS_CHECK__", "-I", PS_ANNOTATIONS_DIR, "-I",
                          PS_SOURCE_DIR "/runtime/include", "-resource-dir", PS_CLANG_RESOURCE_DIR};
    struct CXUnsavedFile file = {"/virtual/broken.c", src, (unsigned long)strlen(src)};
    CXTranslationUnit tu = NULL;
    cr_assert_eq(clang_parseTranslationUnit2(index, "/virtual/broken.c", args, 7, &file, 1,
                                             CXTranslationUnit_KeepGoing, &tu),
                 CXError_Success);
    result r = check_tu(tu, true);
    result_free(&r); /* whatever it found, it got here */
    ps_check_translation_unit(NULL, NULL, NULL);
    clang_disposeTranslationUnit(tu);
    clang_disposeIndex(index);
}
