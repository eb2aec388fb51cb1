/*
 * cfg.c — builds the control-flow graph of a function body (see cfg.h).
 *
 * The builder keeps a "current" block that statements append to; a jump
 * (break, continue, goto, return, a noreturn call) ends it and starts a
 * fresh block that nothing enters, so code after a jump is unreachable
 * rather than wrongly connected.  Labels get their block the first time a
 * goto or the label itself is seen.
 */
#include "cfg.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proxytype.h"

typedef struct label_block {
    CXCursor label;
    size_t block;
} label_block;

typedef struct memo_entry {
    CXCursor fn;
    bool noreturn;
} memo_entry;

struct ps_cfg_memo {
    memo_entry *v;
    size_t n, cap;
};

typedef struct builder {
    ps_cfg *cfg;
    ps_cfg_memo *memo; /* or NULL */
    size_t cur;
    size_t brk, cont;  /* targets of break and continue, or SIZE_MAX */
    size_t sw;         /* the block of the enclosing switch, or SIZE_MAX */
    bool sw_default;   /* the enclosing switch has a default label */
    label_block *labels;
    size_t nlabels, labels_cap;
    size_t max_blocks;
    unsigned depth; /* of the recursion over nested statements and expressions */
    ps_cfg_status status;
} builder;

/* Deeper nesting than this (else-if chains of thousands) is not analysed
 * rather than risking the stack. */
enum { MAX_DEPTH = 1000 };

/* ------------------------------------------------------------------ graph */

static bool grow(void **v, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 4;
    while (n < need)
        n *= 2;
    void *p = realloc(*v, n * elem);
    if (!p)
        return false;
    *v = p;
    *cap = n;
    return true;
}

static size_t new_block(builder *b)
{
    if (b->status != PS_CFG_OK)
        return 0;
    ps_cfg *g = b->cfg;
    if (b->max_blocks && g->nblocks >= b->max_blocks) {
        b->status = PS_CFG_TOO_BIG;
        return 0;
    }
    if (!grow((void **)&g->blocks, &g->cap, g->nblocks + 1, sizeof *g->blocks)) {
        b->status = PS_CFG_NO_MEMORY;
        return 0;
    }
    ps_cfg_block *blk = &g->blocks[g->nblocks];
    memset(blk, 0, sizeof *blk);
    blk->term = PS_CFG_FALL;
    blk->cond = clang_getNullCursor();
    return g->nblocks++;
}

static void add_edge(builder *b, size_t from, size_t to)
{
    if (b->status != PS_CFG_OK)
        return;
    ps_cfg_block *blk = &b->cfg->blocks[from];
    if (!grow((void **)&blk->succ, &blk->succ_cap, blk->nsucc + 1, sizeof *blk->succ)) {
        b->status = PS_CFG_NO_MEMORY;
        return;
    }
    blk->succ[blk->nsucc++] = to;
}

static void add_elem(builder *b, ps_cfg_elem_kind kind, CXCursor c)
{
    if (b->status != PS_CFG_OK)
        return;
    ps_cfg_block *blk = &b->cfg->blocks[b->cur];
    if (!grow((void **)&blk->elems, &blk->elems_cap, blk->nelems + 1, sizeof *blk->elems)) {
        b->status = PS_CFG_NO_MEMORY;
        return;
    }
    blk->elems[blk->nelems].kind = kind;
    blk->elems[blk->nelems].cursor = c;
    blk->nelems++;
}

/* Ends the current block with an edge to `to` and continues in `next`. */
static void jump(builder *b, size_t to, size_t next)
{
    add_edge(b, b->cur, to);
    b->cur = next;
}

/* Ends the current block with a jump to `to`; what follows is unreachable
 * until a label or case gives it a way in. */
static void jump_away(builder *b, size_t to)
{
    add_edge(b, b->cur, to);
    b->cur = new_block(b);
}

