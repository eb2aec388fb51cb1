/*
 * test_cfg.c — the control-flow graph builder: for each construct, which
 * blocks the statements land in and how those blocks connect.
 *
 * Snippets mark their statements with calls to functions of one letter
 * (a(), b(), ...); block_of() finds the block evaluating such a call.
 */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "parse_snippet.h"
#include "proxytype.h"

#define PRELUDE                                                                                    \
    "#include <stdlib.h>\n"                                                                        \
    "int a(void); int b(void); int c(void); int d(void); int e(void); int g(void);\n"              \
    "__attribute__((noreturn)) void die(const char *why);\n"                                       \
    "_Noreturn void stop(void);\n"

typedef struct graph {
    snippet s;
    ps_cfg *cfg;
} graph;

static graph build(const char *body)
{
    size_t n = strlen(PRELUDE) + strlen(body) + 1;
    char *src = malloc(n);
    cr_assert_not_null(src);
    snprintf(src, n, "%s%s", PRELUDE, body);
    graph gr;
    gr.s = snippet_parse(src);
    free(src); /* libclang copied the unsaved file */
    ps_cfg_status st = ps_cfg_build(snippet_decl(&gr.s, "f"), 0, &gr.cfg);
    cr_assert_eq(st, PS_CFG_OK, "the CFG was not built (status %d)", (int)st);
    return gr;
}

static void done(graph *gr)
{
    ps_cfg_free(gr->cfg);
    snippet_free(&gr->s);
}

typedef struct call_search {
    const char *name;
    bool found;
} call_search;

static bool is_call_to(CXCursor c, const char *name)
{
    if (clang_getCursorKind(c) != CXCursor_CallExpr)
        return false;
    CXString s = clang_getCursorSpelling(c);
    bool hit = strcmp(clang_getCString(s), name) == 0;
    clang_disposeString(s);
    return hit;
}

static enum CXChildVisitResult find_call(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    call_search *cs = data;
    if (is_call_to(c, cs->name)) {
        cs->found = true;
        return CXChildVisit_Break;
    }
    /* Nested split-out parts live in their own blocks. */
    if (clang_getCursorKind(c) == CXCursor_ConditionalOperator ||
        clang_getCursorKind(c) == CXCursor_StmtExpr)
        return CXChildVisit_Continue;
    return CXChildVisit_Recurse;
}

static bool elem_calls(const ps_cfg_elem *el, const char *name)
{
    if (el->kind == PS_CFG_END)
        return false;
    if (is_call_to(el->cursor, name))
        return true;
    if (el->kind == PS_CFG_SHALLOW)
        return false;
    call_search cs = {name, false};
    clang_visitChildren(el->cursor, find_call, &cs);
    return cs.found;
}

/* The block that evaluates a call to name (exactly one must). */
static size_t block_of(const graph *gr, const char *name)
{
    size_t found = SIZE_MAX;
    for (size_t b = 0; b < gr->cfg->nblocks; b++)
        for (size_t i = 0; i < gr->cfg->blocks[b].nelems; i++)
            if (elem_calls(&gr->cfg->blocks[b].elems[i], name)) {
                cr_assert(found == SIZE_MAX || found == b, "%s() is in blocks %zu and %zu", name,
                          found, b);
                found = b;
            }
    cr_assert_neq(found, SIZE_MAX, "no block calls %s()", name);
    return found;
}

static bool has_edge(const graph *gr, size_t from, size_t to)
{
    const ps_cfg_block *blk = &gr->cfg->blocks[from];
    for (size_t i = 0; i < blk->nsucc; i++)
        if (blk->succ[i] == to)
            return true;
    return false;
}

/* Is there a path from -> to (of one edge or more)? */
static bool path(const graph *gr, size_t from, size_t to)
{
    return ps_cfg_path(gr->cfg, from, to);
}

/* The block that reaches the closing brace. */
static size_t end_block(const graph *gr)
{
    for (size_t b = 0; b < gr->cfg->nblocks; b++)
        for (size_t i = 0; i < gr->cfg->blocks[b].nelems; i++)
            if (gr->cfg->blocks[b].elems[i].kind == PS_CFG_END)
                return b;
    cr_assert_fail("no end block");
    return 0;
}

