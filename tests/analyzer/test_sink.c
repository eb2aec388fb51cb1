/*
 * test_sink.c — the diagnostic sink on real translation units: where a
 * finding lands (expansion site, macro argument spelling), which findings
 * are dropped (rule off, system header, outside the tree, suppressed,
 * duplicate), notes, fix-its, and clang's own errors.
 */
#include <clang-c/Index.h>
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "parse_snippet.h"
#include "run_check.h"
#include "sink.h"

typedef struct fixture {
    char *tree, *outside;
    CXIndex index;
    CXTranslationUnit tu;
    ps_sink_config cfg;
    ps_diag_sink *sink;
} fixture;

static fixture fx;

static void severities_default(ps_sink_config *cfg)
{
    for (int r = 0; r < PS_RULE_COUNT_; r++)
        cfg->severity[r] = ps_rule_info_of((ps_rule)r)->default_severity;
}

/* Parses tree/main.c (written from src) with headers in tree/inc,
 * tree/sys (a system dir) and an outside directory. */
static void parse(const char *src)
{
    fx.tree = scratch_dir();
    fx.outside = scratch_dir();
    free(write_file(fx.tree, "inc/local.h",
                    "#define DECLARE(name) int name = 0\n"
                    "#define MAKE_BAD int bad_in_macro = 1\n"
                    "static int bad_in_header = 2;\n"));
    free(write_file(fx.tree, "sys/system.h", "static int bad_in_system = 3;\n"));
    free(write_file(fx.outside, "outside.h", "static int bad_outside = 4;\n"));
    char *main_c = write_file(fx.tree, "main.c", src);
    char inc[512], sys[512];
    snprintf(inc, sizeof inc, "-I%s/inc", fx.tree);
    snprintf(sys, sizeof sys, "-isystem%s/sys", fx.tree);
    char out[512];
    snprintf(out, sizeof out, "-I%s", fx.outside);
    const char *args[] = {inc, sys, out, "-resource-dir", PS_CLANG_RESOURCE_DIR};
    fx.index = clang_createIndex(0, 0);
    cr_assert_eq(clang_parseTranslationUnit2(fx.index, main_c, args, 5, NULL, 0,
                                             CXTranslationUnit_KeepGoing, &fx.tu),
                 CXError_Success);
    free(main_c);
    severities_default(&fx.cfg);
    fx.cfg.root = fx.tree;
    fx.cfg.pool = ps_strpool_new();
    fx.sink = ps_diag_sink_new(&fx.cfg, fx.tu);
    cr_assert_not_null(fx.sink);
}

static void teardown(void)
{
    ps_diag_sink_free(fx.sink);
    if (fx.tu)
        clang_disposeTranslationUnit(fx.tu);
    if (fx.index)
        clang_disposeIndex(fx.index);
    ps_strpool_free(fx.cfg.pool);
    scratch_remove(fx.tree);
    scratch_remove(fx.outside);
    memset(&fx, 0, sizeof fx);
}

static bool is_var_or_ref(enum CXCursorKind k)
{
    return k == CXCursor_VarDecl || k == CXCursor_DeclRefExpr;
}

/* The first declaration of, or reference to, name. */
static CXCursor cursor(const char *name)
{
    return find_cursor(fx.tu, name, is_var_or_ref, FIND_FIRST);
}

static ps_finding *report(ps_rule rule, const char *name)
{
    return (ps_finding *)ps_diag_report(fx.sink, rule, cursor(name), "finding on %s", name);
}

Test(sink, location_line_text_and_extent, .fini = teardown)
{
    parse("int x;\n"
          "int  bad = 7;\n");
    ps_finding *f = report(PS_RULE_LEAK, "bad");
    cr_assert_not_null(f);
    cr_assert_eq(f->diag.loc.line, 2);
    cr_assert_eq(f->diag.loc.col, 6);
    cr_assert(strstr(f->diag.loc.file, "/main.c"));
    cr_assert_eq(f->diag.loc.file[0], '/', "absolute path");
    cr_assert_str_eq(f->diag.message, "finding on bad");
    cr_assert_str_eq(f->line_text, "int  bad = 7;");
    cr_assert_eq(f->end_col, 13, "the declaration's extent ends after '7'");
    cr_assert_eq(f->diag.severity, PS_SEV_WARNING, "ps-leak's default severity");
}