static size_t label_of(builder *b, CXCursor label)
{
    /* A goto's label and the label statement are different cursors for the
     * same node: compare where they are. */
    CXSourceLocation at = clang_getCursorLocation(label);
    for (size_t i = 0; i < b->nlabels; i++)
        if (clang_equalLocations(clang_getCursorLocation(b->labels[i].label), at))
            return b->labels[i].block;
    size_t blk = new_block(b);
    if (b->status != PS_CFG_OK)
        return 0;
    if (!grow((void **)&b->labels, &b->labels_cap, b->nlabels + 1, sizeof *b->labels)) {
        b->status = PS_CFG_NO_MEMORY;
        return 0;
    }
    b->labels[b->nlabels].label = label;
    b->labels[b->nlabels].block = blk;
    b->nlabels++;
    return blk;
}

/* ------------------------------------------------------------- noreturn */

static bool spelled(CXCursor c, const char *const *names)
{
    CXString s = clang_getCursorSpelling(c);
    const char *n = clang_getCString(s);
    bool hit = false;
    for (size_t i = 0; n && names[i]; i++)
        if (strcmp(n, names[i]) == 0)
            hit = true;
    clang_disposeString(s);
    return hit;
}

/* _Noreturn is a declaration specifier, not part of the type: look for it
 * among the tokens before the function's name. */
static bool declared_noreturn_keyword(CXCursor fn)
{
    CXTranslationUnit tu = clang_Cursor_getTranslationUnit(fn);
    CXSourceRange ext = clang_getCursorExtent(fn);
    CXSourceRange head = clang_getRange(clang_getRangeStart(ext), clang_getCursorLocation(fn));
    CXToken *toks = NULL;
    unsigned n = 0;
    clang_tokenize(tu, head, &toks, &n);
    bool hit = false;
    for (unsigned i = 0; i < n && !hit; i++) {
        CXString s = clang_getTokenSpelling(tu, toks[i]);
        const char *t = clang_getCString(s);
        hit = t && (strcmp(t, "_Noreturn") == 0 || strcmp(t, "noreturn") == 0);
        clang_disposeString(s);
    }
    if (toks)
        clang_disposeTokens(tu, toks, n);
    return hit;
}

static bool fn_is_noreturn(CXCursor fn)
{
    static const char *const names[] = {
        "exit", "_exit", "_Exit", "abort", "quick_exit", "__assert_fail", "__assert_rtn",
        "__builtin_unreachable", "__builtin_trap", "__builtin_abort", "longjmp", "siglongjmp",
        "_longjmp", "pthread_exit", "err", "errx", "verr", "verrx", NULL,
    };
    /* By name only for the C library's own (a program may have its own err()). */
    if (clang_Location_isInSystemHeader(clang_getCursorLocation(fn)) && spelled(fn, names))
        return true;
    CXString ts = clang_getTypeSpelling(clang_getCursorType(fn));
    const char *t = clang_getCString(ts);
    bool hit = t && strstr(t, "noreturn") != NULL;
    clang_disposeString(ts);
    if (hit)
        return true;
    /* Any redeclaration may carry the specifier; the canonical one usually does. */
    return declared_noreturn_keyword(clang_getCanonicalCursor(fn)) ||
           declared_noreturn_keyword(fn);
}

/* The callee of a call, if it is a function declaration. */
static bool callee_of(CXCursor call, CXCursor *fn)
{
    if (clang_getCursorKind(call) != CXCursor_CallExpr)
        return false;
    *fn = clang_getCursorReferenced(call);
    return clang_getCursorKind(*fn) == CXCursor_FunctionDecl;
}

bool ps_cfg_call_is_noreturn(CXCursor call)
{
    CXCursor fn;
    return callee_of(call, &fn) && fn_is_noreturn(fn);
}