static bool reachable(const graph *gr, size_t b)
{
    return ps_cfg_reachable(gr->cfg, b);
}

Test(cfg, straight_line_is_one_block)
{
    graph gr = build("void f(void) { a(); b(); }");
    size_t ba = block_of(&gr, "a");
    cr_assert_eq(ba, block_of(&gr, "b"));
    cr_assert(has_edge(&gr, PS_CFG_ENTRY, ba));
    size_t end = end_block(&gr);
    cr_assert(has_edge(&gr, ba, end));
    cr_assert(has_edge(&gr, end, PS_CFG_EXIT));
    cr_assert_eq(gr.cfg->blocks[PS_CFG_EXIT].nsucc, 0);
    const ps_cfg_block *blk = &gr.cfg->blocks[ba];
    cr_assert_eq(blk->nelems, 2);
    cr_assert(is_call_to(blk->elems[0].cursor, "a"), "elements keep their order");
    done(&gr);
}

Test(cfg, if_else_branches_and_joins)
{
    graph gr = build("void f(void) { if (c()) a(); else b(); d(); }");
    size_t bc = block_of(&gr, "c"), ba = block_of(&gr, "a"), bb = block_of(&gr, "b"),
           bd = block_of(&gr, "d");
    const ps_cfg_block *head = &gr.cfg->blocks[bc];
    cr_assert_eq(head->term, PS_CFG_BRANCH);
    cr_assert(is_call_to(head->cond, "c"));
    cr_assert_eq(head->nsucc, 2);
    cr_assert_eq(head->succ[0], ba, "true goes to the then branch");
    cr_assert_eq(head->succ[1], bb, "false goes to the else branch");
    cr_assert(path(&gr, ba, bd) && path(&gr, bb, bd));
    cr_assert_not(path(&gr, ba, bb));
    done(&gr);
}

Test(cfg, if_without_else_falls_to_the_join)
{
    graph gr = build("void f(void) { if (c()) a(); d(); }");
    size_t bc = block_of(&gr, "c"), bd = block_of(&gr, "d");
    cr_assert_eq(gr.cfg->blocks[bc].succ[0], block_of(&gr, "a"));
    cr_assert(path(&gr, gr.cfg->blocks[bc].succ[1], bd) || gr.cfg->blocks[bc].succ[1] == bd);
    cr_assert_not(path(&gr, gr.cfg->blocks[bc].succ[1], block_of(&gr, "a")));
    done(&gr);
}

Test(cfg, while_loops_back_to_its_test)
{
    graph gr = build("void f(void) { while (c()) a(); d(); }");
    size_t bc = block_of(&gr, "c"), ba = block_of(&gr, "a"), bd = block_of(&gr, "d");
    cr_assert_eq(gr.cfg->blocks[bc].term, PS_CFG_BRANCH);
    cr_assert_eq(gr.cfg->blocks[bc].succ[0], ba);
    cr_assert(path(&gr, ba, bc), "the body goes back to the test");
    cr_assert(path(&gr, gr.cfg->blocks[bc].succ[1], bd) || gr.cfg->blocks[bc].succ[1] == bd);
    cr_assert_not(path(&gr, bd, bc));
    done(&gr);
}

Test(cfg, do_while_runs_the_body_first)
{
    graph gr = build("void f(void) { do a(); while (c()); d(); }");
    size_t bc = block_of(&gr, "c"), ba = block_of(&gr, "a"), bd = block_of(&gr, "d");
    cr_assert(path(&gr, PS_CFG_ENTRY, ba));
    cr_assert(path(&gr, ba, bc));
    cr_assert_eq(gr.cfg->blocks[bc].succ[0], ba, "true repeats the body");
    cr_assert(path(&gr, gr.cfg->blocks[bc].succ[1], bd) || gr.cfg->blocks[bc].succ[1] == bd);
    done(&gr);
}