Test(sink, macro_argument_and_macro_body_locations, .fini = teardown)
{
    parse("#include \"local.h\"\n"
          "void f(void) {\n"
          "    DECLARE(bad_arg);\n"
          "    MAKE_BAD;\n"
          "}\n");
    ps_finding *f = report(PS_RULE_TARGET_MISMATCH, "bad_arg");
    cr_assert_not_null(f);
    cr_assert_eq(f->diag.loc.line, 3);
    cr_assert_eq(f->diag.loc.col, 13, "where the argument is spelled, not the macro name");
    cr_assert(strstr(f->diag.loc.file, "/main.c"));
    ps_finding *g = report(PS_RULE_TARGET_MISMATCH, "bad_in_macro");
    cr_assert_not_null(g);
    cr_assert_eq(g->diag.loc.line, 4, "a name from the macro body: the expansion site");
    cr_assert_eq(g->diag.loc.col, 5);
    cr_assert(strstr(g->diag.loc.file, "/main.c"));
}

Test(sink, dropped_outside_tree_and_in_system_headers, .fini = teardown)
{
    parse("#include \"local.h\"\n"
          "#include <system.h>\n"
          "#include <outside.h>\n"
          "int use(void) { return bad_in_header + bad_in_system + bad_outside; }\n");
    ps_finding *in_tree = report(PS_RULE_LEAK, "bad_in_header");
    cr_assert_not_null(in_tree, "a header inside the tree is reported");
    cr_assert(strstr(in_tree->diag.loc.file, "/inc/local.h"));
    cr_assert_null(report(PS_RULE_LEAK, "bad_in_system"));
    cr_assert_null(report(PS_RULE_LEAK, "bad_outside"));
}

Test(sink, main_file_outside_the_tree_is_kept, .fini = teardown)
{
    parse("#include \"local.h\"\n"
          "int bad = 1;\n"
          "void f(void) { MAKE_BAD; }\n");
    /* A sink whose tree is elsewhere: the input file itself still counts,
     * also where a macro from an (outside) header expands in it. */
    ps_sink_config other = fx.cfg;
    other.root = fx.outside;
    ps_diag_sink *sink = ps_diag_sink_new(&other, fx.tu);
    cr_assert_not_null(ps_diag_report(sink, PS_RULE_LEAK, cursor("bad"), "m"));
    ps_diag *d = ps_diag_report(sink, PS_RULE_LEAK, cursor("bad_in_macro"), "m");
    cr_assert_not_null(d);
    cr_assert_eq(d->loc.line, 3);
    cr_assert_null(ps_diag_report(sink, PS_RULE_LEAK, cursor("bad_in_header"), "m"),
                   "the header is outside this sink's tree");
    ps_diag_sink_free(sink);
}

Test(sink, rule_off_and_suppressions, .fini = teardown)
{
    parse("int a1 = 0; // ps-check-ignore: ps-leak\n"
          "/* ps-check-ignore: ps-double-free, ps-leak */\n"
          "int a2 = 0;\n"
          "\n"
          "int a3 = 0; // ps-check-ignore: ps-borrow\n"
          "int a4 = 0;\n");
    cr_assert_null(report(PS_RULE_LEAK, "a1"), "same line");
    cr_assert_null(report(PS_RULE_LEAK, "a2"), "line before");
    cr_assert_null(report(PS_RULE_DOUBLE_FREE, "a2"), "both rules of a list");
    cr_assert_not_null(report(PS_RULE_LEAK, "a3"), "another rule's suppression");
    cr_assert_not_null(report(PS_RULE_LEAK, "a4"), "only one line below");
    fx.cfg.severity[PS_RULE_DOUBLE_FREE] = PS_SEV_OFF;
    cr_assert_null(report(PS_RULE_DOUBLE_FREE, "a4"), "rule off");
    fx.cfg.severity[PS_RULE_USE_AFTER_FREE] = PS_SEV_NOTE;
    ps_finding *f = report(PS_RULE_USE_AFTER_FREE, "a4");
    cr_assert_eq(f->diag.severity, PS_SEV_NOTE, "configured severity");
}