static bool call_is_noreturn(builder *b, CXCursor call)
{
    CXCursor fn;
    if (!callee_of(call, &fn))
        return false;
    ps_cfg_memo *m = b->memo;
    if (!m)
        return fn_is_noreturn(fn);
    for (size_t i = 0; i < m->n; i++)
        if (clang_equalCursors(m->v[i].fn, fn))
            return m->v[i].noreturn;
    bool hit = fn_is_noreturn(fn);
    /* Without room the answer is only not remembered. */
    if (grow((void **)&m->v, &m->cap, m->n + 1, sizeof *m->v)) {
        m->v[m->n].fn = fn;
        m->v[m->n].noreturn = hit;
        m->n++;
    }
    return hit;
}

/* ------------------------------------------------------------ expressions */

static bool is_logical(CXCursor e, enum CXBinaryOperatorKind *op)
{
    if (clang_getCursorKind(e) != CXCursor_BinaryOperator)
        return false;
    enum CXBinaryOperatorKind k = clang_getCursorBinaryOperatorKind(e);
    if (k != CXBinaryOperator_LAnd && k != CXBinaryOperator_LOr)
        return false;
    if (op)
        *op = k;
    return true;
}

static enum CXChildVisitResult find_split(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k == CXCursor_ConditionalOperator || k == CXCursor_StmtExpr || is_logical(c, NULL)) {
        *(bool *)data = true;
        return CXChildVisit_Break;
    }
    if (k == CXCursor_UnaryExpr)
        return CXChildVisit_Continue; /* sizeof evaluates nothing */
    return CXChildVisit_Recurse;
}

/* Does evaluating e branch (&&, ||, ?:, a statement expression)? */
static bool needs_split(CXCursor e)
{
    enum CXCursorKind k = clang_getCursorKind(e);
    if (k == CXCursor_ConditionalOperator || k == CXCursor_StmtExpr || is_logical(e, NULL))
        return true;
    bool found = false;
    clang_visitChildren(e, find_split, &found);
    return found;
}

static void build_stmt(builder *b, CXCursor s);
static void build_expr(builder *b, CXCursor e);

/* Evaluates cond and goes to t when it is true, f when false. */
static void build_cond_at(builder *b, CXCursor cond, size_t t, size_t f);

static void build_cond(builder *b, CXCursor cond, size_t t, size_t f)
{
    if (b->status != PS_CFG_OK)
        return;
    if (++b->depth > MAX_DEPTH) {
        b->status = PS_CFG_UNSUPPORTED;
        return;
    }
    build_cond_at(b, cond, t, f);
    b->depth--;
}

static void build_cond_at(builder *b, CXCursor cond, size_t t, size_t f)
{
    CXCursor e = ps_strip_parens(cond);
    enum CXBinaryOperatorKind op;
    CXCursor kids[2];
    if (is_logical(e, &op) && ps_children(e, kids, 2) == 2) {
        size_t mid = new_block(b);
        if (op == CXBinaryOperator_LAnd)
            build_cond(b, kids[0], mid, f);
        else
            build_cond(b, kids[0], t, mid);
        b->cur = mid;
        build_cond(b, kids[1], t, f);
        return;
    }
    if (clang_getCursorKind(e) == CXCursor_UnaryOperator &&
        clang_getCursorUnaryOperatorKind(e) == CXUnaryOperator_LNot &&
        ps_children(e, kids, 1) == 1 && needs_split(kids[0])) {
        build_cond(b, kids[0], f, t);
        return;
    }
    build_expr(b, e);
    if (b->status != PS_CFG_OK)
        return;
    ps_cfg_block *blk = &b->cfg->blocks[b->cur];
    blk->term = PS_CFG_BRANCH;
    blk->cond = e;
    add_edge(b, b->cur, t);
    add_edge(b, b->cur, f);
    b->cur = new_block(b);
}

typedef struct kid_list {
    CXCursor v[8];
    unsigned n;
} kid_list;

static enum CXChildVisitResult split_kid(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    builder *b = data;
    enum CXCursorKind k = clang_getCursorKind(c);
    if (k == CXCursor_TypeRef || k == CXCursor_UnaryExpr)
        return CXChildVisit_Continue;
    CXCursor s = ps_strip_implicit(c);
    /* A plain variable operand is left to the shallow element, which knows
     * whether it is read or written. */
    if (clang_getCursorKind(s) != CXCursor_DeclRefExpr)
        build_expr(b, c);
    return CXChildVisit_Continue;
}

