/*
 * check_lifetime.c — the flow-sensitive rules: ps-use-after-free,
 * ps-double-free, ps-leak and ps-dangling-target, a dataflow over the CFG
 * of one function (cfg.h).
 *
 * Tracked are the function's local variables and parameters that hold a
 * proxy handle (never those whose address is taken: anything may write
 * them), and local pointers that receive a resolve of such a variable.
 * Each proxy variable carries the set of states it may be in on the paths
 * reaching a point: unknown (not known to be owned here), live (created
 * here), released, moved (returned, stored, passed to an owner) or null.
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
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "check_internal.h"

enum {
    S_UNKNOWN = 1,  /* holds a proxy this function does not own (or nothing known) */
    S_LIVE = 2,     /* holds a proxy created here, still to release or move */
    S_RELEASED = 4, /* released by ps_proxy_free / ps_proxy_evict */
    S_MOVED = 8,    /* given away: returned, stored, passed to an owner */
    S_NULL = 16,    /* known to be NULL */
};

enum { OWNER_NONE = -1 };

/* Bounds: functions beyond them are left alone rather than slowing the run. */
enum { MAX_BLOCKS = 20000, MAX_VARS = 256, VISITS_PER_BLOCK = 32, MAX_DEPTH = 1000 };

typedef enum var_kind {
    V_PROXY,  /* holds a proxy handle */
    V_TARGET, /* a pointer that may hold a resolved target */
} var_kind;

typedef struct var {
    CXCursor decl;
    var_kind kind;
    bool excluded; /* its address is taken */
} var;

typedef struct vstate {
    uint8_t bits;
    int owner;    /* V_TARGET: the proxy variable it was resolved from, or OWNER_NONE */
    CXCursor rel; /* where it was (last) released */
    CXCursor made; /* where the proxy it holds was created */
} vstate;

/* A local flag that holds a test of a proxy (`bool ok = p != NULL;`, as
 * assertion macros write), never written again: testing it tests p. */
typedef struct flag {
    CXCursor decl;
    CXCursor init;
    bool written;
} flag;

/* What evaluating a statement does to the state, in order.  Which
 * variables an element touches and how never depends on the state, only
 * what each step then does: so each block's elements are walked once, into
 * events, and the fixpoint replays those instead of the cursors. */
typedef enum ev_op {
    EV_USE,     /* v is read at `at` */
    EV_ESCAPE,  /* v is given away */
    EV_RELEASE, /* v is released by the call `at` */
    EV_ASSIGN,  /* v gets a value: see assign() */
    EV_LEAKS,   /* a return (`at` the statement) or, with `brace`, the closing brace */
} ev_op;

typedef struct event {
    uint8_t op;
    uint8_t bits; /* EV_ASSIGN to a proxy: its new state */
    bool brace;   /* EV_LEAKS */
    int v;
    int owner;     /* EV_ASSIGN to a target: the proxy it is resolved from */
    int copy_from; /* EV_ASSIGN to a target: the target whose owner it takes, or -1 */
    CXCursor at;   /* EV_ASSIGN to a proxy: where it was created, or null */
} event;

/* A block's events, made the first time the fixpoint reaches it. */
typedef struct block_events {
    size_t start, n;
    bool done;
    bool tested;     /* null_test() of the condition worked out */
    bool null_test;  /* the condition tests proxy `test_var` for NULL */
    bool null_if_true;
    int test_var;
} block_events;

typedef struct lifetime {
    ps_checker *ck;
    event *ev;
    size_t nev, ev_cap;
    flag *flags;
    size_t nflags, flags_cap;
    CXCursor function;
    var *vars;
    size_t nvars, cap;
    vstate *cur; /* the state being transformed */
    bool report;
    bool overflow;  /* too much to follow: say nothing about this function */
    unsigned depth; /* of eval's recursion */
} lifetime;

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

static int var_index(const lifetime *l, CXCursor decl)
{
    for (size_t i = 0; i < l->nvars; i++)
        if (clang_equalCursors(l->vars[i].decl, decl))
            return (int)i;
    return -1;
}

/* The tracked variable an expression reads, through parentheses and
 * casts, or -1. */
static int var_of(const lifetime *l, CXCursor e)
{
    if (clang_Cursor_isNull(e))
        return -1;
    e = strip_casts(e);
    if (clang_getCursorKind(e) != CXCursor_DeclRefExpr)
        return -1;
    int v = var_index(l, clang_getCursorReferenced(e));
    return v >= 0 && !l->vars[v].excluded ? v : -1;
}

static bool is_plain_ref(CXCursor e)
{
    return clang_getCursorKind(ps_strip_implicit(e)) == CXCursor_DeclRefExpr;
}