Test(cfg, for_with_every_part)
{
    graph gr = build("void f(void) { int i; for (i = e(); c(); i += g()) a(); d(); }");
    size_t be = block_of(&gr, "e"), bc = block_of(&gr, "c"), ba = block_of(&gr, "a"),
           bg = block_of(&gr, "g"), bd = block_of(&gr, "d");
    cr_assert(path(&gr, be, bc));
    cr_assert_not(path(&gr, bc, be), "the init runs once");
    cr_assert_eq(gr.cfg->blocks[bc].succ[0], ba);
    cr_assert(path(&gr, ba, bg) && path(&gr, bg, bc), "body, step, test");
    cr_assert(path(&gr, bc, bd));
    done(&gr);
}

Test(cfg, for_parts_are_told_apart)
{
    /* Only the step: the test is missing, so the loop never ends but by break. */
    graph gr = build("void f(void) { int i = 0; for (;; i += g()) { if (c()) break; a(); } d(); }");
    size_t bg = block_of(&gr, "g"), bc = block_of(&gr, "c"), bd = block_of(&gr, "d");
    cr_assert_neq(gr.cfg->blocks[bg].term, PS_CFG_BRANCH, "the step is not a test");
    cr_assert(path(&gr, bg, bc));
    cr_assert_eq(gr.cfg->blocks[bc].term, PS_CFG_BRANCH);
    cr_assert(path(&gr, gr.cfg->blocks[bc].succ[0], bd) || gr.cfg->blocks[bc].succ[0] == bd,
              "break leaves the loop");
    cr_assert_not(path(&gr, gr.cfg->blocks[bc].succ[0], block_of(&gr, "a")));
    done(&gr);

    /* Only the test. */
    gr = build("void f(void) { for (; c();) a(); d(); }");
    bc = block_of(&gr, "c");
    cr_assert_eq(gr.cfg->blocks[bc].term, PS_CFG_BRANCH);
    cr_assert_eq(gr.cfg->blocks[bc].succ[0], block_of(&gr, "a"));
    done(&gr);
}

Test(cfg, endless_loop_without_break_never_falls_out)
{
    graph gr = build("void f(void) { for (;;) a(); d(); }");
    cr_assert(reachable(&gr, block_of(&gr, "a")));
    cr_assert_not(reachable(&gr, block_of(&gr, "d")));
    cr_assert_not(reachable(&gr, end_block(&gr)));
    done(&gr);
}

Test(cfg, continue_goes_to_the_test)
{
    graph gr = build("void f(void) { while (c()) { if (e()) continue; a(); } d(); }");
    size_t be = block_of(&gr, "e"), bc = block_of(&gr, "c"), ba = block_of(&gr, "a");
    size_t taken = gr.cfg->blocks[be].succ[0];
    cr_assert(taken == bc || path(&gr, taken, bc));
    /* From the continue, a() is reached only through the test again. */
    cr_assert_eq(gr.cfg->blocks[be].succ[1], ba);
    done(&gr);
}

Test(cfg, switch_cases_fall_through_and_break)
{
    graph gr = build("void f(int x) { switch (x) { case 1: a(); case 2: case 3: b(); break; "
                     "default: d(); } g(); }");
    size_t ba = block_of(&gr, "a"), bb = block_of(&gr, "b"), bd = block_of(&gr, "d"),
           bg = block_of(&gr, "g");
    size_t head = SIZE_MAX;
    for (size_t i = 0; i < gr.cfg->nblocks; i++)
        if (gr.cfg->blocks[i].term == PS_CFG_SWITCH)
            head = i;
    cr_assert_neq(head, SIZE_MAX, "a switch block");
    cr_assert_eq(gr.cfg->blocks[head].nsucc, 4, "case 1, case 2, case 3, default");
    cr_assert(has_edge(&gr, head, bd));
    cr_assert(path(&gr, ba, bb), "case 1 falls through into case 2");
    cr_assert(path(&gr, bb, bg), "break leaves the switch");
    cr_assert_not(path(&gr, bb, bd), "and skips default");
    done(&gr);

    gr = build("void f(int x) { switch (x) { case 1: a(); break; } g(); }");
    head = SIZE_MAX;
    for (size_t i = 0; i < gr.cfg->nblocks; i++)
        if (gr.cfg->blocks[i].term == PS_CFG_SWITCH)
            head = i;
    cr_assert_neq(head, SIZE_MAX);
    cr_assert_eq(gr.cfg->blocks[head].nsucc, 2, "no default: the switch may skip every case");
    size_t bgb = block_of(&gr, "g");
    bool direct = false;
    for (size_t i = 0; i < 2; i++)
        direct |= !path(&gr, gr.cfg->blocks[head].succ[i], block_of(&gr, "a")) &&
                  (gr.cfg->blocks[head].succ[i] == bgb || path(&gr, gr.cfg->blocks[head].succ[i], bgb));
    cr_assert(direct);
    done(&gr);
}