static void end_if_noreturn(builder *b, CXCursor e)
{
    CXCursor s = ps_strip_implicit(e);
    if (clang_getCursorKind(s) == CXCursor_CStyleCastExpr) {
        CXCursor k;
        if (ps_children(s, &k, 1) >= 1)
            s = ps_strip_implicit(k);
    }
    if (call_is_noreturn(b, s)) {
        b->cfg->blocks[b->cur].term = PS_CFG_NORETURN;
        b->cur = new_block(b);
    }
}

static void build_expr_at(builder *b, CXCursor e);

static void build_expr(builder *b, CXCursor e)
{
    if (b->status != PS_CFG_OK)
        return;
    if (++b->depth > MAX_DEPTH) {
        b->status = PS_CFG_UNSUPPORTED;
        return;
    }
    build_expr_at(b, e);
    b->depth--;
}

static void build_expr_at(builder *b, CXCursor e)
{
    CXCursor s = ps_strip_parens(e);
    enum CXCursorKind k = clang_getCursorKind(s);
    if (!needs_split(s)) {
        add_elem(b, PS_CFG_EXPR, e);
        end_if_noreturn(b, s);
        return;
    }
    if (is_logical(s, NULL)) {
        size_t join = new_block(b);
        build_cond(b, s, join, join);
        b->cur = join;
        return;
    }
    if (k == CXCursor_ConditionalOperator) {
        CXCursor kids[3];
        if (ps_children(s, kids, 3) != 3) {
            add_elem(b, PS_CFG_EXPR, e);
            return;
        }
        size_t tb = new_block(b), fb = new_block(b), join = new_block(b);
        build_cond(b, kids[0], tb, fb);
        b->cur = tb;
        build_expr(b, kids[1]);
        jump(b, join, fb);
        build_expr(b, kids[2]);
        jump(b, join, join);
        return;
    }
    if (k == CXCursor_StmtExpr) {
        CXCursor body;
        if (ps_children(s, &body, 1) == 1)
            build_stmt(b, body);
        return;
    }
    /* Anything else: its operands in order, then the node itself. */
    clang_visitChildren(s, split_kid, b);
    add_elem(b, PS_CFG_SHALLOW, s);
    end_if_noreturn(b, s); /* exit(ok ? 0 : 1) */
}

/* --------------------------------------------------------------- for (;;) */

/* Which of a for statement's parts are present, from the tokens between
 * its parentheses: libclang lists only the parts that exist. */
static bool for_parts(CXCursor f, CXCursor *kids, unsigned n, CXCursor *init, CXCursor *cond,
                      CXCursor *inc)
{
    *init = *cond = *inc = clang_getNullCursor();
    if (n == 4) {
        *init = kids[0], *cond = kids[1], *inc = kids[2];
        return true;
    }
    if (n == 1)
        return true;
    CXTranslationUnit tu = clang_Cursor_getTranslationUnit(f);
    CXToken *toks = NULL;
    unsigned nt = 0;
    clang_tokenize(tu, clang_getCursorExtent(f), &toks, &nt);
    unsigned semi[2], depth = 0, nsemi = 0;
    for (unsigned i = 0; i < nt && nsemi < 2; i++) {
        CXString sp = clang_getTokenSpelling(tu, toks[i]);
        const char *t = clang_getCString(sp);
        if (t && strcmp(t, "(") == 0)
            depth++;
        else if (t && strcmp(t, ")") == 0)
            depth--;
        else if (t && strcmp(t, ";") == 0 && depth == 1) {
            unsigned off;
            clang_getExpansionLocation(clang_getTokenLocation(tu, toks[i]), NULL, NULL, NULL, &off);
            semi[nsemi++] = off;
        }
        clang_disposeString(sp);
    }
    if (toks)
        clang_disposeTokens(tu, toks, nt);
    if (nsemi != 2 || semi[0] >= semi[1])
        return false; /* written by a macro: the tokens are not the statement's */
    for (unsigned i = 0; i + 1 < n; i++) {
        unsigned off;
        clang_getExpansionLocation(clang_getRangeStart(clang_getCursorExtent(kids[i])), NULL, NULL,
                                   NULL, &off);
        if (off < semi[0])
            *init = kids[i];
        else if (off < semi[1])
            *cond = kids[i];
        else
            *inc = kids[i];
    }
    return true;
}