static void name_of(const lifetime *l, int v, char *buf, size_t n)
{
    ps_cursor_name(l->vars[v].decl, buf, n);
}

static bool callee_named(CXCursor call, const char *a, const char *b)
{
    CXCursor fn = clang_getCursorReferenced(call);
    if (clang_getCursorKind(fn) != CXCursor_FunctionDecl)
        return false;
    CXString s = clang_getCursorSpelling(fn);
    const char *n = clang_getCString(s);
    bool hit = n && (strcmp(n, a) == 0 || (b && strcmp(n, b) == 0));
    clang_disposeString(s);
    return hit;
}

static bool is_release_call(CXCursor call)
{
    return clang_getCursorKind(call) == CXCursor_CallExpr &&
           callee_named(call, "ps_proxy_free", "ps_proxy_evict") &&
           clang_Cursor_getNumArguments(call) == 1;
}

static bool is_create_call(lifetime *l, CXCursor e)
{
    e = strip_casts(e);
    if (clang_getCursorKind(e) != CXCursor_CallExpr)
        return false;
    ps_fn_role r = ps_callee_role(l->ck->pt, e);
    return r == PS_FN_CREATE || r == PS_FN_CREATE_ARRAY || r == PS_FN_FROM_KEY ||
           r == PS_FN_DESERIALIZE || r == PS_FN_FUTURE_PROXY;
}

/* The proxy variable a resolve call resolves, or -1. */
static int resolved_var(lifetime *l, CXCursor e)
{
    e = strip_casts(e);
    if (clang_getCursorKind(e) != CXCursor_CallExpr)
        return -1;
    ps_fn_role r = ps_callee_role(l->ck->pt, e);
    if (r != PS_FN_RESOLVE && r != PS_FN_RESOLVE_AS && r != PS_FN_RESOLVE_OR)
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
     * are given (releasing ones are told apart by is_release_call). */
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
    name_of(l, v, name, sizeof name);
    ps_diag *d = ps_diag_report(l->ck->sink, PS_RULE_USE_AFTER_FREE, at,
                                "proxy '%s' used after it was released", name);
    if (d && !clang_Cursor_isNull(l->cur[v].rel))
        ps_diag_note(l->ck->sink, d, l->cur[v].rel, "'%s' released here", name);
}

static void report_double_free(lifetime *l, int v, CXCursor at)
{
    char name[128];
    name_of(l, v, name, sizeof name);
    ps_diag *d = ps_diag_report(l->ck->sink, PS_RULE_DOUBLE_FREE, at,
                                "proxy '%s' released twice", name);
    if (d && !clang_Cursor_isNull(l->cur[v].rel))
        ps_diag_note(l->ck->sink, d, l->cur[v].rel, "'%s' first released here", name);
}

static void report_dangling(lifetime *l, int t, int p, CXCursor at)
{
    char tname[128], pname[128];
    name_of(l, t, tname, sizeof tname);
    name_of(l, p, pname, sizeof pname);
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
    event e = {.op = (uint8_t)op, .v = v, .owner = OWNER_NONE, .copy_from = -1, .at = at};
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
               .copy_from = -1, .at = at};
    emit(l, &e);
}