Test(cfg, goto_jumps_to_its_label)
{
    graph gr = build("void f(void) { a(); if (c()) goto out; b(); out: d(); }");
    size_t bc = block_of(&gr, "c"), bb = block_of(&gr, "b"), bd = block_of(&gr, "d");
    size_t jump = gr.cfg->blocks[bc].succ[0];
    cr_assert(jump == bd || path(&gr, jump, bd));
    cr_assert_not(path(&gr, jump, bb), "the goto skips b()");
    cr_assert(path(&gr, bb, bd), "b() falls into the label");
    done(&gr);

    gr = build("void f(void) { goto out; a(); out: d(); }");
    cr_assert_not(reachable(&gr, block_of(&gr, "a")), "code after a goto is unreachable");
    cr_assert(reachable(&gr, block_of(&gr, "d")));
    done(&gr);

    gr = build("void f(void) { again: a(); if (c()) goto again; }");
    cr_assert(path(&gr, block_of(&gr, "c"), block_of(&gr, "a")), "a backward goto loops");
    done(&gr);
}

Test(cfg, return_goes_to_the_exit)
{
    graph gr = build("int f(void) { if (c()) return a(); b(); return 0; }");
    size_t ba = block_of(&gr, "a");
    cr_assert_eq(gr.cfg->blocks[ba].term, PS_CFG_RETURN);
    cr_assert_eq(gr.cfg->blocks[ba].nsucc, 1);
    cr_assert_eq(gr.cfg->blocks[ba].succ[0], PS_CFG_EXIT);
    cr_assert_not(path(&gr, ba, block_of(&gr, "b")));
    cr_assert_not(reachable(&gr, end_block(&gr)), "every path returns before the brace");
    done(&gr);
}

Test(cfg, logical_and_or_short_circuit)
{
    graph gr = build("void f(void) { if (c() && e()) a(); else b(); }");
    size_t bc = block_of(&gr, "c"), be = block_of(&gr, "e"), ba = block_of(&gr, "a"),
           bb = block_of(&gr, "b");
    cr_assert_neq(bc, be, "each operand is tested in its own block");
    cr_assert_eq(gr.cfg->blocks[bc].succ[0], be);
    cr_assert_eq(gr.cfg->blocks[bc].succ[1], bb, "false && skips the right side");
    cr_assert_eq(gr.cfg->blocks[be].succ[0], ba);
    done(&gr);

    gr = build("void f(void) { if (c() || !e()) a(); else b(); }");
    bc = block_of(&gr, "c"), be = block_of(&gr, "e"), ba = block_of(&gr, "a");
    cr_assert_eq(gr.cfg->blocks[bc].succ[0], ba, "true || skips the right side");
    cr_assert_eq(gr.cfg->blocks[bc].succ[1], be);
    done(&gr);

    /* As a value: both paths meet again. */
    gr = build("void f(void) { int x = c() && e(); d(); (void)x; }");
    bc = block_of(&gr, "c"), be = block_of(&gr, "e");
    size_t bd = block_of(&gr, "d");
    cr_assert(path(&gr, bc, be) && path(&gr, be, bd));
    cr_assert(has_edge(&gr, bc, gr.cfg->blocks[bc].succ[1]) &&
              !path(&gr, gr.cfg->blocks[bc].succ[1], be));
    done(&gr);
}