/* ------------------------------------------------------------- statements */

static void build_loop_body(builder *b, CXCursor body, size_t brk, size_t cont)
{
    size_t ob = b->brk, oc = b->cont;
    b->brk = brk, b->cont = cont;
    build_stmt(b, body);
    b->brk = ob, b->cont = oc;
}

static enum CXChildVisitResult stmt_kid(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    build_stmt(data, c);
    return CXChildVisit_Continue;
}

static void build_switch(builder *b, CXCursor s)
{
    CXCursor kids[2];
    if (ps_children(s, kids, 2) != 2) {
        add_elem(b, PS_CFG_EXPR, s);
        return;
    }
    build_expr(b, kids[0]);
    size_t head = b->cur, out = new_block(b);
    if (b->status != PS_CFG_OK)
        return;
    b->cfg->blocks[head].term = PS_CFG_SWITCH;
    size_t osw = b->sw, ob = b->brk;
    bool odef = b->sw_default;
    b->sw = head, b->brk = out, b->sw_default = false;
    b->cur = new_block(b); /* code before the first label is unreachable */
    build_stmt(b, kids[1]);
    jump(b, out, out);
    if (!b->sw_default)
        add_edge(b, head, out);
    b->sw = osw, b->brk = ob, b->sw_default = odef;
}

static void build_label_like(builder *b, CXCursor s, size_t blk)
{
    jump(b, blk, blk);
    CXCursor kids[4];
    unsigned n = ps_children(s, kids, 4);
    if (n > 0 && n <= 4)
        build_stmt(b, kids[n - 1]); /* the labelled statement */
}

static void build_stmt_at(builder *b, CXCursor s);

static void build_stmt(builder *b, CXCursor s)
{
    if (b->status != PS_CFG_OK)
        return;
    if (++b->depth > MAX_DEPTH) {
        b->status = PS_CFG_UNSUPPORTED;
        return;
    }
    build_stmt_at(b, s);
    b->depth--;
}

