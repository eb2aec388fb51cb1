/*
 * flow_ownership.c — the flow-sensitive rules: ps-use-after-free,
 * ps-double-free, ps-leak and ps-dangling-target, a dataflow over the CFG
 * of one function (cfg.h); ps-borrow reads the same states (flow_borrow.c,
 * types in flow_state.h).
 *
 * Tracked are the function's local variables and parameters that hold a
 * proxy handle, one level of their proxy fields (`s.f`, `j->f`), never
 * those whose address is taken (anything may write them), and local
 * pointers that receive a resolve of such a variable.  Each proxy carries
 * the set of states it may be in on the paths reaching a point: unknown
 * (not known to be owned here), live (created here), released, moved away
 * (serialized owner or borrow, ps_into_owned), let go (returned, stored,
 * passed to an owner), stored beyond the function, or null; the kind of
 * handle (plain, owner, shared or exclusive borrow); for a borrow its
 * owner; and the group of names it shares with its aliases (`q = p`).
 *
 * Calls to functions defined in the same unit use a summary of the
 * callee (released / borrowed / moved per parameter, released / read /
 * forgotten per proxy field of a struct given by pointer, returns a new
 * proxy), computed once by running this same analysis silently over its
 * body; calls to functions defined in other files of the run read their
 * summaries from the table the driver built (summary_table.h), and this
 * unit's own functions' summaries are exported to it.
 *
 * The sets are unions over paths, and the rules read them so as never to
 * guess:
 *   - use-after-free, double-free and dangling-target are reported only
 *     when the proxy is released on EVERY path reaching the use (the set
 *     is exactly {released}).  A proxy released on some paths only is
 *     usually guarded by a condition the analysis cannot correlate.
 *   - leak is reported when a proxy created here may still be live at a
 *     return or at the closing brace: "live" is only ever a proxy this
 *     function made and has neither released nor let go of.  Whatever the
 *     analysis does not understand lets go of it: any use other than
 *     resolving, comparing, or passing it to the runtime or to a
 *     PROXY_REF / PROXY_REF_MUT parameter counts as a move.
 * Null tests (`if (!p)`, `p == NULL`, `if (p)`) refine the state on each
 * edge: nothing leaks on the branch where the proxy is null, and a branch
 * that needs a null proxy that cannot be null is not taken.
 *
 * Walking cursors through libclang is what costs: each block's statements
 * are walked once, into a list of events (use, escape, release, assign,
 * leak check), and the fixpoint and the reporting pass replay the events.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "cfg.h"
#include "checker.h"

#include "flow_state.h"

/* ---------------------------------------------------------------- helpers */

static CXCursor strip_casts(CXCursor e)
{
    for (int guard = 0; guard < 64; guard++) {
        e = ps_strip_implicit(e);
        if (clang_getCursorKind(e) != CXCursor_CStyleCastExpr)
            return e;
        CXCursor kids[2];
        unsigned n = ps_children(e, kids, 2);
        if (n == 0 || n > 2)
            return e;
        e = kids[n - 1];
    }
    return e;
}

static bool is_local(CXCursor decl)
{
    enum CXCursorKind k = clang_getCursorKind(decl);
    if (k == CXCursor_ParmDecl)
        return true;
    return k == CXCursor_VarDecl && !clang_Cursor_hasVarDeclGlobalStorage(decl) &&
           !clang_Cursor_hasVarDeclExternalStorage(decl);
}

/* The variable (field null) or field of a variable tracked, or -1. */
static int field_var_index(const lifetime *l, CXCursor decl, CXCursor field)
{
    bool whole = clang_Cursor_isNull(field);
    for (size_t i = 0; i < l->nvars; i++)
        if (clang_equalCursors(l->vars[i].decl, decl) &&
            (whole ? clang_Cursor_isNull(l->vars[i].field) != 0
                   : clang_equalCursors(l->vars[i].field, field)))
            return (int)i;
    return -1;
}

static int var_index(const lifetime *l, CXCursor decl)
{
    return field_var_index(l, decl, clang_getNullCursor());
}

/* `v.f` or `v->f` with v a variable: the variable (in *base) and the field. */
static bool field_of_variable(CXCursor e, CXCursor *base, CXCursor *field)
{
    if (clang_getCursorKind(e) != CXCursor_MemberRefExpr)
        return false;
    CXCursor kid;
    if (ps_children(e, &kid, 1) != 1)
        return false;
    kid = ps_strip_parens(ps_strip_implicit(kid));
    if (clang_getCursorKind(kid) != CXCursor_DeclRefExpr)
        return false;
    *base = clang_getCursorReferenced(kid);
    *field = clang_getCursorReferenced(e);
    return clang_getCursorKind(*field) == CXCursor_FieldDecl;
}

/* The tracked variable or field an expression reads, through parentheses
 * and casts, or -1. */
static int var_of(const lifetime *l, CXCursor e)
{
    if (clang_Cursor_isNull(e))
        return -1;
    e = strip_casts(e);
    int v = -1;
    CXCursor base, field;
    if (clang_getCursorKind(e) == CXCursor_DeclRefExpr)
        v = var_index(l, clang_getCursorReferenced(e));
    else if (field_of_variable(e, &base, &field))
        v = field_var_index(l, base, field);
    return v >= 0 && !l->vars[v].excluded ? v : -1;
}

static bool is_plain_ref(CXCursor e)
{
    CXCursor s = ps_strip_implicit(e), base, field;
    return clang_getCursorKind(s) == CXCursor_DeclRefExpr || field_of_variable(s, &base, &field);
}

/* `&p` (p a followed proxy variable): p, or -1. */
static int out_var(const lifetime *l, CXCursor e)
{
    e = ps_strip_parens(ps_strip_implicit(e));
    CXCursor kid;
    if (clang_getCursorKind(e) != CXCursor_UnaryOperator ||
        clang_getCursorUnaryOperatorKind(e) != CXUnaryOperator_AddrOf || ps_children(e, &kid, 1) != 1)
        return -1;
    kid = ps_strip_parens(ps_strip_implicit(kid));
    if (clang_getCursorKind(kid) != CXCursor_DeclRefExpr)
        return -1;
    int v = var_of(l, kid);
    return v >= 0 && l->vars[v].kind == V_PROXY && clang_Cursor_isNull(l->vars[v].field) ? v : -1;
}

/* A USR into buf ("" when there is none or it does not fit). */
static void usr_of(CXCursor c, char *buf, size_t n)
{
    CXString s = clang_getCursorUSR(c);
    const char *u = clang_getCString(s);
    size_t len = u ? strlen(u) : 0;
    if (len && len < n)
        memcpy(buf, u, len + 1);
    else
        buf[0] = '\0';
    clang_disposeString(s);
}

/* The USR of field variable v (computed once). */
static const char *field_usr(lifetime *l, int v)
{
    var *fv = &l->vars[v];
    if (!fv->usr[0])
        usr_of(fv->field, fv->usr, sizeof fv->usr);
    return fv->usr;
}

static bool was_used_whole(const lifetime *l, CXCursor decl)
{
    for (size_t i = 0; i < l->nwhole; i++)
        if (clang_equalCursors(l->whole_used[i], decl))
            return true;
    return false;
}

static bool points_to_proxy_fields(ps_checker *ck, CXCursor param);
static bool pointee_record(CXCursor param, CXType *rec);

void ps_flow_name(const lifetime *l, int v, char *buf, size_t n)
{
    if (clang_Cursor_isNull(l->vars[v].field)) {
        ps_cursor_name(l->vars[v].decl, buf, n);
        return;
    }
    char base[128], field[128];
    ps_cursor_name(l->vars[v].decl, base, sizeof base);
    ps_cursor_name(l->vars[v].field, field, sizeof field);
    ps_fmt(buf, n, "%s%s%s", base, l->vars[v].through_pointer ? "->" : ".", field);
}

static bool is_release_call(lifetime *l, CXCursor call)
{
    return clang_getCursorKind(call) == CXCursor_CallExpr &&
           ps_fn_role_releases(ps_callee_role(l->ck->pt, call)) &&
           clang_Cursor_getNumArguments(call) == 1;
}

static bool is_null_constant(CXCursor e);

/* What an expression evaluates to, through casts, comma operators and
 * statement expressions (`({ ...; v; })`, as wrapper macros write). */
static CXCursor value_of(CXCursor e)
{
    for (int guard = 0; guard < 16; guard++) {
        e = strip_casts(e);
        enum CXCursorKind k = clang_getCursorKind(e);
        CXCursor kids[2];
        if (k == CXCursor_StmtExpr) {
            CXCursor v = ps_stmt_expr_value(e);
            if (clang_Cursor_isNull(v))
                return e;
            e = v;
        } else if (k == CXCursor_BinaryOperator &&
                   clang_getCursorBinaryOperatorKind(e) == CXBinaryOperator_Comma &&
                   ps_children(e, kids, 2) == 2) {
            e = kids[1];
        } else {
            return e;
        }
    }
    return e;
}

/* The role of the runtime call that creates the handle e evaluates to, or
 * PS_FN_NONE; *call gets the call.  `c ? ps_proxy(...) : NULL` and a ?:
 * of two creations create too. */
static const fn_summary *summary_of_call(lifetime *l, CXCursor call);

static ps_fn_role creation_call(lifetime *l, CXCursor e, CXCursor *call, int depth)
{
    e = value_of(e);
    enum CXCursorKind k = clang_getCursorKind(e);
    if (k == CXCursor_ConditionalOperator && depth < 8) {
        CXCursor kids[3];
        if (ps_children(e, kids, 3) != 3)
            return PS_FN_NONE;
        CXCursor c1, c2;
        ps_fn_role r1 = creation_call(l, kids[1], &c1, depth + 1);
        ps_fn_role r2 = creation_call(l, kids[2], &c2, depth + 1);
        if (r1 != PS_FN_NONE && (r2 != PS_FN_NONE || is_null_constant(kids[2]))) {
            *call = c1;
            return r1;
        }
        if (r2 != PS_FN_NONE && is_null_constant(kids[1])) {
            *call = c2;
            return r2;
        }
        return PS_FN_NONE;
    }
    if (k != CXCursor_CallExpr)
        return PS_FN_NONE;
    ps_fn_role r = ps_callee_role(l->ck->pt, e);
    if (!ps_fn_role_creates(r)) {
        /* make_input() whose body returns ps_proxy(...): a creation too. */
        const fn_summary *fs = r == PS_FN_NONE ? summary_of_call(l, e) : NULL;
        if (!fs || !fs->s.returns_new)
            return PS_FN_NONE;
        *call = e;
        return PS_FN_CREATE;
    }
    *call = e;
    return r;
}

/* The kind of handle a creating role returns. */
static uint8_t handle_kind_of_role(ps_fn_role r)
{
    switch (r) {
    case PS_FN_OWNED:
    case PS_FN_OWNED_ARRAY:
    case PS_FN_OWNED_CLONE:
    case PS_FN_INTO_OWNED:
        return HK_OWNED;
    case PS_FN_BORROW:
        return HK_REF;
    case PS_FN_BORROW_MUT:
        return HK_REF_MUT;
    default:
        return HK_PLAIN;
    }
}

static uint8_t handle_kind_of_decl(ps_proxy_kind k)
{
    switch (k) {
    case PS_PROXY_OWNED:
        return HK_OWNED;
    case PS_PROXY_REF:
        return HK_REF;
    case PS_PROXY_REF_MUT:
        return HK_REF_MUT;
    default:
        return HK_UNKNOWN;
    }
}

/* Does serializing a handle of these kinds move it on every path? */
static bool serialize_moves(uint8_t hk)
{
    return hk != 0 && !(hk & (HK_PLAIN | HK_UNKNOWN));
}

/* The proxy variable a resolve call resolves, or -1. */
static int resolved_var(lifetime *l, CXCursor e)
{
    e = value_of(e);
    if (clang_getCursorKind(e) != CXCursor_CallExpr)
        return -1;
    if (!ps_fn_role_resolves(ps_callee_role(l->ck->pt, e)))
        return -1;
    if (clang_Cursor_getNumArguments(e) < 1)
        return -1;
    int v = var_of(l, clang_Cursor_getArgument(e, 0));
    return v >= 0 && l->vars[v].kind == V_PROXY ? v : -1;
}