/* Variable v gets the value of rhs (rv: the tracked variable rhs reads). */
static void assign(lifetime *l, int v, CXCursor rhs, int rv)
{
    event e = {.op = EV_ASSIGN, .v = v, .owner = OWNER_NONE, .copy_from = -1,
               .at = clang_getNullCursor()};
    if (l->vars[v].kind == V_TARGET) {
        e.owner = clang_Cursor_isNull(rhs) ? OWNER_NONE : resolved_var(l, rhs);
        if (e.owner < 0 && rv >= 0 && l->vars[rv].kind == V_TARGET)
            e.copy_from = rv; /* a copy points into the same target */
        emit(l, &e);
        return;
    }
    bool let_go = false;
    if (clang_Cursor_isNull(rhs)) {
        e.bits = S_UNKNOWN;
    } else if (is_create_call(l, rhs)) {
        e.bits = S_LIVE;
        e.at = strip_casts(rhs);
    } else if (is_null_constant(rhs)) {
        e.bits = S_NULL;
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

static void do_leaks(lifetime *l, CXCursor at, bool closing_brace)
{
    if (!l->report)
        return;
    for (size_t v = 0; v < l->nvars; v++) {
        if (l->vars[v].kind != V_PROXY || l->vars[v].excluded || !(l->cur[v].bits & S_LIVE))
            continue;
        char name[128];
        name_of(l, (int)v, name, sizeof name);
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

static void do_use(lifetime *l, int v, CXCursor at)
{
    vstate *s = &l->cur[v];
    if (l->vars[v].kind == V_PROXY) {
        if (l->report && s->bits == S_RELEASED)
            report_use_after_free(l, v, at);
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
    if (s->bits & (S_LIVE | S_UNKNOWN))
        s->bits = (uint8_t)((s->bits & ~(S_LIVE | S_UNKNOWN)) | S_MOVED);
}

static void do_release(lifetime *l, int v, CXCursor call)
{
    vstate *s = &l->cur[v];
    if (s->bits == S_RELEASED) {
        if (l->report)
            report_double_free(l, v, call);
        return;
    }
    s->bits = S_RELEASED;
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
    s->rel = clang_getNullCursor();
    s->made = e->at;
    s->bits = e->bits;
}

static void replay(lifetime *l, const event *ev, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const event *e = &ev[i];
        switch ((ev_op)e->op) {
        case EV_USE:
            do_use(l, e->v, e->at);
            break;
        case EV_ESCAPE:
            do_escape(l, e->v);
            break;
        case EV_RELEASE:
            do_release(l, e->v, e->at);
            break;
        case EV_ASSIGN:
            do_assign(l, e);
            break;
        case EV_LEAKS:
            do_leaks(l, e->at, e->brace);
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

typedef enum arg_mode { ARG_BORROW, ARG_MOVE } arg_mode;

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
    /* PROXY_OWNED takes it; a PROXY(T) or plain parameter says nothing about
     * ownership, and the callee may well release or keep it. */
    return ARG_MOVE;
}

static void eval_call(lifetime *l, CXCursor call, bool deep)
{
    int nargs = clang_Cursor_getNumArguments(call);
    if (is_release_call(call)) {
        CXCursor arg = clang_Cursor_getArgument(call, 0);
        int v = var_of(l, arg);
        if (v >= 0 && l->vars[v].kind == V_PROXY && (deep || is_plain_ref(arg)))
            release(l, v, call);
        else
            sub(l, arg, deep);
        return;
    }
    /* ps_is_proxy only compares the pointer with the live proxies: asking
     * about a released one is what it is for. */
    bool looks_only = ps_callee_role(l->ck->pt, call) == PS_FN_IS_PROXY;
    for (int i = 0; i < nargs; i++) {
        CXCursor arg = clang_Cursor_getArgument(call, (unsigned)i);
        if (!deep && !is_plain_ref(arg))
            continue;
        int v = var_of(l, arg);
        if (looks_only && v >= 0)
            continue;
        if (v < 0) {
            sub(l, arg, deep);
            continue;
        }
        use(l, v, arg);
        if (l->vars[v].kind == V_PROXY && arg_mode_of(l, call, (unsigned)i) == ARG_MOVE)
            escape(l, v);
    }
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
    int lv = clang_getCursorKind(ls) == CXCursor_DeclRefExpr ? var_of(l, ls) : -1;
    if (lv >= 0) {
        assign(l, lv, rhs, rv);
        return;
    }
    sub(l, lhs, deep);
    if (rv >= 0)
        escape(l, rv); /* stored in a field, an element, a global, through a pointer */
}

/* Is e a plain tracked variable, used only for its value as a test? */
static bool tested_var(lifetime *l, CXCursor e)
{
    return var_of(l, e) >= 0;
}

static void eval_at(lifetime *l, CXCursor e, bool deep);

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
        }
        return;
    }
    case CXCursor_CallExpr:
        eval_call(l, e, deep);
        return;
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
        break;
    }
    case CXCursor_ReturnStmt: {
        CXCursor value;
        if (ps_children(e, &value, 1) == 1) {
            int v = var_of(l, value);
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

static bool null_test(lifetime *l, CXCursor cond, int *v, bool *null_if_true)
{
    return null_test_depth(l, cond, v, null_if_true, 0);
}

static bool null_test_depth(lifetime *l, CXCursor cond, int *v, bool *null_if_true, int depth)
{
    if (depth > 16)
        return false;
    CXCursor e = ps_strip_parens(ps_strip_implicit(cond));
    e = ps_strip_implicit(e);
    enum CXCursorKind k = clang_getCursorKind(e);
    CXCursor kids[2];
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

/* The state along edge `which` (0: true, 1: false) of a branch; false
 * when that edge cannot be taken. */
static bool refine(lifetime *l, CXCursor cond, block_events *be, size_t which, vstate *st)
{
    if (!be->tested) {
        be->null_test = null_test(l, cond, &be->test_var, &be->null_if_true);
        be->tested = true;
    }
    if (!be->null_test)
        return true;
    int v = be->test_var;
    bool is_null = (which == 0) == be->null_if_true;
    if (is_null) {
        if (st[v].bits & (S_LIVE | S_UNKNOWN | S_NULL | S_MOVED))
            st[v].bits = S_NULL;
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

static bool add_var(lifetime *l, CXCursor decl, var_kind kind)
{
    if (var_index(l, decl) >= 0)
        return true;
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
    l->vars[l->nvars].kind = kind;
    l->vars[l->nvars].excluded = false;
    l->nvars++;
    return true;
}

static bool is_local(CXCursor decl)
{
    enum CXCursorKind k = clang_getCursorKind(decl);
    if (k == CXCursor_ParmDecl)
        return true;
    return k == CXCursor_VarDecl && !clang_Cursor_hasVarDeclGlobalStorage(decl) &&
           !clang_Cursor_hasVarDeclExternalStorage(decl);
}

static void maybe_target(lifetime *l, CXCursor decl, CXCursor value)
{
    if (!is_local(decl) || clang_getCanonicalType(clang_getCursorType(decl)).kind != CXType_Pointer)
        return;
    if (var_index(l, decl) < 0 && resolved_var(l, value) >= 0)
        add_var(l, decl, V_TARGET);
}

static void maybe_flag(lifetime *l, CXCursor decl, CXCursor init)
{
    CXType t = clang_getCanonicalType(clang_getCursorType(decl));
    if (!is_local(decl) || t.kind == CXType_Pointer || t.kind == CXType_Record)
        return;
    /* The variables it tests are not all known yet: look at the shape only. */
    CXCursor e = ps_strip_parens(ps_strip_implicit(init));
    enum CXCursorKind k = clang_getCursorKind(e);
    if (k != CXCursor_UnaryOperator && k != CXCursor_BinaryOperator && k != CXCursor_DeclRefExpr)
        return;
    if (l->nflags == l->flags_cap) {
        size_t n = l->flags_cap ? l->flags_cap * 2 : 4;
        flag *p = realloc(l->flags, n * sizeof *p);
        if (!p)
            return;
        l->flags = p;
        l->flags_cap = n;
    }
    l->flags[l->nflags].decl = decl;
    l->flags[l->nflags].init = init;
    l->flags[l->nflags].written = false;
    l->nflags++;
}

static void flag_written(lifetime *l, CXCursor decl)
{
    int f = flag_index(l, decl);
    if (f >= 0)
        l->flags[f].written = true;
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

static enum CXChildVisitResult scan_visit(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    lifetime *l = data;
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k == CXCursor_VarDecl || k == CXCursor_ParmDecl) {
        if (is_local(c) && ps_decl_handle_depth(l->ck->pt, c, false) == 0) {
            ps_ptype pt = ps_ptype_of_decl(l->ck->pt, c);
            /* Borrows are the borrow rule's business, not the owner's. */
            if (pt.kind != PS_PROXY_REF && pt.kind != PS_PROXY_REF_MUT && pt.kind != PS_PROXY_OR &&
                add_var(l, c, V_PROXY) && has_foreign_attribute(c))
                l->vars[l->nvars - 1].excluded = true;
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
                if (v >= 0 && op == CXUnaryOperator_AddrOf)
                    l->vars[v].excluded = true;
                flag_written(l, decl);
            }
        }
    }
    return CXChildVisit_Recurse;
}

/* --------------------------------------------------------------- dataflow */

static void init_state(lifetime *l, vstate *st)
{
    for (size_t v = 0; v < l->nvars; v++) {
        st[v].bits = l->vars[v].kind == V_PROXY ? S_UNKNOWN : 0;
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
        if (bits != dst[v].bits) {
            dst[v].bits = bits;
            changed = true;
        }
        if (dst[v].owner != src[v].owner && dst[v].owner != OWNER_NONE) {
            dst[v].owner = OWNER_NONE; /* resolved from different proxies: forget it */
            changed = true;
        }
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
        l->report = pass == 1;
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

void ps_check_lifetime(ps_checker *ck, CXCursor function)
{
    if (ps_proxy_struct_is_complete(ck->pt))
        return; /* the library's own code: a handle there is an object it owns */
    lifetime l;
    memset(&l, 0, sizeof l);
    l.ck = ck;
    l.function = function;
    clang_visitChildren(function, scan_visit, &l);
    bool any = false;
    for (size_t v = 0; v < l.nvars; v++)
        any |= l.vars[v].kind == V_PROXY && !l.vars[v].excluded;
    if (any && !l.overflow) {
        ps_cfg *cfg = NULL;
        if (ps_cfg_build_memo(function, MAX_BLOCKS, ck->cfg_memo, &cfg) == PS_CFG_OK) {
            analyze(&l, cfg);
            ps_cfg_free(cfg);
        }
    }
    free(l.vars);
    free(l.flags);
    free(l.ev);
}