Test(sink, duplicates_notes_fixits_and_take, .fini = teardown)
{
    parse("int target;\n"
          "int bad = 1;\n");
    ps_diag *d = ps_diag_report(fx.sink, PS_RULE_TARGET_MISMATCH, cursor("bad"), "m %d", 1);
    cr_assert_not_null(d);
    cr_assert_null(ps_diag_report(fx.sink, PS_RULE_TARGET_MISMATCH, cursor("bad"), "m %d", 1),
                   "an identical finding is dropped");
    cr_assert_not_null(ps_diag_report(fx.sink, PS_RULE_TARGET_MISMATCH, cursor("bad"), "m %d", 2));
    ps_diag_note(fx.sink, d, cursor("target"), "'%s' declared here", "target");
    ps_diag_fixit(fx.sink, d, clang_getCursorExtent(cursor("target")), "int other");
    cr_assert_eq(d->nnotes, 1);
    cr_assert_eq(d->notes[0].loc.line, 1);
    cr_assert_str_eq(d->notes[0].message, "'target' declared here");
    cr_assert_str_eq(((ps_finding *)d)->note_lines[0], "int target;");
    cr_assert_eq(d->nfixits, 1);
    cr_assert_eq(d->fixits[0].begin.col, 1);
    cr_assert_eq(d->fixits[0].end.col, 11);
    cr_assert_str_eq(d->fixits[0].text, "int other");
    /* Calls with NULL are harmless (a dropped finding's return value). */
    ps_diag_note(fx.sink, NULL, cursor("target"), "x");
    ps_diag_fixit(fx.sink, NULL, clang_getCursorExtent(cursor("target")), "x");

    ps_finding **items;
    size_t n = ps_diag_sink_take(fx.sink, &items);
    cr_assert_eq(n, 2);
    cr_assert_eq((void *)items[0], (void *)d);
    for (size_t i = 0; i < n; i++)
        ps_finding_free(items[i]);
    free(items);
    cr_assert_eq(ps_diag_sink_take(fx.sink, &items), 0, "the sink is empty after take");
    free(items);
}

Test(sink, file_names_are_interned, .fini = teardown)
{
    parse("int b1 = 0;\nint b2 = 0;\n");
    ps_finding *a = report(PS_RULE_LEAK, "b1");
    ps_finding *b = report(PS_RULE_LEAK, "b2");
    cr_assert_eq(a->diag.loc.file, b->diag.loc.file);
    ps_diag_sink *other = ps_diag_sink_new(&fx.cfg, fx.tu);
    ps_diag *c = ps_diag_report(other, PS_RULE_LEAK, cursor("b1"), "m");
    cr_assert_eq(c->loc.file, a->diag.loc.file, "the same pointer across sinks");
    ps_diag_sink_free(other);
}

Test(sink, clang_errors_become_parse_error_findings, .fini = teardown)
{
    parse("#include \"missing.h\"\n"
          "int f(void) { return undeclared; }\n");
    cr_assert_eq(ps_diag_sink_add_clang_errors(fx.sink), 2);
    ps_finding **items;
    size_t n = ps_diag_sink_take(fx.sink, &items);
    cr_assert_eq(n, 2);
    cr_assert_eq(items[0]->diag.rule, PS_RULE_PARSE_ERROR);
    cr_assert_eq(items[0]->diag.loc.line, 1);
    cr_assert_eq(items[0]->diag.loc.col, 10);
    cr_assert_str_eq(items[0]->diag.message, "'missing.h' file not found");
    cr_assert_eq(items[1]->diag.loc.line, 2);
    cr_assert(strstr(items[1]->diag.message, "undeclared"));
    for (size_t i = 0; i < n; i++)
        ps_finding_free(items[i]);
    free(items);
}

Test(sink, failure_without_a_tu)
{
    ps_sink_config cfg = {0};
    severities_default(&cfg);
    cfg.root = "/";
    cfg.pool = ps_strpool_new();
    ps_diag_sink *sink = ps_diag_sink_new(&cfg, NULL);
    ps_diag_sink_add_failure(sink, "/x/y.c", "cannot read file: %s", "gone");
    ps_finding **items;
    cr_assert_eq(ps_diag_sink_take(sink, &items), 1);
    cr_assert_eq(items[0]->diag.loc.line, 0);
    cr_assert_str_eq(items[0]->diag.loc.file, "/x/y.c");
    cr_assert_str_eq(items[0]->diag.message, "cannot read file: gone");
    ps_finding_free(items[0]);
    free(items);
    ps_diag_sink_free(sink);
    ps_strpool_free(cfg.pool);
}