static bool is_null_constant(CXCursor e)
{
    e = strip_casts(e);
    enum CXCursorKind k = clang_getCursorKind(e);
    if (k == CXCursor_GNUNullExpr)
        return true;
    if (k != CXCursor_IntegerLiteral)
        return false;
    CXEvalResult r = clang_Cursor_Evaluate(e);
    if (!r)
        return false;
    bool zero = clang_EvalResult_getKind(r) == CXEval_Int && clang_EvalResult_getAsLongLong(r) == 0;
    clang_EvalResult_dispose(r);
    return zero;
}

/* Is the function a proxystore runtime function (declared in its header)? */
static bool is_runtime_function(CXCursor fn)
{
    CXFile file;
    clang_getSpellingLocation(clang_getCursorLocation(fn), &file, NULL, NULL, NULL);
    if (!file)
        return false;
    CXString s = clang_getFileName(file);
    const char *n = clang_getCString(s);
    /* The library's public headers: their calls borrow the proxies they
     * are given (releasing ones are told apart by their roles). */
    static const char *const headers[] = {"proxystore/proxystore.h", "proxystore/future.h",
                                          "proxystore/stream.h"};
    bool hit = false;
    for (size_t i = 0; n && !hit && i < sizeof headers / sizeof headers[0]; i++) {
        size_t len = strlen(n), tl = strlen(headers[i]);
        hit = len >= tl && strcmp(n + len - tl, headers[i]) == 0;
    }
    clang_disposeString(s);
    return hit;
}

/* ---------------------------------------------------------------- reports */

static void report_use_after_free(lifetime *l, int v, CXCursor at)
{
    char name[128];
    ps_flow_name(l, v, name, sizeof name);
    ps_diag *d = ps_diag_report(l->ck->sink, PS_RULE_USE_AFTER_FREE, at,
                                "proxy '%s' used after it was released", name);
    if (d && !clang_Cursor_isNull(l->cur[v].rel))
        ps_diag_note(l->ck->sink, d, l->cur[v].rel, "'%s' released here", name);
}

/* A handle used (how: "used", "released") after it was moved away. */
static void report_use_after_move(lifetime *l, int v, CXCursor at, const char *how)
{
    char name[128], by[128];
    ps_flow_name(l, v, name, sizeof name);
    by[0] = '\0';
    if (!clang_Cursor_isNull(l->cur[v].rel))
        ps_cursor_name(ps_callee_decl(l->cur[v].rel), by, sizeof by);
    ps_diag *d = ps_diag_report(l->ck->sink, PS_RULE_USE_AFTER_FREE, at,
                                "proxy '%s' %s after it was moved%s%s", name, how,
                                by[0] ? " by " : "", by);
    if (d && !clang_Cursor_isNull(l->cur[v].rel))
        ps_diag_note(l->ck->sink, d, l->cur[v].rel, "'%s' moved here", name);
}

static void report_double_free(lifetime *l, int v, CXCursor at)
{
    char name[128];
    ps_flow_name(l, v, name, sizeof name);
    ps_diag *d = ps_diag_report(l->ck->sink, PS_RULE_DOUBLE_FREE, at,
                                "proxy '%s' released twice", name);
    if (d && !clang_Cursor_isNull(l->cur[v].rel))
        ps_diag_note(l->ck->sink, d, l->cur[v].rel, "'%s' first released here", name);
}

static void report_dangling(lifetime *l, int t, int p, CXCursor at)
{
    char tname[128], pname[128];
    ps_flow_name(l, t, tname, sizeof tname);
    ps_flow_name(l, p, pname, sizeof pname);
    ps_diag *d = ps_diag_report(l->ck->sink, PS_RULE_DANGLING_TARGET, at,
                                "'%s' points into the target of proxy '%s', which was released",
                                tname, pname);
    if (d && !clang_Cursor_isNull(l->cur[p].rel))
        ps_diag_note(l->ck->sink, d, l->cur[p].rel, "'%s' released here", pname);
}

/* The '}' of a compound statement (its extent ends just after it). */
static CXSourceLocation closing_brace_of(CXCursor body)
{
    CXSourceLocation end = clang_getRangeEnd(clang_getCursorExtent(body));
    CXFile file;
    unsigned line, col;
    clang_getExpansionLocation(end, &file, &line, &col, NULL);
    if (!file || col < 2)
        return end;
    return clang_getLocation(clang_Cursor_getTranslationUnit(body), file, line, col - 1);
}

/* -------------------------------------------------------------- transfer */

static void emit(lifetime *l, const event *e)
{
    if (l->overflow)
        return;
    if (l->nev == l->ev_cap) {
        size_t n = l->ev_cap ? l->ev_cap * 2 : 64;
        event *p = realloc(l->ev, n * sizeof *p);
        if (!p) {
            l->overflow = true; /* a step would be missing: say nothing */
            return;
        }
        l->ev = p;
        l->ev_cap = n;
    }
    l->ev[l->nev++] = *e;
}

static void emit_op(lifetime *l, ev_op op, int v, CXCursor at)
{
    event e = {.op = (uint8_t)op, .v = v, .owner = OWNER_NONE, .copy_from = -1, .consumed = -1, .lender = -1, .alias_of = -1,
               .at = at};
    emit(l, &e);
}

/* The value of variable v is read at `at`. */
static void use(lifetime *l, int v, CXCursor at)
{
    emit_op(l, EV_USE, v, at);
}

/* The proxy in v is given away: the function no longer has to release it. */
static void escape(lifetime *l, int v)
{
    emit_op(l, EV_ESCAPE, v, clang_getNullCursor());
}

static void release(lifetime *l, int v, CXCursor call)
{
    emit_op(l, EV_RELEASE, v, call);
}

/* At a return (at is the statement) or the closing brace (at is the body). */
static void check_leaks(lifetime *l, CXCursor at, bool closing_brace)
{
    event e = {.op = EV_LEAKS, .brace = closing_brace, .v = -1, .owner = OWNER_NONE,
               .copy_from = -1, .consumed = -1, .lender = -1, .alias_of = -1, .at = at};
    emit(l, &e);
}

/* Variable v gets the value of rhs (rv: the tracked variable rhs reads). */
static void assign(lifetime *l, int v, CXCursor rhs, int rv)
{
    event e = {.op = EV_ASSIGN, .v = v, .owner = OWNER_NONE, .copy_from = -1, .consumed = -1, .lender = -1, .alias_of = -1,
               .at = clang_getNullCursor()};
    /* The variable a statement expression's value reads (`({ ...; _v; })`). */
    int via = clang_Cursor_isNull(rhs) ? -1 : var_of(l, value_of(rhs));
    if (l->vars[v].kind == V_TARGET) {
        e.owner = clang_Cursor_isNull(rhs) ? OWNER_NONE : resolved_var(l, rhs);
        if (e.owner < 0 && via >= 0 && l->vars[via].kind == V_TARGET)
            e.copy_from = via; /* a copy points into the same target */
        emit(l, &e);
        return;
    }
    bool let_go = false;
    CXCursor call = clang_getNullCursor();
    ps_fn_role made = clang_Cursor_isNull(rhs) ? PS_FN_NONE : creation_call(l, rhs, &call, 0);
    if (clang_Cursor_isNull(rhs)) {
        e.bits = S_UNKNOWN;
    } else if (made != PS_FN_NONE) {
        e.bits = S_LIVE;
        e.at = call;
        e.hk = handle_kind_of_role(made);
        if (ps_callee_role(l->ck->pt, call) == PS_FN_NONE) {
            const fn_summary *fs = summary_of_call(l, call);
            e.hk = fs && fs->s.ret_hk ? fs->s.ret_hk : HK_UNKNOWN;
        }
        if ((made == PS_FN_INTO_OWNED || made == PS_FN_BORROW || made == PS_FN_BORROW_MUT) &&
            clang_Cursor_getNumArguments(e.at) == 1) {
            int q = var_of(l, clang_Cursor_getArgument(e.at, 0));
            q = q >= 0 && l->vars[q].kind == V_PROXY ? q : -1;
            if (made == PS_FN_INTO_OWNED)
                e.consumed = q;
            else
                e.lender = q;
        }
    } else if (is_null_constant(rhs)) {
        e.bits = S_NULL;
    } else if (rv >= 0 && l->vars[rv].kind == V_PROXY && rv != v) {
        /* q = p: two names for one proxy; releasing either releases both. */
        e.alias_of = rv;
    } else if (via >= 0 && rv < 0 && l->vars[via].kind == V_PROXY) {
        /* The value of a statement expression's temporary: v takes over
         * what the temporary held (it was let go as the value). */
        e.copy_from = via;
    } else {
        /* From a call, a field, another variable (which is then let go:
         * aliases are not followed). */
        e.bits = S_UNKNOWN;
        let_go = rv >= 0;
    }
    emit(l, &e);
    if (let_go)
        escape(l, rv);
}

/* ----------------------------------------------------------------- replay */

/* Is v another name (`q = p`) of a proxy whose leak an earlier name reports? */
static bool reported_under_other_name(const lifetime *l, size_t v)
{
    int g = l->cur[v].group;
    for (size_t u = 0; g >= 0 && u < v; u++)
        if (l->cur[u].group == g && l->vars[u].kind == V_PROXY && !l->vars[u].excluded &&
            (l->cur[u].bits & S_LIVE))
            return true;
    return false;
}

static void do_leaks(lifetime *l, CXCursor at, bool closing_brace)
{
    if (l->collect)
        for (size_t v = 0; v < l->nvars; v++)
            l->exit_bits[v] |= l->cur[v].bits;
    if (!l->report)
        return;
    for (size_t v = 0; v < l->nvars; v++) {
        if (l->vars[v].kind != V_PROXY || l->vars[v].excluded || !(l->cur[v].bits & S_LIVE))
            continue;
        if (l->vars[v].through_pointer || reported_under_other_name(l, v))
            continue; /* a field reached through a pointer outlives the function */
        char name[128];
        ps_flow_name(l, (int)v, name, sizeof name);
        const char *fmt = "proxy '%s' is neither released nor moved on a path that ends here";
        ps_diag *d;
        if (closing_brace)
            d = ps_diag_report_at(l->ck->sink, PS_RULE_LEAK, closing_brace_of(at), fmt, name);
        else
            d = ps_diag_report(l->ck->sink, PS_RULE_LEAK, at, fmt, name);
        if (d && !clang_Cursor_isNull(l->cur[v].made))
            ps_diag_note(l->ck->sink, d, l->cur[v].made, "'%s' created here", name);
    }
}

static bool arg_writes_through(lifetime *l, CXCursor call, unsigned i);

static void do_store(lifetime *l, int v, CXCursor at)
{
    vstate *s = &l->cur[v];
    if (l->vars[v].kind != V_PROXY || !(s->bits & (S_LIVE | S_UNKNOWN)))
        return;
    s->bits = (uint8_t)((s->bits & ~(S_LIVE | S_UNKNOWN)) | S_MOVED | S_STORED);
    s->rel = at;
}

void ps_flow_use(lifetime *l, int v, CXCursor at)
{
    vstate *s = &l->cur[v];
    if (l->vars[v].kind == V_PROXY) {
        if (l->report && s->bits == S_RELEASED)
            report_use_after_free(l, v, at);
        else if (l->report && s->bits == S_SENT)
            report_use_after_move(l, v, at, "used");
        return;
    }
    if (s->owner >= 0 && l->cur[s->owner].bits == S_RELEASED && l->report)
        report_dangling(l, v, s->owner, at);
}

static void do_escape(lifetime *l, int v)
{
    vstate *s = &l->cur[v];
    if (l->vars[v].kind != V_PROXY)
        return;
    if (s->bits & (S_LIVE | S_UNKNOWN)) {
        s->prev = s->bits;
        s->bits = (uint8_t)((s->bits & ~(S_LIVE | S_UNKNOWN)) | S_MOVED);
    }
}