Test(cfg, conditional_operator_splits)
{
    graph gr = build("void f(void) { int x = c() ? a() : b(); d(); (void)x; }");
    size_t bc = block_of(&gr, "c"), ba = block_of(&gr, "a"), bb = block_of(&gr, "b"),
           bd = block_of(&gr, "d");
    cr_assert_eq(gr.cfg->blocks[bc].term, PS_CFG_BRANCH);
    cr_assert_eq(gr.cfg->blocks[bc].succ[0], ba);
    cr_assert_eq(gr.cfg->blocks[bc].succ[1], bb);
    cr_assert(path(&gr, ba, bd) && path(&gr, bb, bd));
    cr_assert_not(path(&gr, ba, bb));
    /* The declaration itself comes after both arms, as a shallow element. */
    bool shallow = false;
    for (size_t b = 0; b < gr.cfg->nblocks; b++)
        for (size_t i = 0; i < gr.cfg->blocks[b].nelems; i++)
            if (gr.cfg->blocks[b].elems[i].kind == PS_CFG_SHALLOW &&
                clang_getCursorKind(gr.cfg->blocks[b].elems[i].cursor) == CXCursor_VarDecl)
                shallow = path(&gr, ba, b) && path(&gr, bb, b);
    cr_assert(shallow);
    done(&gr);
}

Test(cfg, statement_expression_is_inlined)
{
    graph gr = build("void f(void) { int x = ({ int t = a(); if (t) b(); t; }); d(); (void)x; }");
    size_t ba = block_of(&gr, "a"), bb = block_of(&gr, "b"), bd = block_of(&gr, "d");
    cr_assert(path(&gr, ba, bb) && path(&gr, bb, bd));
    cr_assert_eq(gr.cfg->blocks[ba].term, PS_CFG_BRANCH, "the if inside branches");
    cr_assert(path(&gr, gr.cfg->blocks[ba].succ[1], bd) || gr.cfg->blocks[ba].succ[1] == bd);
    done(&gr);
}

Test(cfg, noreturn_calls_end_the_path)
{
    graph gr = build("void f(void) { if (c()) exit(1); a(); if (e()) die(\"x\"); b(); "
                     "if (d()) stop(); g(); }");
    size_t bc = block_of(&gr, "c");
    size_t bexit = gr.cfg->blocks[bc].succ[0];
    cr_assert_eq(gr.cfg->blocks[bexit].term, PS_CFG_NORETURN, "exit");
    cr_assert_eq(gr.cfg->blocks[bexit].nsucc, 0);
    size_t be = block_of(&gr, "e");
    cr_assert_eq(gr.cfg->blocks[gr.cfg->blocks[be].succ[0]].term, PS_CFG_NORETURN,
                 "__attribute__((noreturn))");
    size_t bd = block_of(&gr, "d");
    cr_assert_eq(gr.cfg->blocks[gr.cfg->blocks[bd].succ[0]].term, PS_CFG_NORETURN, "_Noreturn");
    cr_assert(reachable(&gr, block_of(&gr, "g")));
    done(&gr);

    gr = build("void f(void) { exit(c() ? 0 : 1); a(); }");
    cr_assert_not(reachable(&gr, block_of(&gr, "a")), "a split noreturn call ends the path too");
    done(&gr);

    gr = build("void f(void) { abort(); a(); }");
    cr_assert_not(reachable(&gr, block_of(&gr, "a")));
    cr_assert_not(reachable(&gr, end_block(&gr)));
    done(&gr);
}

Test(cfg, ordinary_calls_return)
{
    graph gr = build("void f(void) { a(); }");
    const ps_cfg_block *blk = &gr.cfg->blocks[block_of(&gr, "a")];
    cr_assert_not(ps_cfg_call_is_noreturn(blk->elems[0].cursor));
    cr_assert_neq(blk->term, PS_CFG_NORETURN);
    done(&gr);
}