static void build_stmt_at(builder *b, CXCursor s)
{
    enum CXCursorKind k = clang_getCursorKind(s);
    CXCursor kids[4];
    switch (k) {
    case CXCursor_CompoundStmt:
        clang_visitChildren(s, stmt_kid, b);
        return;
    case CXCursor_NullStmt:
        return;
    case CXCursor_DeclStmt: {
        CXCursor vars[64];
        unsigned n = ps_children(s, vars, 64);
        if (n > 64) {
            add_elem(b, PS_CFG_EXPR, s);
            return;
        }
        for (unsigned i = 0; i < n; i++) {
            CXCursor init = clang_getCursorKind(vars[i]) == CXCursor_VarDecl
                                ? clang_Cursor_getVarDeclInitializer(vars[i])
                                : clang_getNullCursor();
            if (!clang_Cursor_isNull(init) && needs_split(init)) {
                build_expr(b, init);
                add_elem(b, PS_CFG_SHALLOW, vars[i]);
            } else {
                add_elem(b, PS_CFG_EXPR, vars[i]);
                if (!clang_Cursor_isNull(init))
                    end_if_noreturn(b, init);
            }
        }
        return;
    }
    case CXCursor_IfStmt: {
        unsigned n = ps_children(s, kids, 4);
        if (n < 2 || n > 3)
            break;
        size_t tb = new_block(b), join = new_block(b);
        size_t fb = n == 3 ? new_block(b) : join;
        build_cond(b, kids[0], tb, fb);
        b->cur = tb;
        build_stmt(b, kids[1]);
        jump(b, join, fb);
        if (n == 3) {
            build_stmt(b, kids[2]);
            jump(b, join, join);
        }
        b->cur = join;
        return;
    }
    case CXCursor_WhileStmt: {
        if (ps_children(s, kids, 4) != 2)
            break;
        size_t head = new_block(b), body = new_block(b), out = new_block(b);
        jump(b, head, head);
        build_cond(b, kids[0], body, out);
        b->cur = body;
        build_loop_body(b, kids[1], out, head);
        jump(b, head, out);
        return;
    }
    case CXCursor_DoStmt: {
        if (ps_children(s, kids, 4) != 2)
            break;
        size_t body = new_block(b), test = new_block(b), out = new_block(b);
        jump(b, body, body);
        build_loop_body(b, kids[0], out, test);
        jump(b, test, test);
        build_cond(b, kids[1], body, out);
        b->cur = out;
        return;
    }
    case CXCursor_ForStmt: {
        unsigned n = ps_children(s, kids, 4);
        CXCursor init, cond, inc;
        if (n < 1 || n > 4 || !for_parts(s, kids, n, &init, &cond, &inc)) {
            b->status = PS_CFG_UNSUPPORTED;
            return;
        }
        if (!clang_Cursor_isNull(init))
            build_stmt(b, init);
        size_t head = new_block(b), body = new_block(b), step = new_block(b),
               out = new_block(b);
        jump(b, head, head);
        if (!clang_Cursor_isNull(cond))
            build_cond(b, cond, body, out);
        else
            jump(b, body, body);
        b->cur = body;
        build_loop_body(b, kids[n - 1], out, step);
        jump(b, step, step);
        if (!clang_Cursor_isNull(inc))
            build_expr(b, inc);
        jump(b, head, out);
        return;
    }
    case CXCursor_SwitchStmt:
        build_switch(b, s);
        return;
    case CXCursor_CaseStmt:
    case CXCursor_DefaultStmt: {
        size_t blk = new_block(b);
        if (b->sw != SIZE_MAX) {
            add_edge(b, b->sw, blk);
            if (k == CXCursor_DefaultStmt)
                b->sw_default = true;
        }
        build_label_like(b, s, blk);
        return;
    }
    case CXCursor_LabelStmt:
        build_label_like(b, s, label_of(b, s));
        return;
    case CXCursor_GotoStmt: {
        if (ps_children(s, kids, 1) != 1) {
            b->status = PS_CFG_UNSUPPORTED;
            return;
        }
        CXCursor label = clang_getCursorReferenced(kids[0]);
        if (clang_getCursorKind(label) != CXCursor_LabelStmt) {
            b->status = PS_CFG_UNSUPPORTED;
            return;
        }
        jump_away(b, label_of(b, label));
        return;
    }
    case CXCursor_IndirectGotoStmt:
        b->status = PS_CFG_UNSUPPORTED;
        return;
    case CXCursor_BreakStmt:
        if (b->brk == SIZE_MAX) {
            b->status = PS_CFG_UNSUPPORTED;
            return;
        }
        jump_away(b, b->brk);
        return;
    case CXCursor_ContinueStmt:
        if (b->cont == SIZE_MAX) {
            b->status = PS_CFG_UNSUPPORTED;
            return;
        }
        jump_away(b, b->cont);
        return;
    case CXCursor_ReturnStmt: {
        unsigned n = ps_children(s, kids, 1);
        if (n == 1 && needs_split(kids[0])) {
            build_expr(b, kids[0]);
            add_elem(b, PS_CFG_SHALLOW, s);
        } else {
            add_elem(b, PS_CFG_EXPR, s);
        }
        if (b->status != PS_CFG_OK)
            return;
        b->cfg->blocks[b->cur].term = PS_CFG_RETURN;
        jump_away(b, PS_CFG_EXIT);
        return;
    }
    default:
        if (clang_isExpression(k)) {
            build_expr(b, s);
            return;
        }
        break;
    }
    add_elem(b, PS_CFG_EXPR, s); /* asm and the like: one opaque step */
}