static void do_release(lifetime *l, int v, CXCursor call)
{
    vstate *s = &l->cur[v];
    if (s->bits == S_RELEASED) {
        if (l->report)
            report_double_free(l, v, call);
        return;
    }
    if (s->bits == S_SENT) {
        if (l->report)
            report_use_after_move(l, v, call, "released");
        return;
    }
    ps_flow_borrow_owner_ends(l, v, call, "released");
    s->prev = s->bits;
    s->bits = S_RELEASED;
    s->rel = call;
}

/* v moved away by `call`; a serialize moves only owners and borrows. */
static void do_move(lifetime *l, int v, CXCursor call, bool serialize)
{
    vstate *s = &l->cur[v];
    if (serialize && !serialize_moves(s->hk)) {
        ps_flow_use(l, v, call);
        return;
    }
    if (s->bits == S_RELEASED || s->bits == S_SENT) {
        ps_flow_use(l, v, call);
        return;
    }
    ps_flow_borrow_owner_ends(l, v, call, "moved");
    s->prev = s->bits;
    s->bits = S_SENT;
    s->rel = call;
}

static void do_assign(lifetime *l, const event *e)
{
    vstate *s = &l->cur[e->v];
    if (l->vars[e->v].kind == V_TARGET) {
        s->owner = e->owner;
        if (s->owner < 0 && e->copy_from >= 0)
            s->owner = l->cur[e->copy_from].owner;
        return;
    }
    if (e->copy_from >= 0) {
        const vstate *from = &l->cur[e->copy_from];
        *s = *from;
        if (from->bits == S_MOVED && from->prev)
            s->bits = from->prev; /* let go only by being the value */
        return;
    }
    if (e->alias_of >= 0) {
        vstate *from = &l->cur[e->alias_of];
        if (from->group < 0)
            from->group = e->alias_of;
        *s = *from;
        return;
    }
    s->group = -1;
    s->rel = clang_getNullCursor();
    s->made = e->at;
    s->bits = e->bits;
    s->hk = e->hk ? e->hk : l->vars[e->v].decl_hk;
    s->consumed = e->consumed;
    s->consumed_bits = e->consumed >= 0 ? l->cur[e->consumed].prev : 0;
    s->lender = e->lender;
    if (e->lender >= 0)
        ps_flow_borrow_made(l, e->v, e->lender);
}

/* After v's proxy was released, moved or let go: so were its other names. */
static void sync_aliases(lifetime *l, int v)
{
    int g = l->cur[v].group;
    if (g < 0 || l->vars[v].kind != V_PROXY)
        return;
    for (size_t w = 0; w < l->nvars; w++) {
        vstate *o = &l->cur[w];
        if ((int)w == v || o->group != g)
            continue;
        o->bits = l->cur[v].bits;
        o->prev = l->cur[v].prev;
        o->rel = l->cur[v].rel;
    }
}

static void replay(lifetime *l, const event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const event *e = &ev[i];
        switch ((ev_op)e->op) {
        case EV_USE:
            ps_flow_use(l, e->v, e->at);
            break;
        case EV_ESCAPE:
            do_escape(l, e->v);
            sync_aliases(l, e->v);
            break;
        case EV_RELEASE:
            do_release(l, e->v, e->at);
            sync_aliases(l, e->v);
            break;
        case EV_ASSIGN:
            do_assign(l, e);
            break;
        case EV_LEAKS:
            do_leaks(l, e->at, e->brace);
            break;
        case EV_SERIALIZE:
        case EV_CONSUME:
            do_move(l, e->v, e->at, e->op == EV_SERIALIZE);
            sync_aliases(l, e->v);
            break;
        case EV_STORE:
            do_store(l, e->v, e->at);
            sync_aliases(l, e->v);
            break;
        case EV_MUTATE:
            ps_flow_borrow_mutate(l, e->v, e->at);
            break;
        case EV_WRITE:
            ps_flow_borrow_write(l, e->v, e->at);
            break;
        case EV_RETURN:
            if (l->collect) {
                l->ret_bits |= e->v >= 0 ? l->cur[e->v].bits : e->bits;
                l->ret_hk |= e->v >= 0 ? l->cur[e->v].hk : e->hk;
            }
            break;
        }
    }
}

static void eval(lifetime *l, CXCursor e, bool deep);

/* A child of a node: in a shallow element only plain variable operands are
 * left to evaluate (the rest came earlier as elements of their own). */
static void sub(lifetime *l, CXCursor c, bool deep)
{
    if (!deep && !is_plain_ref(c))
        return;
    eval(l, c, true);
}

typedef struct kids_ctx {
    lifetime *l;
    bool deep;
} kids_ctx;

static enum CXChildVisitResult eval_kid(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    kids_ctx *k = data;
    sub(k->l, c, k->deep);
    return CXChildVisit_Continue;
}

/* Cursors libclang gives no children: visiting them costs and yields nothing. */
static bool childless(enum CXCursorKind k)
{
    switch (k) {
    case CXCursor_IntegerLiteral:
    case CXCursor_FloatingLiteral:
    case CXCursor_ImaginaryLiteral:
    case CXCursor_StringLiteral:
    case CXCursor_CharacterLiteral:
        return true;
    default:
        return clang_isReference(k) != 0; /* TypeRef and the like: never any */
    }
}

static void eval_children(lifetime *l, CXCursor e, bool deep)
{
    if (childless(clang_getCursorKind(e)))
        return;
    kids_ctx k = {l, deep};
    clang_visitChildren(e, eval_kid, &k);
}

static bool call_field_effects(lifetime *l, CXCursor call, unsigned i, CXCursor arg);

typedef enum arg_mode { ARG_BORROW, ARG_MOVE, ARG_RELEASE } arg_mode;

/* What passing a proxy as argument i of the call does to its ownership. */
static arg_mode arg_mode_of(lifetime *l, CXCursor call, unsigned i)
{
    if (ps_callee_role(l->ck->pt, call) != PS_FN_NONE)
        return ARG_BORROW;
    CXCursor callee = ps_callee_decl(call);
    if (clang_Cursor_isNull(callee))
        return ARG_MOVE;
    if (clang_getCursorKind(callee) == CXCursor_FunctionDecl && is_runtime_function(callee))
        return ARG_BORROW;
    unsigned n = 0;
    const CXCursor *params = ps_callee_params(l->ck->pt, callee, &n);
    if (!params || i >= n)
        return ARG_MOVE; /* variadic or unprototyped: anything may happen */
    ps_ptype pt = ps_ptype_of_decl(l->ck->pt, params[i]);
    if (pt.depth == 0 && (pt.kind == PS_PROXY_REF || pt.kind == PS_PROXY_REF_MUT))
        return ARG_BORROW; /* the annotation says the callee only borrows */
    if (pt.kind == PS_PROXY_OWNED)
        return ARG_MOVE; /* the annotation says the callee takes it */
    /* A PROXY(T) or plain parameter says nothing about ownership: what the
     * callee's body does, if this unit has it, or else anything. */
    const fn_summary *fs = summary_of_call(l, call);
    if (fs && i < fs->s.nparams) {
        if (fs->s.effect[i] == EFFECT_RELEASE)
            return ARG_RELEASE;
        if (fs->s.effect[i] == EFFECT_BORROW)
            return ARG_BORROW;
    }
    return ARG_MOVE;
}

static void eval_call(lifetime *l, CXCursor call, bool deep)
{
    int nargs = clang_Cursor_getNumArguments(call);
    ps_fn_role role = ps_callee_role(l->ck->pt, call);
    if (is_release_call(l, call)) {
        CXCursor arg = clang_Cursor_getArgument(call, 0);
        int v = var_of(l, arg);
        if (v >= 0 && l->vars[v].kind == V_PROXY && (deep || is_plain_ref(arg)))
            release(l, v, call);
        else
            sub(l, arg, deep);
        return;
    }
    if ((role == PS_FN_SERIALIZE || role == PS_FN_INTO_OWNED) && nargs == 1) {
        CXCursor arg = clang_Cursor_getArgument(call, 0);
        int v = var_of(l, arg);
        if (v >= 0 && l->vars[v].kind == V_PROXY && (deep || is_plain_ref(arg)))
            emit_op(l, role == PS_FN_SERIALIZE ? EV_SERIALIZE : EV_CONSUME, v, call);
        else
            sub(l, arg, deep);
        return;
    }
    /* ps_is_proxy only compares the pointer with the live proxies: asking
     * about a released one is what it is for. */
    if ((role == PS_FN_UPDATE || ps_fn_role_resolves(role)) && nargs >= 1 &&
        role != PS_FN_RESOLVE_OR && role != PS_FN_RESOLVE_REF) {
        CXCursor arg = clang_Cursor_getArgument(call, 0);
        int v = var_of(l, arg);
        if (v >= 0 && l->vars[v].kind == V_PROXY && (deep || is_plain_ref(arg))) {
            emit_op(l, EV_MUTATE, v, call);
            for (int i = 1; i < nargs; i++)
                sub(l, clang_Cursor_getArgument(call, (unsigned)i), deep);
            return;
        }
    }
    int out = ps_fn_role_out_arg(role);
    if (out >= 0 && out < nargs) {
        /* ps_stream_next(c, t, &p, &meta): p gets a new proxy. */
        for (int i = 0; i < nargs; i++) {
            CXCursor arg = clang_Cursor_getArgument(call, (unsigned)i);
            int v = i == out ? out_var(l, arg) : -1;
            if (v >= 0) {
                event e = {.op = EV_ASSIGN, .bits = S_LIVE, .hk = HK_PLAIN, .v = v,
                           .owner = OWNER_NONE, .copy_from = -1, .consumed = -1, .lender = -1,
                           .alias_of = -1, .at = call};
                emit(l, &e);
            } else if (deep || is_plain_ref(arg)) {
                sub(l, arg, deep);
            }
        }
        return;
    }
    bool looks_only = role == PS_FN_IS_PROXY;
    for (int i = 0; i < nargs; i++) {
        CXCursor arg = clang_Cursor_getArgument(call, (unsigned)i);
        if (!deep && !is_plain_ref(arg))
            continue;
        int v = var_of(l, arg);
        if (looks_only && v >= 0)
            continue;
        if (v < 0) {
            /* free(job) ends the struct, not what its fields held; a
             * summarized callee says what it does with them. */
            if (role == PS_FN_FREE && is_plain_ref(arg))
                continue;
            if (role == PS_FN_NONE && call_field_effects(l, call, (unsigned)i, arg))
                continue;
            sub(l, arg, deep);
            continue;
        }
        if (l->vars[v].kind == V_PROXY) {
            arg_mode mode = arg_mode_of(l, call, (unsigned)i);
            if (mode == ARG_RELEASE) {
                release(l, v, call);
                continue;
            }
            use(l, v, arg);
            if (mode == ARG_MOVE)
                escape(l, v);
            continue;
        }
        use(l, v, arg);
        if (l->vars[v].kind == V_TARGET && arg_writes_through(l, call, (unsigned)i))
            emit_op(l, EV_WRITE, v, arg);
    }
}

/* The tracked target pointer an lvalue writes through (`*t`, `t->f`,
 * `t[i]`, `(*t).f`), or -1. */