Test(cfg, what_cannot_be_built)
{
    snippet s = snippet_parse(PRELUDE "void f(void);\n");
    ps_cfg *cfg = (ps_cfg *)1;
    cr_assert_eq(ps_cfg_build(snippet_decl(&s, "f"), 0, &cfg), PS_CFG_NO_BODY);
    cr_assert_null(cfg);
    snippet_free(&s);

    s = snippet_parse(PRELUDE "void f(int i) { void *t[] = {&&x, &&y}; goto *t[i]; x: a(); y: b(); }\n");
    cr_assert_eq(ps_cfg_build(snippet_decl(&s, "f"), 0, &cfg), PS_CFG_UNSUPPORTED);
    cr_assert_null(cfg);
    snippet_free(&s);

    s = snippet_parse(PRELUDE "void f(void) { if (a()) b(); if (c()) d(); if (e()) g(); }\n");
    cr_assert_eq(ps_cfg_build(snippet_decl(&s, "f"), 5, &cfg), PS_CFG_TOO_BIG);
    cr_assert_null(cfg);
    cr_assert_eq(ps_cfg_build(snippet_decl(&s, "f"), 0, &cfg), PS_CFG_OK);
    ps_cfg_free(cfg);
    snippet_free(&s);

    /* An else-if chain deeper than the builder follows. */
    size_t cap = 64 + 3000 * 40, len = 0;
    char *src = malloc(cap);
    cr_assert_not_null(src);
    len += (size_t)snprintf(src + len, cap - len, "%s", PRELUDE "void f(int x) {\n");
    for (int i = 0; i < 3000; i++)
        len += (size_t)snprintf(src + len, cap - len, "if (x == %d) a(); else\n", i);
    snprintf(src + len, cap - len, "b();\n}\n");
    s = snippet_parse(src);
    free(src);
    cr_assert_eq(ps_cfg_build(snippet_decl(&s, "f"), 0, &cfg), PS_CFG_UNSUPPORTED);
    cr_assert_null(cfg);
    snippet_free(&s);
}

/* One memo serves every function of a translation unit: what it learned
 * about die() (never returns) and a() (returns) in f must give h the same
 * graph as building h without a memo. */
Test(cfg, memo_shared_across_functions_gives_the_same_graphs)
{
    size_t n = strlen(PRELUDE) + 256;
    char *src = malloc(n);
    cr_assert_not_null(src);
    snprintf(src, n, "%s%s", PRELUDE,
             "void f(void) { if (c()) die(\"f\"); a(); }\n"
             "void h(void) { a(); if (e()) die(\"h\"); b(); if (d()) stop(); g(); }\n");
    graph gr = {snippet_parse(src), NULL};
    free(src);
    ps_cfg_memo *memo = ps_cfg_memo_new();
    cr_assert_not_null(memo);
    ps_cfg *f_cfg = NULL, *plain = NULL;
    cr_assert_eq(ps_cfg_build_memo(snippet_decl(&gr.s, "f"), 0, memo, &f_cfg), PS_CFG_OK);
    cr_assert_eq(ps_cfg_build_memo(snippet_decl(&gr.s, "h"), 0, memo, &gr.cfg), PS_CFG_OK);
    cr_assert_eq(ps_cfg_build(snippet_decl(&gr.s, "h"), 0, &plain), PS_CFG_OK);

    cr_assert_eq(gr.cfg->nblocks, plain->nblocks);
    for (size_t b = 0; b < plain->nblocks; b++) {
        cr_assert_eq(gr.cfg->blocks[b].term, plain->blocks[b].term, "block %zu", b);
        cr_assert_eq(gr.cfg->blocks[b].nsucc, plain->blocks[b].nsucc, "block %zu", b);
        for (size_t i = 0; i < plain->blocks[b].nsucc; i++)
            cr_assert_eq(gr.cfg->blocks[b].succ[i], plain->blocks[b].succ[i], "block %zu", b);
    }
    size_t be = block_of(&gr, "e");
    cr_assert_eq(gr.cfg->blocks[gr.cfg->blocks[be].succ[0]].term, PS_CFG_NORETURN,
                 "die() remembered as noreturn from f");
    cr_assert_neq(gr.cfg->blocks[block_of(&gr, "a")].term, PS_CFG_NORETURN,
                  "a() remembered as returning");
    cr_assert(reachable(&gr, block_of(&gr, "g")));

    ps_cfg_free(plain);
    ps_cfg_free(f_cfg);
    ps_cfg_memo_free(memo);
    done(&gr);
}