/* ------------------------------------------------------------------ public */

static CXCursor body_of(CXCursor function)
{
    if (clang_getCursorKind(function) == CXCursor_CompoundStmt)
        return function;
    CXCursor kids[64];
    unsigned n = ps_children(function, kids, 64);
    if (n == 0 || n > 64)
        return clang_getNullCursor();
    if (clang_getCursorKind(kids[n - 1]) != CXCursor_CompoundStmt)
        return clang_getNullCursor();
    return kids[n - 1];
}

void ps_cfg_free(ps_cfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nblocks; i++) {
        free(cfg->blocks[i].elems);
        free(cfg->blocks[i].succ);
    }
    free(cfg->blocks);
    free(cfg);
}

ps_cfg_memo *ps_cfg_memo_new(void)
{
    return calloc(1, sizeof(ps_cfg_memo));
}

void ps_cfg_memo_free(ps_cfg_memo *memo)
{
    if (!memo)
        return;
    free(memo->v);
    free(memo);
}

ps_cfg_status ps_cfg_build(CXCursor function, size_t max_blocks, ps_cfg **out)
{
    return ps_cfg_build_memo(function, max_blocks, NULL, out);
}

ps_cfg_status ps_cfg_build_memo(CXCursor function, size_t max_blocks, ps_cfg_memo *memo,
                                ps_cfg **out)
{
    *out = NULL;
    CXCursor body = body_of(function);
    if (clang_Cursor_isNull(body))
        return PS_CFG_NO_BODY;
    ps_cfg *cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return PS_CFG_NO_MEMORY;
    builder b;
    memset(&b, 0, sizeof b);
    b.cfg = cfg;
    b.memo = memo;
    b.brk = b.cont = b.sw = SIZE_MAX;
    b.max_blocks = max_blocks;
    b.status = PS_CFG_OK;
    new_block(&b); /* entry */
    new_block(&b); /* exit */
    b.cur = new_block(&b);
    add_edge(&b, PS_CFG_ENTRY, b.cur);
    build_stmt(&b, body);
    if (b.status == PS_CFG_OK) {
        size_t end = new_block(&b);
        jump(&b, end, end);
        add_elem(&b, PS_CFG_END, body);
        add_edge(&b, end, PS_CFG_EXIT);
    }
    free(b.labels);
    if (b.status != PS_CFG_OK) {
        ps_cfg_free(cfg);
        return b.status;
    }
    *out = cfg;
    return PS_CFG_OK;
}

bool ps_cfg_path(const ps_cfg *cfg, size_t from, size_t to)
{
    if (!cfg || from >= cfg->nblocks || to >= cfg->nblocks)
        return false;
    bool *seen = calloc(cfg->nblocks, sizeof *seen);
    /* from is pushed unmarked, so a loop back to it counts: nblocks + 1. */
    size_t *stack = malloc((cfg->nblocks + 1) * sizeof *stack);
    bool hit = false;
    if (seen && stack) {
        size_t top = 0;
        stack[top++] = from;
        while (top && !hit) {
            size_t v = stack[--top];
            for (size_t i = 0; i < cfg->blocks[v].nsucc && !hit; i++) {
                size_t w = cfg->blocks[v].succ[i];
                hit = w == to;
                if (!seen[w]) {
                    seen[w] = true;
                    stack[top++] = w;
                }
            }
        }
    }
    free(seen);
    free(stack);
    return hit;
}

bool ps_cfg_reachable(const ps_cfg *cfg, size_t block)
{
    if (!cfg || block >= cfg->nblocks)
        return false;
    return block == PS_CFG_ENTRY || ps_cfg_path(cfg, PS_CFG_ENTRY, block);
}