static int written_target(lifetime *l, CXCursor lhs)
{
    CXCursor e = ps_strip_parens(ps_strip_implicit(lhs));
    CXCursor kids[2];
    for (int guard = 0; guard < 16; guard++) {
        enum CXCursorKind k = clang_getCursorKind(e);
        CXCursor base;
        if (k == CXCursor_MemberRefExpr && ps_children(e, kids, 1) == 1) {
            base = kids[0];
            if (clang_getCanonicalType(clang_getCursorType(base)).kind != CXType_Pointer) {
                e = ps_strip_parens(ps_strip_implicit(base)); /* s.f: what s is */
                continue;
            }
        } else if (k == CXCursor_ArraySubscriptExpr && ps_children(e, kids, 2) == 2) {
            base = kids[0];
        } else if (k == CXCursor_UnaryOperator &&
                   clang_getCursorUnaryOperatorKind(e) == CXUnaryOperator_Deref &&
                   ps_children(e, kids, 1) == 1) {
            base = kids[0];
        } else {
            return -1;
        }
        int t = var_of(l, base);
        if (t < 0 && k != CXCursor_MemberRefExpr) {
            e = ps_strip_parens(ps_strip_implicit(base)); /* t->cell[i]: what t->cell is */
            continue;
        }
        return t >= 0 && l->vars[t].kind == V_TARGET ? t : -1;
    }
    return -1;
}

/* Does storing into this lvalue keep the value beyond the function: a
 * global, or anything reached through a pointer?  (A field or element of
 * a local aggregate does not.) */
static bool outlives_function(CXCursor lhs)
{
    CXCursor e = ps_strip_parens(ps_strip_implicit(lhs));
    CXCursor kids[2];
    for (int guard = 0; guard < 16; guard++) {
        enum CXCursorKind k = clang_getCursorKind(e);
        if (k == CXCursor_DeclRefExpr)
            return !is_local(clang_getCursorReferenced(e));
        if (k == CXCursor_MemberRefExpr && ps_children(e, kids, 1) == 1) {
            if (clang_getCanonicalType(clang_getCursorType(kids[0])).kind == CXType_Pointer)
                return true;
        } else if (k == CXCursor_ArraySubscriptExpr && ps_children(e, kids, 2) == 2) {
            if (clang_getCanonicalType(clang_getCursorType(kids[0])).kind == CXType_Pointer)
                return true;
        } else {
            return true; /* through *p, or something not named: assume it stays */
        }
        e = ps_strip_parens(ps_strip_implicit(kids[0]));
    }
    return true;
}

/* Does passing a pointer as argument i let the callee write through it (a
 * parameter of pointer-to-non-const type, free())?  Unknown parameters
 * (variadic, unprototyped) are not taken as writes. */
static bool arg_writes_through(lifetime *l, CXCursor call, unsigned i)
{
    ps_fn_role role = ps_callee_role(l->ck->pt, call);
    if (role == PS_FN_FREE)
        return true;
    if (role != PS_FN_NONE)
        return false;
    CXCursor callee = ps_callee_decl(call);
    if (clang_Cursor_isNull(callee) ||
        (clang_getCursorKind(callee) == CXCursor_FunctionDecl && is_runtime_function(callee)))
        return false;
    unsigned n = 0;
    const CXCursor *params = ps_callee_params(l->ck->pt, callee, &n);
    if (!params || i >= n)
        return false;
    CXType t = clang_getCanonicalType(clang_getCursorType(params[i]));
    if (t.kind != CXType_Pointer)
        return false;
    return !clang_isConstQualifiedType(clang_getPointeeType(t));
}

static void eval_assign(lifetime *l, CXCursor lhs, CXCursor rhs, bool deep)
{
    int rv = var_of(l, rhs);
    if (rv >= 0) {
        if (deep || is_plain_ref(rhs))
            use(l, rv, rhs);
    } else {
        sub(l, rhs, deep);
    }
    CXCursor ls = ps_strip_implicit(lhs);
    int lv = is_plain_ref(ls) ? var_of(l, ls) : -1;
    if (lv >= 0) {
        assign(l, lv, rhs, rv);
        if (l->vars[lv].through_pointer && rv >= 0)
            emit_op(l, EV_STORE, rv, lhs); /* j->input = p: p now lives in *j too */
        return;
    }
    sub(l, lhs, deep);
    int t = written_target(l, lhs);
    if (t >= 0)
        emit_op(l, EV_WRITE, t, lhs);
    if (rv >= 0) {
        /* stored in a field, an element, a global, through a pointer */
        if (outlives_function(lhs))
            emit_op(l, EV_STORE, rv, lhs);
        else
            escape(l, rv);
    }
}

/* Is e a plain tracked variable, used only for its value as a test? */
static bool tested_var(lifetime *l, CXCursor e)
{
    return var_of(l, e) >= 0;
}

static void eval_at(lifetime *l, CXCursor e, bool deep);

/* The variable decl itself is used (passed, assigned, copied): what its
 * proxy fields hold is no longer known. */
static void note_used_whole(lifetime *l, CXCursor decl)
{
    if (was_used_whole(l, decl))
        return;
    CXCursor *p = ps_array_reserve(l->whole_used, &l->whole_cap, l->nwhole + 1, sizeof *p);
    if (!p) {
        l->overflow = true; /* a summary would miss it: say nothing */
        return;
    }
    l->whole_used = p;
    l->whole_used[l->nwhole++] = decl;
}

static void clobber_field(lifetime *l, int v)
{
    l->vars[v].clobbered = true;
    event e = {.op = EV_ASSIGN, .bits = S_UNKNOWN, .v = v, .owner = OWNER_NONE,
               .copy_from = -1, .consumed = -1, .lender = -1, .alias_of = -1,
               .at = clang_getNullCursor()};
    emit(l, &e);
}

/* Is variable v a followed proxy field of decl (`decl->f`, `decl.f`)? */
static bool followed_field_of(const lifetime *l, size_t v, CXCursor decl)
{
    return !clang_Cursor_isNull(l->vars[v].field) && !l->vars[v].excluded &&
           clang_equalCursors(l->vars[v].decl, decl);
}

static void clobber_fields(lifetime *l, CXCursor decl)
{
    if (is_local(decl))
        note_used_whole(l, decl);
    for (size_t v = 0; v < l->nvars; v++)
        if (followed_field_of(l, v, decl))
            clobber_field(l, (int)v);
}

/* The effect a summary gives field variable v as part of parameter i, or
 * -1 when it says nothing of it. */
static int field_effect_of(lifetime *l, const fn_summary *fs, unsigned i, int v)
{
    const char *usr = field_usr(l, v);
    for (unsigned k = 0; usr[0] && k < fs->s.nfields; k++)
        if (fs->s.fields[k].param == i && strcmp(fs->s.fields[k].usr, usr) == 0)
            return fs->s.fields[k].effect;
    return -1;
}

/*
 * `destroy_job(job)`: the struct job points to is given to a function
 * whose summary says what it does with its proxy fields.  A field it
 * releases is released here (with the call as the place), one it only
 * reads is read here, one it names otherwise, or one it does not name
 * when it uses the struct whole, is forgotten.  False when there is no
 * summary: the caller then forgets every field.
 */
static bool call_field_effects(lifetime *l, CXCursor call, unsigned i, CXCursor arg)
{
    CXCursor e = strip_casts(arg);
    if (clang_getCursorKind(e) != CXCursor_DeclRefExpr)
        return false;
    CXCursor decl = clang_getCursorReferenced(e);
    bool any = false;
    for (size_t v = 0; v < l->nvars && !any; v++)
        any = followed_field_of(l, v, decl);
    if (!any)
        return false;
    const fn_summary *fs = summary_of_call(l, call);
    if (!fs || i >= fs->s.nparams || i >= 32)
        return false;
    if (is_local(decl))
        note_used_whole(l, decl); /* for this function's own summary: it passed the struct on */
    for (size_t v = 0; v < l->nvars; v++) {
        if (!followed_field_of(l, v, decl))
            continue;
        int effect = field_effect_of(l, fs, i, (int)v);
        if (effect == EFFECT_RELEASE) {
            release(l, (int)v, call);
        } else if (effect == EFFECT_BORROW) {
            use(l, (int)v, arg);
        } else if (effect >= 0 || !(fs->s.fields_kept & (1u << i))) {
            clobber_field(l, (int)v); /* it may have put another proxy there */
        }
    }
    return true;
}

/* For a summary: what `return value;` returns (v: the variable it reads). */
static void note_return(lifetime *l, int v, CXCursor value)
{
    event e = {.op = EV_RETURN, .v = v >= 0 && l->vars[v].kind == V_PROXY ? v : -1,
               .owner = OWNER_NONE, .copy_from = -1, .consumed = -1, .lender = -1, .alias_of = -1,
               .at = value};
    if (e.v < 0) {
        CXCursor call;
        ps_fn_role made = creation_call(l, value, &call, 0);
        e.bits = made != PS_FN_NONE ? S_LIVE : is_null_constant(value) ? S_NULL : S_UNKNOWN;
        e.hk = made != PS_FN_NONE ? handle_kind_of_role(made) : HK_UNKNOWN;
    }
    emit(l, &e);
}

static void eval(lifetime *l, CXCursor e, bool deep)
{
    if (l->overflow)
        return;
    if (++l->depth > MAX_DEPTH) {
        l->overflow = true; /* a move may have been missed: give up */
        return;
    }
    eval_at(l, e, deep);
    l->depth--;
}

static void eval_at(lifetime *l, CXCursor e, bool deep)
{
    enum CXCursorKind k = clang_getCursorKind(e);
    switch (k) {
    case CXCursor_UnaryExpr: /* sizeof, _Alignof */
        return;
    case CXCursor_DeclRefExpr: {
        int v = var_of(l, e);
        if (v >= 0) {
            use(l, v, e);
            escape(l, v); /* a use nobody understood lets go of it */
        } else {
            clobber_fields(l, clang_getCursorReferenced(e));
        }
        return;
    }
    case CXCursor_MemberRefExpr: {
        int v = var_of(l, e);
        CXCursor base, field;
        if (v >= 0) {
            use(l, v, e);
            escape(l, v);
            return;
        }
        if (field_of_variable(e, &base, &field) && var_index(l, base) < 0)
            return; /* another field of a variable: its proxy fields stay */
        break;
    }
    case CXCursor_CallExpr:
        eval_call(l, e, deep);
        return;
    case CXCursor_CStyleCastExpr: {
        /* (void)p; silences a compiler: it neither uses nor hands off p. */
        if (clang_getCanonicalType(clang_getCursorType(e)).kind == CXType_Void &&
            var_of(l, e) >= 0)
            return;
        break;
    }
    case CXCursor_VarDecl: {
        int v = var_index(l, e);
        CXCursor init = clang_Cursor_getVarDeclInitializer(e);
        if (v < 0 || l->vars[v].excluded) {
            if (!clang_Cursor_isNull(init))
                sub(l, init, deep);
            return;
        }
        int rv = var_of(l, init);
        if (rv >= 0) {
            if (deep || is_plain_ref(init))
                use(l, rv, init);
        } else if (!clang_Cursor_isNull(init)) {
            sub(l, init, deep);
        }
        assign(l, v, init, rv);
        return;
    }
    case CXCursor_BinaryOperator: {
        CXCursor kids[2];
        if (ps_children(e, kids, 2) != 2)
            break;
        enum CXBinaryOperatorKind op = clang_getCursorBinaryOperatorKind(e);
        if (op == CXBinaryOperator_Assign) {
            eval_assign(l, kids[0], kids[1], deep);
            return;
        }
        if (op == CXBinaryOperator_EQ || op == CXBinaryOperator_NE) {
            /* Comparing the handle reads no proxy. */
            for (int i = 0; i < 2; i++)
                if (!tested_var(l, kids[i]))
                    sub(l, kids[i], deep);
            return;
        }
        break;
    }
    case CXCursor_UnaryOperator: {
        CXCursor kid;
        enum CXUnaryOperatorKind op = clang_getCursorUnaryOperatorKind(e);
        if (op == CXUnaryOperator_LNot && ps_children(e, &kid, 1) == 1 && tested_var(l, kid))
            return;
        if ((op == CXUnaryOperator_PreInc || op == CXUnaryOperator_PostInc ||
             op == CXUnaryOperator_PreDec || op == CXUnaryOperator_PostDec) &&
            ps_children(e, &kid, 1) == 1) {
            eval_children(l, e, deep);
            int t = written_target(l, kid);
            if (t >= 0)
                emit_op(l, EV_WRITE, t, kid);
            return;
        }
        break;
    }
    case CXCursor_CompoundAssignOperator: {
        CXCursor kids[2];
        if (ps_children(e, kids, 2) != 2)
            break;
        eval_children(l, e, deep);
        int t = written_target(l, kids[0]);
        if (t >= 0)
            emit_op(l, EV_WRITE, t, kids[0]);
        return;
    }
    case CXCursor_ReturnStmt: {
        CXCursor value;
        if (ps_children(e, &value, 1) == 1) {
            int v = var_of(l, value);
            if (l->summary)
                note_return(l, v, value);
            if (v >= 0) {
                if (deep || is_plain_ref(value)) {
                    use(l, v, value);
                    escape(l, v);
                }
            } else {
                sub(l, value, deep);
            }
        }
        check_leaks(l, e, false);
        return;
    }
    default:
        break;
    }
    eval_children(l, e, deep);
}

/* ---------------------------------------------------------------- branches */

/* Does cond test a tracked proxy for NULL?  *v is the variable and
 * *null_if_true whether the proxy is NULL when cond is true. */
static int flag_index(const lifetime *l, CXCursor decl)
{
    for (size_t i = 0; i < l->nflags; i++)
        if (clang_equalCursors(l->flags[i].decl, decl))
            return (int)i;
    return -1;
}

static bool null_test_depth(lifetime *l, CXCursor cond, int *v, bool *null_if_true, int depth);

/* A call to __builtin_expect or __builtin_expect_with_probability: the
 * value of its first argument, with a hint for the optimizer. */
static bool is_expectation(CXCursor e)
{
    if (clang_getCursorKind(e) != CXCursor_CallExpr || clang_Cursor_getNumArguments(e) < 1)
        return false;
    char name[64];
    ps_cursor_name(ps_callee_decl(e), name, sizeof name);
    return strncmp(name, "__builtin_expect", 16) == 0;
}

static bool null_test(lifetime *l, CXCursor cond, int *v, bool *null_if_true)
{
    return null_test_depth(l, cond, v, null_if_true, 0);
}

static bool null_test_depth(lifetime *l, CXCursor cond, int *v, bool *null_if_true, int depth)
{
    if (depth > 16)
        return false;
    CXCursor e = strip_casts(ps_strip_parens(ps_strip_implicit(cond)));
    enum CXCursorKind k = clang_getCursorKind(e);
    CXCursor kids[2];
    if (is_expectation(e))
        /* likely(p), unlikely(!p): __builtin_expect(x, c) tests x */
        return null_test_depth(l, clang_Cursor_getArgument(e, 0), v, null_if_true, depth + 1);
    if (k == CXCursor_BinaryOperator && clang_getCursorBinaryOperatorKind(e) == CXBinaryOperator_Assign &&
        ps_children(e, kids, 2) == 2) {
        /* if (!(p = ps_proxy(...))): the test is of what p now holds */
        *v = var_of(l, kids[0]);
        *null_if_true = false;
    } else if (k == CXCursor_DeclRefExpr) {
        *v = var_of(l, e);
        *null_if_true = false;
        if (*v < 0) {
            int f = flag_index(l, clang_getCursorReferenced(e));
            if (f >= 0 && !l->flags[f].written)
                return null_test_depth(l, l->flags[f].init, v, null_if_true, depth + 1);
        }
    } else if (k == CXCursor_UnaryOperator &&
               clang_getCursorUnaryOperatorKind(e) == CXUnaryOperator_LNot &&
               ps_children(e, kids, 1) == 1) {
        if (!null_test_depth(l, kids[0], v, null_if_true, depth + 1))
            return false;
        *null_if_true = !*null_if_true;
    } else if (k == CXCursor_BinaryOperator && ps_children(e, kids, 2) == 2 &&
               (clang_getCursorBinaryOperatorKind(e) == CXBinaryOperator_EQ ||
                clang_getCursorBinaryOperatorKind(e) == CXBinaryOperator_NE)) {
        bool eq = clang_getCursorBinaryOperatorKind(e) == CXBinaryOperator_EQ;
        CXCursor tested;
        if (is_null_constant(kids[1]))
            tested = kids[0];
        else if (is_null_constant(kids[0]))
            tested = kids[1];
        else
            return false;
        if (!null_test_depth(l, tested, v, null_if_true, depth + 1) || *null_if_true)
            return false;
        *null_if_true = eq;
    } else {
        return false;
    }
    return *v >= 0 && l->vars[*v].kind == V_PROXY;
}

static bool is_zero_constant(CXCursor e)
{
    if (is_null_constant(e))
        return true;
    e = strip_casts(e);
    if (clang_getCursorKind(e) != CXCursor_DeclRefExpr ||
        clang_getCursorKind(clang_getCursorReferenced(e)) != CXCursor_EnumConstantDecl)
        return false;
    return clang_getEnumConstantDeclValue(clang_getCursorReferenced(e)) == 0; /* PS_OK */
}

/* An enumerator other than 0 (PS_ERR_TIMEOUT): a failed status. */
static bool is_error_constant(CXCursor e)
{
    e = strip_casts(e);
    if (clang_getCursorKind(e) != CXCursor_DeclRefExpr ||
        clang_getCursorKind(clang_getCursorReferenced(e)) != CXCursor_EnumConstantDecl)
        return false;
    return clang_getEnumConstantDeclValue(clang_getCursorReferenced(e)) != 0;
}

/* A release whose status can be a refusal (the handle then stays valid). */
static bool is_refusable_release(lifetime *l, CXCursor e)
{
    if (clang_getCursorKind(e) != CXCursor_CallExpr)
        return false;
    /* ps_proxy_evict releases the handle even when the evict fails. */
    ps_fn_role role = ps_callee_role(l->ck->pt, e);
    return (role == PS_FN_OWNED_RELEASE || role == PS_FN_BORROW_RELEASE) && is_release_call(l, e);
}

/* A call that returns a new proxy through `&p`: on failure p is NULL. */
static bool is_out_creation(lifetime *l, CXCursor e)
{
    if (clang_getCursorKind(e) != CXCursor_CallExpr)
        return false;
    int out = ps_fn_role_out_arg(ps_callee_role(l->ck->pt, e));
    return out >= 0 && out < clang_Cursor_getNumArguments(e);
}

/* A call whose status says what became of a proxy: a refusable release,
 * or a creation through an out parameter. */
static bool is_status_call(lifetime *l, CXCursor e)
{
    return is_refusable_release(l, e) || is_out_creation(l, e);
}

/* Does cond test the status of a release that can be refused
 * (`ps_owned_release(o) != PS_OK`, `if (ps_borrow_release(b))`, `!...`)?
 * *v is the released variable, *fails_if_true whether cond is true when
 * the release failed (a non-zero status). */
static bool release_test(lifetime *l, CXCursor cond, int *v, bool *fails_if_true, bool *creates)
{
    CXCursor e = ps_strip_parens(ps_strip_implicit(cond));
    e = strip_casts(e);
    bool invert = false;
    CXCursor kids[2];
    for (int guard = 0; guard < 8; guard++) {
        enum CXCursorKind k = clang_getCursorKind(e);
        if (k == CXCursor_UnaryOperator && clang_getCursorUnaryOperatorKind(e) == CXUnaryOperator_LNot &&
            ps_children(e, kids, 1) == 1) {
            invert = !invert;
            e = strip_casts(ps_strip_parens(kids[0]));
        } else if (k == CXCursor_BinaryOperator && ps_children(e, kids, 2) == 2 &&
                   (clang_getCursorBinaryOperatorKind(e) == CXBinaryOperator_EQ ||
                    clang_getCursorBinaryOperatorKind(e) == CXBinaryOperator_NE)) {
            int side = is_zero_constant(kids[1]) ? 0 : is_zero_constant(kids[0]) ? 1 : -1;
            /* st == PS_ERR_TIMEOUT: true only when the call failed (the
             * other branch says nothing, and is left as it is). */
            bool error_code = false;
            if (side < 0) {
                side = is_error_constant(kids[1]) ? 0 : is_error_constant(kids[0]) ? 1 : -1;
                error_code = true;
            }
            if (side < 0)
                return false;
            if ((clang_getCursorBinaryOperatorKind(e) == CXBinaryOperator_EQ) != error_code)
                invert = !invert;
            e = strip_casts(ps_strip_parens(kids[side]));
        } else if (k == CXCursor_BinaryOperator && ps_children(e, kids, 2) == 2 &&
                   clang_getCursorBinaryOperatorKind(e) == CXBinaryOperator_Assign) {
            /* if ((st = ps_owned_release(o)) != PS_OK): tests the release */
            e = strip_casts(ps_strip_parens(ps_strip_implicit(kids[1])));
        } else if (k == CXCursor_DeclRefExpr) {
            /* st = ps_owned_release(o); ... if (st != PS_OK): tests the
             * release when st keeps that one status and nothing else. */
            int f = flag_index(l, clang_getCursorReferenced(e));
            if (f >= 0 && clang_Cursor_isNull(l->flags[f].status) && !l->flags[f].written &&
                !clang_Cursor_isNull(l->flags[f].init)) {
                /* bool ok = !!(ps_stream_next(...) == PS_OK), as assertion
                 * macros write it: testing ok tests the status. */
                e = strip_casts(ps_strip_parens(ps_strip_implicit(l->flags[f].init)));
                continue;
            }
            if (f < 0 || clang_Cursor_isNull(l->flags[f].status) || l->flags[f].status_bad)
                return false;
            e = l->flags[f].status;
        } else {
            break;
        }
    }
    if (!is_status_call(l, e))
        return false;
    *creates = is_out_creation(l, e);
    if (*creates)
        *v = out_var(l, clang_Cursor_getArgument(
                            e, (unsigned)ps_fn_role_out_arg(ps_callee_role(l->ck->pt, e))));
    else
        *v = var_of(l, clang_Cursor_getArgument(e, 0));
    *fails_if_true = !invert;
    return *v >= 0 && l->vars[*v].kind == V_PROXY;
}

/* The state along edge `which` (0: true, 1: false) of a branch; false
 * when that edge cannot be taken. */
static bool refine(lifetime *l, CXCursor cond, block_events *be, size_t which, vstate *st)
{
    if (!be->tested) {
        be->null_test = null_test(l, cond, &be->test_var, &be->null_if_true);
        be->release_test =
            !be->null_test &&
            release_test(l, cond, &be->release_var, &be->fails_if_true, &be->status_creates);
        be->tested = true;
    }
    if (be->release_test) {
        /* A release refused (an owner still borrowed): the handle stays
         * valid, and the path that handles the error is not told it leaks. */
        int r = be->release_var;
        if ((which == 0) == be->fails_if_true) {
            if (be->status_creates)
                st[r].bits = S_NULL; /* a failed ps_stream_next leaves NULL there */
            else if (st[r].bits == S_RELEASED)
                st[r].bits = S_UNKNOWN;
        }
        return true;
    }
    if (!be->null_test)
        return true;
    int v = be->test_var;
    bool is_null = (which == 0) == be->null_if_true;
    if (is_null) {
        if (st[v].bits & (S_LIVE | S_UNKNOWN | S_NULL | S_MOVED | S_STORED))
            st[v].bits = S_NULL;
        /* ps_into_owned(q) failed: q was not taken. */
        int q = st[v].consumed;
        if (q >= 0 && st[q].bits == S_SENT)
            st[q].bits = st[v].consumed_bits;
        return true;
    }
    if (st[v].bits == S_NULL)
        return false;
    st[v].bits &= (uint8_t)~S_NULL;
    return true;
}

/* ------------------------------------------------------------- variables */

typedef struct scan {
    lifetime *l;
} scan;

static bool add_var_entry(lifetime *l, CXCursor decl, var_kind kind);

static bool add_var(lifetime *l, CXCursor decl, var_kind kind)
{
    if (var_index(l, decl) >= 0)
        return true;
    return add_var_entry(l, decl, kind);
}

/* Appends an entry for decl (a field's entry has decl as its variable). */
static bool add_var_entry(lifetime *l, CXCursor decl, var_kind kind)
{
    if (l->nvars >= MAX_VARS) {
        l->overflow = true;
        return false;
    }
    if (l->nvars == l->cap) {
        size_t n = l->cap ? l->cap * 2 : 8;
        var *p = realloc(l->vars, n * sizeof *p);
        if (!p) {
            l->overflow = true;
            return false;
        }
        l->vars = p;
        l->cap = n;
    }
    l->vars[l->nvars].decl = decl;
    l->vars[l->nvars].field = clang_getNullCursor();
    l->vars[l->nvars].through_pointer = false;
    l->vars[l->nvars].kind = kind;
    l->vars[l->nvars].excluded = false;
    l->vars[l->nvars].clobbered = false;
    l->vars[l->nvars].implicit = false;
    l->vars[l->nvars].usr[0] = '\0';
    l->vars[l->nvars].decl_hk = HK_UNKNOWN;
    l->nvars++;
    return true;
}

/* Is value a resolve of a tracked proxy, or a copy of a tracked target? */
static bool is_target_value(lifetime *l, CXCursor value)
{
    if (resolved_var(l, value) >= 0)
        return true;
    int t = var_of(l, value_of(value));
    return t >= 0 && l->vars[t].kind == V_TARGET;
}

static void maybe_target(lifetime *l, CXCursor decl, CXCursor value)
{
    if (!is_local(decl) || clang_getCanonicalType(clang_getCursorType(decl)).kind != CXType_Pointer)
        return;
    if (var_index(l, decl) >= 0)
        return;
    if (is_target_value(l, value)) {
        add_var(l, decl, V_TARGET);
        return;
    }
    /* What it copies may be declared later in the walk (inside a statement
     * expression) or become a target later: look again after the scan. */
    CXCursor v = value_of(value);
    if (clang_getCursorKind(v) != CXCursor_DeclRefExpr && clang_getCursorKind(v) != CXCursor_CallExpr)
        return;
    struct pending_target *p =
        ps_array_reserve(l->pending, &l->pending_cap, l->npending + 1, sizeof *p);
    if (!p)
        return; /* a copy missed: fewer findings, never a wrong one */
    l->pending = p;
    l->pending[l->npending].decl = decl;
    l->pending[l->npending].value = value;
    l->npending++;
}

/* Copies of targets found after their source: repeated while it finds more. */
static void resolve_pending_targets(lifetime *l)
{
    for (int round = 0; round < 4; round++) {
        bool found = false;
        for (size_t i = 0; i < l->npending; i++) {
            struct pending_target *p = &l->pending[i];
            if (var_index(l, p->decl) < 0 && is_target_value(l, p->value)) {
                add_var(l, p->decl, V_TARGET);
                found = true;
            }
        }
        if (!found)
            return;
    }
}

static bool flag_candidate(CXCursor decl)
{
    CXType t = clang_getCanonicalType(clang_getCursorType(decl));
    return is_local(decl) && t.kind != CXType_Pointer && t.kind != CXType_Record;
}

static int add_flag(lifetime *l, CXCursor decl, CXCursor init, bool written)
{
    if (l->nflags == l->flags_cap) {
        size_t n = l->flags_cap ? l->flags_cap * 2 : 4;
        flag *p = realloc(l->flags, n * sizeof *p);
        if (!p)
            return -1;
        l->flags = p;
        l->flags_cap = n;
    }
    l->flags[l->nflags].decl = decl;
    l->flags[l->nflags].init = init;
    l->flags[l->nflags].written = written;
    l->flags[l->nflags].status = clang_getNullCursor();
    l->flags[l->nflags].status_bad = false;
    return (int)l->nflags++;
}

/* decl is given value (its initializer when is_init): a refusable release
 * makes decl a status variable of that release. */
static bool maybe_status(lifetime *l, CXCursor decl, CXCursor value, bool is_init)
{
    CXCursor e = strip_casts(ps_strip_parens(ps_strip_implicit(value)));
    if (!flag_candidate(decl) || !is_status_call(l, e))
        return false;
    int f = flag_index(l, decl);
    if (f < 0)
        f = add_flag(l, decl, is_init ? value : clang_getNullCursor(), !is_init);
    if (f < 0)
        return true;
    l->flags[f].written = l->flags[f].written || !is_init;
    if (clang_Cursor_isNull(l->flags[f].status))
        l->flags[f].status = e;
    else
        l->flags[f].status_bad = true;
    return true;
}

static void maybe_flag(lifetime *l, CXCursor decl, CXCursor init)
{
    if (!flag_candidate(decl) || maybe_status(l, decl, init, true))
        return;
    /* The variables it tests are not all known yet: look at the shape only. */
    CXCursor e = ps_strip_parens(ps_strip_implicit(init));
    enum CXCursorKind k = clang_getCursorKind(e);
    if (k != CXCursor_UnaryOperator && k != CXCursor_BinaryOperator && k != CXCursor_DeclRefExpr)
        return;
    add_flag(l, decl, init, false);
}

static void flag_written(lifetime *l, CXCursor decl)
{
    int f = flag_index(l, decl);
    if (f >= 0) {
        l->flags[f].written = true;
        l->flags[f].status_bad = true;
    }
}

static enum CXChildVisitResult attr_visit(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    if (clang_isAttribute(clang_getCursorKind(c)) && clang_getCursorKind(c) != CXCursor_AnnotateAttr) {
        *(bool *)data = true;
        return CXChildVisit_Break;
    }
    return CXChildVisit_Continue;
}

/* A variable with an attribute other than ps-check's annotations, such as
 * __attribute__((cleanup(f))), may be released where no statement says. */
static bool has_foreign_attribute(CXCursor decl)
{
    bool found = false;
    clang_visitChildren(decl, attr_visit, &found);
    return found;
}

static void note_address_taken(lifetime *l, CXCursor what)
{
    CXCursor *p = ps_array_reserve(l->addr_taken, &l->addr_cap, l->naddr + 1, sizeof *p);
    if (!p) {
        l->overflow = true; /* a write may be missed: say nothing */
        return;
    }
    l->addr_taken = p;
    l->addr_taken[l->naddr++] = what;
}

/* `s.f` or `j->f` of a local variable or parameter, f a proxy handle: a
 * field followed like a variable. */
/* Follows field of variable base, if it holds a proxy handle and is not
 * followed yet; the new entry, or NULL. */
static var *add_field_var(lifetime *l, CXCursor base, CXCursor field)
{
    if (field_var_index(l, base, field) >= 0 || ps_decl_handle_depth(l->ck->pt, field, false) != 0)
        return NULL;
    ps_ptype pt = ps_ptype_of_decl(l->ck->pt, field);
    if (pt.kind == PS_PROXY_OR || !add_var_entry(l, base, V_PROXY))
        return NULL;
    var *nv = &l->vars[l->nvars - 1];
    nv->field = field;
    nv->decl_hk = handle_kind_of_decl(pt.kind);
    nv->through_pointer =
        clang_getCanonicalType(clang_getCursorType(base)).kind == CXType_Pointer;
    return nv;
}

static void maybe_field(lifetime *l, CXCursor member)
{
    CXCursor base, field;
    if (field_of_variable(member, &base, &field) && is_local(base))
        add_field_var(l, base, field);
}

/* After the scan: fields of a variable whose address is taken, or whose
 * own address is taken, may change where no statement says. */
static void exclude_address_taken(lifetime *l)
{
    for (size_t i = 0; i < l->naddr; i++)
        for (size_t v = 0; v < l->nvars; v++)
            if (!clang_Cursor_isNull(l->vars[v].field) &&
                (clang_equalCursors(l->vars[v].decl, l->addr_taken[i]) ||
                 clang_equalCursors(l->vars[v].field, l->addr_taken[i])))
                l->vars[v].excluded = true;
}

static bool is_out_arg(const lifetime *l, CXCursor addr_of)
{
    for (size_t i = 0; i < l->nout; i++)
        if (clang_equalCursors(l->out_args[i], addr_of))
            return true;
    return false;
}

static enum CXChildVisitResult scan_visit(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    lifetime *l = data;
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k == CXCursor_VarDecl || k == CXCursor_ParmDecl) {
        if (is_local(c) && ps_decl_handle_depth(l->ck->pt, c, false) == 0) {
            ps_ptype pt = ps_ptype_of_decl(l->ck->pt, c);
            if (pt.kind != PS_PROXY_OR && add_var(l, c, V_PROXY)) {
                var *nv = &l->vars[l->nvars - 1];
                nv->decl_hk = handle_kind_of_decl(pt.kind);
                if (has_foreign_attribute(c))
                    nv->excluded = true;
            }
        } else if (k == CXCursor_VarDecl) {
            CXCursor init = clang_Cursor_getVarDeclInitializer(c);
            if (!clang_Cursor_isNull(init)) {
                maybe_target(l, c, init);
                maybe_flag(l, c, init);
            }
        }
    } else if (k == CXCursor_BinaryOperator || k == CXCursor_CompoundAssignOperator) {
        CXCursor kids[2];
        bool plain = k == CXCursor_BinaryOperator &&
                     clang_getCursorBinaryOperatorKind(c) == CXBinaryOperator_Assign;
        if ((plain || k == CXCursor_CompoundAssignOperator) && ps_children(c, kids, 2) == 2) {
            CXCursor lhs = ps_strip_parens(ps_strip_implicit(kids[0]));
            if (clang_getCursorKind(lhs) == CXCursor_DeclRefExpr) {
                CXCursor decl = clang_getCursorReferenced(lhs);
                if (plain)
                    maybe_target(l, decl, kids[1]);
                if (!plain || !maybe_status(l, decl, kids[1], false))
                    flag_written(l, decl);
            }
        }
    } else if (k == CXCursor_UnaryOperator) {
        enum CXUnaryOperatorKind op = clang_getCursorUnaryOperatorKind(c);
        CXCursor kid;
        if (op != CXUnaryOperator_AddrOf && op != CXUnaryOperator_PreInc &&
            op != CXUnaryOperator_PostInc && op != CXUnaryOperator_PreDec &&
            op != CXUnaryOperator_PostDec)
            return CXChildVisit_Recurse;
        if (ps_children(c, &kid, 1) == 1) {
            CXCursor s = ps_strip_parens(ps_strip_implicit(kid));
            if (clang_getCursorKind(s) == CXCursor_DeclRefExpr) {
                CXCursor decl = clang_getCursorReferenced(s);
                int v = var_index(l, decl);
                bool out = op == CXUnaryOperator_AddrOf && is_out_arg(l, c);
                if (v >= 0 && op == CXUnaryOperator_AddrOf && !out)
                    l->vars[v].excluded = true;
                if (op == CXUnaryOperator_AddrOf && !out)
                    note_address_taken(l, decl);
                flag_written(l, decl);
            } else if (op == CXUnaryOperator_AddrOf && clang_getCursorKind(s) == CXCursor_MemberRefExpr) {
                note_address_taken(l, clang_getCursorReferenced(s));
            }
        }
    } else if (k == CXCursor_MemberRefExpr) {
        maybe_field(l, c);
    } else if (k == CXCursor_CallExpr && is_out_creation(l, c)) {
        /* `&p` there is where the call puts a new proxy, not an alias. */
        CXCursor arg = clang_Cursor_getArgument(
            c, (unsigned)ps_fn_role_out_arg(ps_callee_role(l->ck->pt, c)));
        CXCursor *p = ps_array_reserve(l->out_args, &l->out_cap, l->nout + 1, sizeof *p);
        if (p) {
            l->out_args = p;
            l->out_args[l->nout++] = ps_strip_parens(ps_strip_implicit(arg));
        }
    }
    return CXChildVisit_Recurse;
}

/* --------------------------------------------------------------- dataflow */

static void init_state(lifetime *l, vstate *st)
{
    for (size_t v = 0; v < l->nvars; v++) {
        st[v].bits = l->vars[v].kind == V_PROXY ? S_UNKNOWN : 0;
        st[v].hk = l->vars[v].decl_hk;
        st[v].prev = 0;
        st[v].consumed_bits = 0;
        st[v].consumed = -1;
        st[v].lender = -1;
        st[v].group = -1;
        st[v].owner = OWNER_NONE;
        st[v].rel = clang_getNullCursor();
        st[v].made = clang_getNullCursor();
    }
}

/* Joins src into dst; true when dst changed. */
static bool merge(lifetime *l, vstate *dst, bool *reached, const vstate *src)
{
    if (!*reached) {
        memcpy(dst, src, l->nvars * sizeof *dst);
        *reached = true;
        return true;
    }
    bool changed = false;
    for (size_t v = 0; v < l->nvars; v++) {
        uint8_t bits = dst[v].bits | src[v].bits;
        int group = dst[v].group;
        if (dst[v].group != src[v].group) {
            /* Names of one proxy on some paths only: which name releases it
             * is no longer known, so a leak of it is not reported. */
            group = -1;
            if (bits & S_LIVE)
                bits = (uint8_t)((bits & ~S_LIVE) | S_MOVED);
        }
        if (bits != dst[v].bits || group != dst[v].group) {
            dst[v].bits = bits;
            dst[v].group = group;
            changed = true;
        }
        if (dst[v].owner != src[v].owner && dst[v].owner != OWNER_NONE) {
            dst[v].owner = OWNER_NONE; /* resolved from different proxies: forget it */
            changed = true;
        }
        uint8_t hk = dst[v].hk | src[v].hk;
        if (hk != dst[v].hk) {
            dst[v].hk = hk;
            changed = true;
        }
        if (dst[v].consumed != src[v].consumed && dst[v].consumed != -1) {
            dst[v].consumed = -1;
            changed = true;
        }
        if (dst[v].lender != src[v].lender && dst[v].lender != -1) {
            dst[v].lender = -1; /* borrowed from different owners: forget it */
            changed = true;
        }
        dst[v].prev |= src[v].prev;
        dst[v].consumed_bits |= src[v].consumed_bits;
        if (clang_Cursor_isNull(dst[v].rel))
            dst[v].rel = src[v].rel;
        if (clang_Cursor_isNull(dst[v].made))
            dst[v].made = src[v].made;
    }
    return changed;
}

/* Walks a block's elements into events (once per block). */
static void compile_block(lifetime *l, const ps_cfg_block *blk, block_events *be)
{
    be->start = l->nev;
    for (size_t i = 0; i < blk->nelems; i++) {
        const ps_cfg_elem *el = &blk->elems[i];
        /* `if (p)`: testing the handle is not using the proxy. */
        if (blk->term == PS_CFG_BRANCH && i + 1 == blk->nelems &&
            clang_equalCursors(el->cursor, blk->cond) && tested_var(l, el->cursor))
            continue;
        if (el->kind == PS_CFG_END)
            check_leaks(l, el->cursor, true);
        else
            eval(l, el->cursor, el->kind == PS_CFG_EXPR);
    }
    be->n = l->nev - be->start;
    be->done = true;
}

static void run_block(lifetime *l, const ps_cfg_block *blk, block_events *be)
{
    if (!be->done)
        compile_block(l, blk, be);
    if (l->overflow || be->n == 0)
        return; /* l->ev is still NULL when no block has had an event */
    replay(l, l->ev + be->start, be->n);
}

static void analyze(lifetime *l, const ps_cfg *cfg)
{
    size_t nb = cfg->nblocks, nv = l->nvars;
    vstate *in = calloc(nb * nv, sizeof *in);
    bool *reached = calloc(nb, sizeof *reached);
    bool *queued = calloc(nb, sizeof *queued);
    size_t *work = malloc(nb * sizeof *work);
    vstate *cur = malloc(nv * sizeof *cur);
    vstate *edge = malloc(nv * sizeof *edge);
    block_events *bev = calloc(nb, sizeof *bev);
    if (!in || !reached || !queued || !work || !cur || !edge || !bev)
        goto out;
    l->cur = cur;

    init_state(l, &in[PS_CFG_ENTRY * nv]);
    reached[PS_CFG_ENTRY] = true;
    size_t head = 0, count = 0;
    work[count++] = PS_CFG_ENTRY;
    queued[PS_CFG_ENTRY] = true;
    size_t budget = nb * VISITS_PER_BLOCK;

    /* Pass 1: the fixpoint, silently.  Pass 2 replays each block once from
     * its final state and reports. */
    for (int pass = 0; pass < 2; pass++) {
        if (l->overflow)
            goto out;
        l->report = pass == 1 && !l->summary;
        l->collect = pass == 1 && l->summary;
        size_t next_block = 0;
        for (;;) {
            size_t b;
            if (pass == 0) {
                if (count == 0)
                    break;
                if (budget-- == 0)
                    goto out; /* no fixpoint within the bound: say nothing */
                b = work[head];
                head = (head + 1) % nb;
                count--;
                queued[b] = false;
            } else {
                if (next_block == nb)
                    break;
                b = next_block++;
                if (!reached[b])
                    continue;
            }
            const ps_cfg_block *blk = &cfg->blocks[b];
            memcpy(cur, &in[b * nv], nv * sizeof *cur);
            run_block(l, blk, &bev[b]);
            if (l->overflow)
                goto out; /* a move may have been missed: say nothing */
            if (pass == 1)
                continue;
            for (size_t s = 0; s < blk->nsucc; s++) {
                size_t to = blk->succ[s];
                memcpy(edge, cur, nv * sizeof *edge);
                if (blk->term == PS_CFG_BRANCH && s < 2 && !refine(l, blk->cond, &bev[b], s, edge))
                    continue;
                if (merge(l, &in[to * nv], &reached[to], edge) && !queued[to]) {
                    queued[to] = true;
                    work[(head + count) % nb] = to;
                    count++;
                }
            }
        }
    }
out:
    l->cur = NULL;
    free(in);
    free(reached);
    free(queued);
    free(work);
    free(cur);
    free(edge);
    free(bev);
}

typedef struct return_scan {
    lifetime *l;
    bool any, all_new;
} return_scan;

static enum CXChildVisitResult return_visit(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    return_scan *r = data;
    if (clang_getCursorKind(c) != CXCursor_ReturnStmt)
        return CXChildVisit_Recurse;
    CXCursor value, call;
    if (ps_children(c, &value, 1) != 1)
        return CXChildVisit_Continue;
    if (creation_call(r->l, value, &call, 0) != PS_FN_NONE)
        r->any = true;
    else if (!is_null_constant(value))
        r->all_new = false;
    return CXChildVisit_Continue;
}

/*
 * What the body did with the proxy fields of each struct given by pointer
 * (`j->input` of `struct job *j`): released on every path out, only read
 * (never written, released or handed on, and the struct never used
 * whole), or anything else (a move: the caller forgets what it knew).
 * A parameter the body uses only to reach its fields leaves the fields it
 * never names untouched (fields_kept).
 */
static void summarize_fields(lifetime *l, CXCursor function, fn_summary *fs)
{
    fs->s.nfields = 0;
    fs->s.fields_kept = 0;
    for (unsigned i = 0; i < fs->s.nparams && i < 32; i++) {
        CXCursor param = clang_Cursor_getArgument(function, i);
        if (!points_to_proxy_fields(l->ck, param))
            continue;
        bool kept = !was_used_whole(l, param);
        for (size_t v = 0; v < l->nvars; v++) {
            if (clang_Cursor_isNull(l->vars[v].field) || !clang_equalCursors(l->vars[v].decl, param))
                continue;
            uint8_t bits = l->exit_bits[v];
            const char *usr = field_usr(l, (int)v);
            if (l->vars[v].excluded || !usr[0] || fs->s.nfields == PS_SUMMARY_MAX_FIELDS) {
                kept = false; /* not summarized: the caller must forget it */
                continue;
            }
            bool untouched = bits && !(bits & ~(S_UNKNOWN | S_NULL)) && !l->vars[v].clobbered;
            if (untouched && l->vars[v].implicit)
                continue; /* never named, and no callee did anything to it */
            ps_field_effect *fe = &fs->s.fields[fs->s.nfields++];
            fe->param = (uint8_t)i;
            snprintf(fe->usr, sizeof fe->usr, "%s", usr);
            if (bits == S_RELEASED)
                fe->effect = EFFECT_RELEASE;
            else if (untouched)
                fe->effect = EFFECT_BORROW;
            else
                fe->effect = EFFECT_MOVE;
        }
        if (kept)
            fs->s.fields_kept |= 1u << i;
    }
}

typedef struct param_fields {
    lifetime *l;
    CXCursor param;
} param_fields;

static enum CXVisitorResult param_field_visit(CXCursor field, CXClientData data)
{
    param_fields *pf = data;
    var *nv = add_field_var(pf->l, pf->param, field);
    if (nv)
        nv->implicit = true;
    return CXVisit_Continue;
}

/* For a summary: every proxy field of a struct given by pointer is
 * followed, named in the body or not, so that what callees do to them
 * (`finish(j)` calling `release_input(j)`) reaches the summary. */
static void add_param_fields(lifetime *l, CXCursor function)
{
    int n = clang_Cursor_getNumArguments(function);
    for (int i = 0; i < n && i < 32; i++) {
        CXCursor param = clang_Cursor_getArgument(function, (unsigned)i);
        CXType rec;
        if (!pointee_record(param, &rec))
            continue; /* add_field_var follows only the proxy fields */
        param_fields pf = {l, param};
        clang_Type_visitFields(rec, param_field_visit, &pf);
    }
}

static void lifetime_free(lifetime *l)
{
    free(l->vars);
    free(l->flags);
    free(l->pending);
    free(l->addr_taken);
    free(l->out_args);
    free(l->whole_used);
    free(l->ev);
    free(l->exit_bits);
}

/* Runs the analysis over one function; with fs, silently, filling fs in.
 * Returns false when the function could not be followed. */
static bool run_function(ps_checker *ck, CXCursor function, fn_summary *fs)
{
    lifetime l;
    memset(&l, 0, sizeof l);
    l.ck = ck;
    l.function = function;
    l.summary = fs;
    clang_visitChildren(function, scan_visit, &l);
    if (fs)
        add_param_fields(&l, function);
    exclude_address_taken(&l);
    resolve_pending_targets(&l);
    bool any = false, ok = false;
    for (size_t v = 0; v < l.nvars; v++)
        any |= l.vars[v].kind == V_PROXY && !l.vars[v].excluded;
    if (fs && !any && !l.overflow) {
        /* No proxy variable: whether every return creates one is all there
         * is to know (`return ps_proxy(...);`). */
        return_scan r = {&l, false, true};
        clang_visitChildren(function, return_visit, &r);
        fs->s.returns_new = r.any && r.all_new;
        fs->s.ret_hk = 0;
        lifetime_free(&l);
        return true;
    }
    if (fs && any)
        l.exit_bits = calloc(l.nvars, 1);
    if (any && !l.overflow && (!fs || l.exit_bits)) {
        ps_cfg *cfg = NULL;
        if (ps_cfg_build_memo(function, MAX_BLOCKS, ck->cfg_memo, &cfg) == PS_CFG_OK) {
            analyze(&l, cfg);
            ps_cfg_free(cfg);
            ok = !l.overflow;
        }
    }
    if (fs && ok) {
        for (unsigned i = 0; i < fs->s.nparams; i++) {
            int v = var_index(&l, clang_Cursor_getArgument(function, i));
            uint8_t bits = v >= 0 && !l.vars[v].excluded ? l.exit_bits[v] : 0;
            if (bits == S_RELEASED)
                fs->s.effect[i] = EFFECT_RELEASE; /* released on every path out */
            else if (bits && !(bits & ~(S_UNKNOWN | S_NULL)))
                fs->s.effect[i] = EFFECT_BORROW; /* only read: never released, kept or moved */
        }
        fs->s.returns_new = (l.ret_bits & S_LIVE) && !(l.ret_bits & ~(S_LIVE | S_NULL));
        fs->s.ret_hk = l.ret_hk & (HK_UNKNOWN | HK_PLAIN) ? 0 : l.ret_hk;
        summarize_fields(&l, function, fs);
        for (unsigned i = 0; i < fs->s.nparams && i < 32; i++)
            if (ps_decl_handle_depth(ck->pt, clang_Cursor_getArgument(function, i), false) == 0)
                fs->s.proxy_params |= 1u << i;
    }
    lifetime_free(&l);
    return ok;
}

void ps_check_lifetime(ps_checker *ck, CXCursor function)
{
    if (ps_proxy_struct_is_complete(ck->pt))
        return; /* the library's own code: a handle there is an object it owns */
    run_function(ck, function, NULL);
}

typedef struct field_probe {
    ps_checker *ck;
    bool found;
} field_probe;

static enum CXVisitorResult proxy_field_visit(CXCursor field, CXClientData data)
{
    field_probe *p = data;
    if (ps_decl_handle_depth(p->ck->pt, field, false) != 0)
        return CXVisit_Continue;
    p->found = true;
    return CXVisit_Break;
}

/* The struct a parameter points to (`struct job *j`): false when it is not
 * a pointer to a struct. */
static bool pointee_record(CXCursor param, CXType *rec)
{
    CXType t = clang_getCanonicalType(clang_getCursorType(param));
    if (t.kind != CXType_Pointer)
        return false;
    *rec = clang_getCanonicalType(clang_getPointeeType(t));
    return rec->kind == CXType_Record;
}

/* Is the parameter a pointer to a struct with a proxy field (`struct job *j`)? */
static bool points_to_proxy_fields(ps_checker *ck, CXCursor param)
{
    CXType rec;
    if (!pointee_record(param, &rec))
        return false;
    field_probe p = {ck, false};
    clang_Type_visitFields(rec, proxy_field_visit, &p);
    return p.found;
}

/* Does a function's declaration involve a proxy (a parameter, the result,
 * or the proxy fields of a struct given by pointer)?  Only those are worth
 * a summary. */
static bool involves_proxy(ps_checker *ck, CXCursor fn, unsigned *nparams)
{
    int n = clang_Cursor_getNumArguments(fn);
    *nparams = n < 0 ? 0 : (unsigned)n;
    if (ps_decl_handle_depth(ck->pt, fn, false) == 0)
        return true;
    for (int i = 0; i < n; i++)
        if (ps_decl_handle_depth(ck->pt, clang_Cursor_getArgument(fn, (unsigned)i), false) == 0)
            return true;
    for (int i = 0; i < n; i++)
        if (points_to_proxy_fields(ck, clang_Cursor_getArgument(fn, (unsigned)i)))
            return true;
    return false;
}

/*
 * Runs the silent analysis over t->v[index]'s body, from the approximation
 * already in its summary, until the summary stops changing.  A recursive
 * call (to it, or to a function of the same cycle) reads the previous
 * round's summary.  False when the body cannot be followed or there is no
 * fixpoint within MAX_SUMMARY_ROUNDS.
 */
static bool summary_fixpoint(ps_checker *ck, struct ps_flow_summaries *t, size_t index, bool *recursive)
{
    *recursive = false;
    for (unsigned round = 0; round < MAX_SUMMARY_ROUNDS; round++) {
        fn_summary *fs = &t->v[index];
        fs->round = round;
        fs->self_used = false;
        /* run_function may grow the array: find the summary again afterwards. */
        fn_summary result = *fs;
        ps_summary_unknown(&result.s, fs->s.nparams);
        bool ok = run_function(ck, t->v[index].fn, &result);
        fs = &t->v[index];
        bool changed = !ps_summary_equal(&result.s, &fs->s);
        fs->s = result.s;
        *recursive = *recursive || fs->self_used;
        if (!ok)
            return false;
        if (!fs->self_used || !changed)
            return true;
    }
    return false;
}

/*
 * A summary, computed by summary_fixpoint starting from "releases every
 * parameter": a recursion that releases on its base case then settles on
 * a release.  A recursive function left with a move (or no fixpoint) for
 * some parameters is tried again with those parameters starting from
 * "only borrows": a read-only recursion settles there, and a borrow that
 * is a fixpoint is below the move (so a leak after calling it is seen).
 * Otherwise a move.  A summary that read the approximation of a function
 * further out is left not done, and computed again when next asked for.
 */
static const fn_summary *compute_summary(ps_checker *ck, struct ps_flow_summaries *t, size_t index)
{
    fn_summary *fs = &t->v[index];
    fs->running = true;
    fs->level = t->depth;
    unsigned outer_lowest = t->lowest_read;
    t->lowest_read = UINT32_MAX;
    t->depth++;
    ps_summary_unknown(&fs->s, fs->s.nparams);
    memset(fs->s.effect, EFFECT_RELEASE, sizeof fs->s.effect);
    bool recursive;
    bool ok = summary_fixpoint(ck, t, index, &recursive);
    fs = &t->v[index];
    if (!ok)
        ps_summary_unknown(&fs->s, fs->s.nparams);
    bool retry[MAX_SUMMARY_PARAMS] = {false};
    bool any_retry = false;
    for (unsigned i = 0; recursive && i < fs->s.nparams; i++)
        if (fs->s.effect[i] == EFFECT_MOVE &&
            ps_decl_handle_depth(ck->pt, clang_Cursor_getArgument(fs->fn, i), false) == 0)
            retry[i] = any_retry = true;
    if (any_retry) {
        fn_summary first = *fs;
        for (unsigned i = 0; i < fs->s.nparams; i++)
            if (retry[i])
                fs->s.effect[i] = EFFECT_BORROW;
        bool again = summary_fixpoint(ck, t, index, &recursive);
        fs = &t->v[index];
        bool borrows = again;
        for (unsigned i = 0; i < fs->s.nparams && borrows; i++)
            if (retry[i] ? fs->s.effect[i] != EFFECT_BORROW : fs->s.effect[i] != first.s.effect[i])
                borrows = false;
        if (!borrows)
            fs->s = first.s;
    }
    t->depth--;
    fs->running = false;
    unsigned lowest = t->lowest_read;
    fs->done = lowest >= fs->level;
    t->lowest_read = lowest < outer_lowest ? lowest : outer_lowest;
    return fs;
}

/* The table slot of a function's summary (allocating the table), or NULL. */
static size_t *summary_slot(ps_checker *ck, CXCursor fn)
{
    if (!ck->summaries) {
        ck->summaries = calloc(1, sizeof *ck->summaries);
        if (!ck->summaries)
            return NULL;
        ck->summaries->lowest_read = UINT32_MAX;
    }
    return ps_decl_user_slot(ck->pt, fn);
}

/* A new summary for fn, its index kept in *slot; NULL when out of memory. */
static fn_summary *new_summary(struct ps_flow_summaries *t, size_t *slot, CXCursor fn)
{
    fn_summary *grown = ps_array_reserve(t->v, &t->cap, t->n + 1, sizeof *t->v);
    if (!grown)
        return NULL;
    t->v = grown;
    *slot = ++t->n;
    fn_summary *fs = &t->v[t->n - 1];
    memset(fs, 0, sizeof *fs);
    fs->fn = fn;
    return fs;
}

/*
 * The summary of a function whose body this unit does not have: from the
 * other files' table when it is there, else the conservative meaning
 * (every parameter a move).  What was looked up, found or not, is kept in
 * ck->reads, so the driver can tell when this unit must be checked again.
 */
static const fn_summary *external_summary(ps_checker *ck, CXCursor callee)
{
    if (!ck->external && !ck->reads)
        return NULL;
    CXCursor decl = clang_getCanonicalCursor(callee);
    if (is_runtime_function(decl) || clang_getCursorLinkage(decl) != CXLinkage_External)
        return NULL;
    size_t *slot = summary_slot(ck, decl);
    if (!slot)
        return NULL;
    struct ps_flow_summaries *t = ck->summaries;
    if (*slot)
        return &t->v[*slot - 1];
    fn_summary *fs = new_summary(t, slot, decl);
    if (!fs)
        return NULL;
    fs->done = true;
    unsigned nparams;
    if (!involves_proxy(ck, decl, &nparams))
        return fs; /* nothing to say */
    ps_summary_unknown(&fs->s, nparams);
    char usr[512];
    usr_of(decl, usr, sizeof usr);
    if (!usr[0])
        return fs;
    const ps_summary_entry *e = ps_summary_table_find(ck->external, usr);
    if (e && e->present && e->s.nparams == fs->s.nparams)
        fs->s = e->s;
    if (ck->reads && ps_summary_table_add(ck->reads, usr, e && e->present ? &e->s : NULL) != 0)
        ck->reads_incomplete = true;
    return fs;
}

/* The summary of a function (its definition, or NULL), computed if need
 * be; NULL when there is none (not defined in this unit, the runtime's,
 * too deep, or not followed). */
static const fn_summary *summary_of_function(ps_checker *ck, CXCursor def)
{
    if (clang_Cursor_isNull(def) || is_runtime_function(def))
        return NULL;
    size_t *slot = summary_slot(ck, def);
    if (!slot)
        return NULL;
    struct ps_flow_summaries *t = ck->summaries;
    size_t index;
    fn_summary *fs;
    if (*slot) {
        index = *slot - 1;
        fs = &t->v[index];
        if (fs->done)
            return fs;
        if (fs->running) {
            /* A recursive call: the approximation of this round. */
            fs->self_used = true;
            if (fs->level < t->lowest_read)
                t->lowest_read = fs->level;
            return fs;
        }
        /* Computed from another function's approximation: again. */
    } else {
        if (!(fs = new_summary(t, slot, def)))
            return NULL;
        index = t->n - 1;
        unsigned nparams;
        bool worth = involves_proxy(ck, def, &nparams);
        if (!worth || nparams > MAX_SUMMARY_PARAMS || t->depth >= MAX_SUMMARY_DEPTH) {
            fs->done = !worth; /* nothing to say; or too deep: stays unknown */
            return fs->done ? fs : NULL;
        }
        fs->s.nparams = nparams;
    }
    return compute_summary(ck, t, index);
}

/* The summary of the function a call goes to: computed from its body in
 * this unit, or read from the other files' (see external_summary). */
static const fn_summary *summary_of_call(lifetime *l, CXCursor call)
{
    CXCursor callee = ps_callee_decl(call);
    if (clang_getCursorKind(callee) != CXCursor_FunctionDecl)
        return NULL;
    CXCursor def = clang_getCursorDefinition(callee);
    if (clang_Cursor_isNull(def))
        return external_summary(l->ck, callee);
    return summary_of_function(l->ck, def);
}

typedef struct export_ctx {
    ps_checker *ck;
    bool failed;
} export_ctx;

static enum CXChildVisitResult export_visit(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    export_ctx *x = data;
    if (clang_getCursorKind(c) != CXCursor_FunctionDecl || !clang_isCursorDefinition(c) ||
        !clang_Location_isFromMainFile(clang_getCursorLocation(c)) ||
        clang_getCursorLinkage(c) != CXLinkage_External)
        return CXChildVisit_Continue;
    unsigned nparams;
    if (!involves_proxy(x->ck, c, &nparams))
        return CXChildVisit_Continue;
    const fn_summary *fs = summary_of_function(x->ck, c);
    char usr[512];
    usr_of(c, usr, sizeof usr);
    if (fs && fs->done && usr[0] && ps_summary_table_add(x->ck->exported, usr, &fs->s) != 0)
        x->failed = true;
    return CXChildVisit_Continue;
}

void ps_flow_export_summaries(ps_checker *ck, CXTranslationUnit tu)
{
    if (!ck->exported || ps_proxy_struct_is_complete(ck->pt))
        return;
    export_ctx x = {ck, false};
    clang_visitChildren(clang_getTranslationUnitCursor(tu), export_visit, &x);
    if (x.failed)
        ps_summary_table_clear(ck->exported); /* none rather than a partial view */
}

void ps_flow_summaries_free(ps_checker *ck)
{
    if (!ck->summaries)
        return;
    free(ck->summaries->v);
    free(ck->summaries);
    ck->summaries = NULL;
}
