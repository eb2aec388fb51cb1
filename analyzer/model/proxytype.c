/*
 * proxytype.c — the proxy type model (see proxytype.h).
 *
 * Everything is computed from libclang types and cursors; strings are only
 * touched once per declaration (annotation spellings, runtime function
 * names, the name of struct ps_proxy) and the answers are cached.
 */
#include "proxytype.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

/* Walks deeper than this are not types a program writes. */
#define PS_MAX_TYPE_DEPTH 32

/* ------------------------------------------------------------ the cache */

enum {
    F_PTYPE_DONE = 1u << 0,
    F_PTYPE_BUSY = 1u << 1, /* being computed: typedef cycles stop here */
    F_ROLE_DONE = 1u << 2,
    F_PARAMS_DONE = 1u << 3,
    F_RECORD_DONE = 1u << 4,
    F_PROXY_RECORD = 1u << 5,
};

typedef struct decl_entry {
    CXCursor key;
    unsigned used;
    unsigned flags;
    ps_ptype ptype;
    ps_fn_role role;
    CXCursor *params;
    unsigned nparams;
    size_t user; /* ps_decl_user_slot */
} decl_entry;

struct ps_ptctx {
    CXTranslationUnit tu;
    decl_entry *slots;
    size_t cap, count; /* cap is a power of two */
    bool have_proxy_record;
    CXType proxy_record; /* canonical, unqualified struct ps_proxy */
    int proxy_complete;  /* -1 unknown, 0 no, 1 yes */
};

ps_ptctx *ps_ptctx_new(CXTranslationUnit tu)
{
    ps_ptctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return NULL;
    ctx->tu = tu;
    ctx->proxy_complete = -1;
    ctx->cap = 256;
    ctx->slots = calloc(ctx->cap, sizeof *ctx->slots);
    if (!ctx->slots) {
        free(ctx);
        return NULL;
    }
    return ctx;
}

void ps_ptctx_free(ps_ptctx *ctx)
{
    if (!ctx)
        return;
    for (size_t i = 0; i < ctx->cap; i++)
        free(ctx->slots[i].params);
    free(ctx->slots);
    free(ctx);
}

static bool grow(ps_ptctx *ctx)
{
    size_t ncap = ctx->cap * 2;
    decl_entry *n = calloc(ncap, sizeof *n);
    if (!n)
        return false;
    for (size_t i = 0; i < ctx->cap; i++) {
        if (!ctx->slots[i].used)
            continue;
        size_t j = clang_hashCursor(ctx->slots[i].key) & (ncap - 1);
        while (n[j].used)
            j = (j + 1) & (ncap - 1);
        n[j] = ctx->slots[i];
    }
    free(ctx->slots);
    ctx->slots = n;
    ctx->cap = ncap;
    return true;
}

/* The entry for a declaration, created empty on first use; NULL only when
 * out of memory (callers then compute without caching). */
static decl_entry *entry_of(ps_ptctx *ctx, CXCursor decl)
{
    if ((ctx->count + 1) * 2 > ctx->cap && !grow(ctx))
        return NULL;
    size_t j = clang_hashCursor(decl) & (ctx->cap - 1);
    while (ctx->slots[j].used) {
        if (clang_equalCursors(ctx->slots[j].key, decl))
            return &ctx->slots[j];
        j = (j + 1) & (ctx->cap - 1);
    }
    decl_entry *e = &ctx->slots[j];
    memset(e, 0, sizeof *e);
    e->used = 1;
    e->key = decl;
    ctx->count++;
    return e;
}

size_t *ps_decl_user_slot(ps_ptctx *ctx, CXCursor decl)
{
    decl_entry *e = entry_of(ctx, decl);
    return e ? &e->user : NULL;
}

/* ----------------------------------------------------------- small utilities */

typedef struct child_buf {
    CXCursor *out;
    unsigned max, n;
} child_buf;

static enum CXChildVisitResult collect_child(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    child_buf *b = data;
    if (b->n < b->max)
        b->out[b->n] = c;
    b->n++;
    return CXChildVisit_Continue;
}

unsigned ps_children(CXCursor c, CXCursor *out, unsigned max)
{
    child_buf b = {out, max, 0};
    clang_visitChildren(c, collect_child, &b);
    return b.n;
}

CXCursor ps_strip_parens(CXCursor expr)
{
    for (int i = 0; i < 64 && clang_getCursorKind(expr) == CXCursor_ParenExpr; i++) {
        CXCursor k;
        if (ps_children(expr, &k, 1) != 1)
            break;
        expr = k;
    }
    return expr;
}

CXCursor ps_strip_implicit(CXCursor expr)
{
    for (int i = 0; i < 64; i++) {
        enum CXCursorKind k = clang_getCursorKind(expr);
        if (k != CXCursor_ParenExpr && k != CXCursor_UnexposedExpr)
            break;
        CXCursor kid;
        if (ps_children(expr, &kid, 1) != 1 || !clang_isExpression(clang_getCursorKind(kid)))
            break;
        expr = kid;
    }
    return expr;
}

static enum CXChildVisitResult last_child(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    *(CXCursor *)data = c;
    return CXChildVisit_Continue;
}

CXCursor ps_generic_selected(CXCursor selection)
{
    CXCursor kids[33];
    unsigned n = ps_children(selection, kids, 33);
    if (n < 2 || n > 33)
        return clang_getNullCursor();
    CXType want = clang_getCanonicalType(clang_getCursorType(selection));
    CXCursor found = clang_getNullCursor();
    for (unsigned i = 1; i < n; i++) {
        if (!clang_equalTypes(clang_getCanonicalType(clang_getCursorType(kids[i])), want))
            continue;
        if (!clang_Cursor_isNull(found))
            return clang_getNullCursor(); /* two branches of that type: cannot tell */
        found = kids[i];
    }
    return found;
}

CXCursor ps_stmt_expr_value(CXCursor stmt_expr)
{
    CXCursor body;
    if (clang_getCursorKind(stmt_expr) != CXCursor_StmtExpr ||
        ps_children(stmt_expr, &body, 1) != 1 || clang_getCursorKind(body) != CXCursor_CompoundStmt)
        return clang_getNullCursor();
    CXCursor last = clang_getNullCursor();
    clang_visitChildren(body, last_child, &last);
    if (clang_Cursor_isNull(last) || !clang_isExpression(clang_getCursorKind(last)))
        return clang_getNullCursor();
    return last;
}

static CXType unqualified_canonical(CXType t)
{
    return clang_getUnqualifiedType(clang_getCanonicalType(t));
}

CXType ps_canonical_value_type(CXType t)
{
    CXType c = clang_getCanonicalType(t);
    if (c.kind == CXType_Atomic)
        c = clang_getCanonicalType(clang_Type_getValueType(c));
    return c;
}

bool ps_type_is_function(CXType t)
{
    return t.kind == CXType_FunctionProto || t.kind == CXType_FunctionNoProto;
}

bool ps_type_is_array(CXType t)
{
    return t.kind == CXType_ConstantArray || t.kind == CXType_IncompleteArray ||
           t.kind == CXType_VariableArray || t.kind == CXType_DependentSizedArray;
}

/* ------------------------------------------------------- the proxy handle */

static bool is_proxy_record(ps_ptctx *ctx, CXType canon)
{
    if (canon.kind != CXType_Record)
        return false;
    CXType unq = clang_getUnqualifiedType(canon);
    if (ctx->have_proxy_record)
        return clang_equalTypes(unq, ctx->proxy_record) != 0;
    CXCursor decl = clang_getTypeDeclaration(unq);
    decl_entry *e = entry_of(ctx, decl);
    if (e && (e->flags & F_RECORD_DONE))
        return (e->flags & F_PROXY_RECORD) != 0;
    CXString s = clang_getCursorSpelling(decl);
    const char *name = clang_getCString(s);
    bool yes = name && strcmp(name, "ps_proxy") == 0;
    clang_disposeString(s);
    if (e)
        e->flags |= F_RECORD_DONE | (yes ? F_PROXY_RECORD : 0);
    if (yes) {
        ctx->have_proxy_record = true;
        ctx->proxy_record = unq;
    }
    return yes;
}

bool ps_proxy_struct_is_complete(ps_ptctx *ctx)
{
    if (!ctx->have_proxy_record)
        return false;
    if (ctx->proxy_complete < 0)
        ctx->proxy_complete = clang_Type_getSizeOf(ctx->proxy_record) >= 0;
    return ctx->proxy_complete == 1;
}

bool ps_type_is_handle(ps_ptctx *ctx, CXType t)
{
    CXType c = ps_canonical_value_type(t);
    if (c.kind != CXType_Pointer)
        return false;
    return is_proxy_record(ctx, clang_getCanonicalType(clang_getPointeeType(c)));
}

/*
 * Pointer/array levels from t down to the handle (a proxy handle, or for
 * PROXY_OR a void *), or -1.  Declarations of functions and function
 * pointers describe their return value, so through_functions steps into
 * the result type without counting a level.
 */
static int walk_depth(ps_ptctx *ctx, CXType t, bool or_handle, bool through_functions)
{
    t = clang_getCanonicalType(t);
    int depth = 0;
    for (int i = 0; i < PS_MAX_TYPE_DEPTH; i++) {
        /* t stays canonical, so testing for the handle (a void pointer for
         * PROXY_OR) needs only the pointee, which the step down needs as
         * well: this runs for every expression checked. */
        if (t.kind == CXType_Atomic) {
            /* _Atomic PROXY(T) p: an atomic handle is still the handle. */
            t = clang_getCanonicalType(clang_Type_getValueType(t));
            continue;
        }
        if (t.kind == CXType_Pointer) {
            CXType p = clang_getCanonicalType(clang_getPointeeType(t));
            if (or_handle ? p.kind == CXType_Void : is_proxy_record(ctx, p))
                return depth;
            if (ps_type_is_function(p)) {
                if (!through_functions)
                    return -1;
                t = clang_getCanonicalType(clang_getResultType(p));
                continue;
            }
            t = p;
            depth++;
        } else if (ps_type_is_array(t)) {
            t = clang_getCanonicalType(clang_getArrayElementType(t));
            depth++;
        } else if (ps_type_is_function(t) && through_functions) {
            t = clang_getCanonicalType(clang_getResultType(t));
        } else {
            return -1;
        }
    }
    return -1;
}

/*
 * walk_depth(ctx, t, false, false), and in *or_depth what
 * walk_depth(ctx, t, true, false) says when that is -1 (else -1): both
 * walks take the same steps down, so one walk answers both.  t must be
 * canonical already.
 */
static int walk_depth_both(ps_ptctx *ctx, CXType t, int *or_depth)
{
    *or_depth = -1;
    int depth = 0;
    for (int i = 0; i < PS_MAX_TYPE_DEPTH; i++) {
        if (t.kind == CXType_Atomic) {
            t = clang_getCanonicalType(clang_Type_getValueType(t));
            continue;
        }
        if (t.kind == CXType_Pointer) {
            CXType p = clang_getCanonicalType(clang_getPointeeType(t));
            if (is_proxy_record(ctx, p))
                return depth;
            if (p.kind == CXType_Void) {
                *or_depth = depth;
                return -1;
            }
            if (ps_type_is_function(p))
                return -1;
            t = p;
            depth++;
        } else if (ps_type_is_array(t)) {
            t = clang_getCanonicalType(clang_getArrayElementType(t));
            depth++;
        } else {
            return -1;
        }
    }
    return -1;
}

int ps_handle_depth(ps_ptctx *ctx, CXType t)
{
    return walk_depth(ctx, t, false, false);
}

int ps_decl_handle_depth(ps_ptctx *ctx, CXCursor decl, bool or_handle)
{
    CXType t = clang_getCursorKind(decl) == CXCursor_TypedefDecl
                   ? clang_getTypedefDeclUnderlyingType(decl)
                   : clang_getCursorType(decl);
    return walk_depth(ctx, t, or_handle, true);
}

/* -------------------------------------------------------------- annotations */

typedef struct annotation {
    bool found;
    ps_proxy_kind kind;
    CXType target;
} annotation;

static ps_proxy_kind kind_of_annotation(const char *s)
{
    if (strncmp(s, "ps.", 3) != 0)
        return PS_PROXY_NONE;
    s += 3;
    if (strcmp(s, "proxy") == 0)
        return PS_PROXY_TYPED;
    if (strcmp(s, "proxy_or") == 0)
        return PS_PROXY_OR;
    if (strcmp(s, "proxy_owned") == 0)
        return PS_PROXY_OWNED;
    if (strcmp(s, "proxy_ref") == 0)
        return PS_PROXY_REF;
    if (strcmp(s, "proxy_ref_mut") == 0)
        return PS_PROXY_REF_MUT;
    return PS_PROXY_NONE;
}

static enum CXChildVisitResult find_cast(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    if (clang_getCursorKind(c) == CXCursor_CStyleCastExpr) {
        *(CXType *)data = clang_getCursorType(c);
        return CXChildVisit_Break;
    }
    return CXChildVisit_Continue;
}

/* The T of an annotate attribute: the pointee of its `(__typeof__(T) *)0`. */
static CXType annotation_target(CXCursor attr)
{
    CXType cast = {CXType_Invalid, {NULL, NULL}};
    clang_visitChildren(attr, find_cast, &cast);
    if (cast.kind == CXType_Invalid)
        return cast;
    return clang_getPointeeType(cast);
}

/* Does the attribute, where the file has it, lie inside decl's extent? */
static bool attr_within(CXCursor attr, CXCursor decl)
{
    CXSourceRange r = clang_getCursorExtent(decl);
    CXFile af, bf, ef;
    unsigned ao, bo, eo;
    clang_getExpansionLocation(clang_getCursorLocation(attr), &af, NULL, NULL, &ao);
    clang_getExpansionLocation(clang_getRangeStart(r), &bf, NULL, NULL, &bo);
    clang_getExpansionLocation(clang_getRangeEnd(r), &ef, NULL, NULL, &eo);
    return af && bf && ef && clang_File_isEqual(af, bf) && clang_File_isEqual(af, ef) && bo <= ao &&
           ao < eo;
}

CXCursor ps_annotation_owner(CXCursor attr, CXCursor parent)
{
    /* In a K&R definition, `void f(p) PROXY(T) p; {...}`, libclang hangs
     * the parameter's attribute on the function. */
    if (clang_getCursorKind(parent) != CXCursor_FunctionDecl)
        return parent;
    int n = clang_Cursor_getNumArguments(parent);
    for (int i = 0; i < n; i++) {
        CXCursor param = clang_Cursor_getArgument(parent, (unsigned)i);
        if (attr_within(attr, param))
            return param;
    }
    return parent;
}

typedef struct annotation_search {
    annotation *a;
    CXCursor decl;  /* whose annotation is sought */
    CXCursor owner; /* the cursor whose attribute children are visited */
} annotation_search;

static enum CXChildVisitResult find_annotation(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    if (clang_getCursorKind(c) != CXCursor_AnnotateAttr)
        return CXChildVisit_Continue;
    annotation_search *search = data;
    if (!clang_equalCursors(ps_annotation_owner(c, search->owner), search->decl))
        return CXChildVisit_Continue; /* a K&R parameter's, or the function's */
    annotation *a = search->a;
    CXString s = clang_getCursorSpelling(c);
    ps_proxy_kind kind = kind_of_annotation(clang_getCString(s));
    clang_disposeString(s);
    if (kind == PS_PROXY_NONE)
        return CXChildVisit_Continue;
    a->found = true;
    a->kind = kind;
    a->target = annotation_target(c);
    return CXChildVisit_Break;
}

/* The ps.* annotation written on (or inherited by) a declaration. */
static annotation own_annotation(CXCursor decl)
{
    annotation a = {false, PS_PROXY_NONE, {CXType_Invalid, {NULL, NULL}}};
    annotation_search search = {&a, decl, decl};
    clang_visitChildren(decl, find_annotation, &search);
    if (!a.found && clang_getCursorKind(decl) == CXCursor_ParmDecl) {
        CXCursor fn = clang_getCursorSemanticParent(decl);
        if (clang_getCursorKind(fn) == CXCursor_FunctionDecl) {
            search.owner = fn;
            clang_visitChildren(fn, find_annotation, &search);
        }
    }
    return a;
}

bool ps_annotation_of_attr(CXCursor attr, ps_proxy_kind *kind, CXType *target, char *name,
                           size_t n)
{
    if (clang_getCursorKind(attr) != CXCursor_AnnotateAttr)
        return false;
    CXString s = clang_getCursorSpelling(attr);
    const char *str = clang_getCString(s);
    bool ours = str && strncmp(str, "ps.", 3) == 0;
    if (ours) {
        snprintf(name, n, "%s", str);
        *kind = kind_of_annotation(str);
        *target = annotation_target(attr);
    }
    clang_disposeString(s);
    return ours;
}

/* A target the checks cannot compare against: void, a function (or a
 * function pointer), or a proxy handle. */
bool ps_target_is_bad(ps_ptctx *ctx, CXType target)
{
    if (target.kind == CXType_Invalid)
        return true;
    CXType c = clang_getCanonicalType(target);
    if (c.kind == CXType_Void || ps_type_is_function(c))
        return true;
    if (c.kind == CXType_Pointer &&
        ps_type_is_function(clang_getCanonicalType(clang_getPointeeType(c))))
        return true;
    return ps_handle_depth(ctx, c) >= 0 || is_proxy_record(ctx, clang_getUnqualifiedType(c));
}

static ps_ptype ptype_none(void)
{
    ps_ptype pt;
    memset(&pt, 0, sizeof pt);
    pt.kind = PS_PROXY_NONE;
    pt.target.kind = CXType_Invalid;
    pt.origin = clang_getNullCursor();
    pt.descriptor = clang_getNullCursor();
    return pt;
}

static ps_ptype ptype_from_annotation(ps_ptctx *ctx, const annotation *a, CXCursor origin)
{
    ps_ptype pt = ptype_none();
    pt.kind = a->kind;
    pt.target = a->target;
    pt.bad_target = ps_target_is_bad(ctx, a->target);
    pt.origin = origin;
    return pt;
}

bool ps_decl_kind_is_typed(enum CXCursorKind k)
{
    return k == CXCursor_VarDecl || k == CXCursor_ParmDecl || k == CXCursor_FieldDecl ||
           k == CXCursor_FunctionDecl || k == CXCursor_TypedefDecl;
}

static ps_ptype compute_decl_ptype(ps_ptctx *ctx, CXCursor decl);

/*
 * Looks through t for an annotated typedef (at any pointer, array or
 * function-result level) and returns its proxy type, depth left at 0.
 */
static ps_ptype typedef_ptype(ps_ptctx *ctx, CXType t)
{
    for (int i = 0; i < PS_MAX_TYPE_DEPTH; i++) {
        switch (t.kind) {
        case CXType_Typedef: {
            CXCursor td = clang_getTypeDeclaration(t);
            ps_ptype pt = ps_ptype_of_decl(ctx, td);
            if (pt.kind != PS_PROXY_NONE && pt.kind != PS_PROXY_UNTYPED)
                return pt;
            t = clang_getTypedefDeclUnderlyingType(td);
            break;
        }
        case CXType_Elaborated:
            t = clang_Type_getNamedType(t);
            break;
        case CXType_Attributed:
            t = clang_Type_getModifiedType(t);
            break;
        case CXType_Pointer:
            t = clang_getPointeeType(t);
            break;
        case CXType_ConstantArray:
        case CXType_IncompleteArray:
        case CXType_VariableArray:
        case CXType_DependentSizedArray:
            t = clang_getArrayElementType(t);
            break;
        case CXType_FunctionProto:
        case CXType_FunctionNoProto:
            t = clang_getResultType(t);
            break;
        case CXType_Unexposed: {
            /* Sugar libclang does not name (parentheses, typeof): the
             * canonical type is all that is left to look at. */
            CXType c = clang_getCanonicalType(t);
            if (clang_equalTypes(c, t))
                return ptype_none();
            t = c;
            break;
        }
        default:
            return ptype_none();
        }
        if (t.kind == CXType_Invalid)
            return ptype_none();
    }
    return ptype_none();
}

static enum CXChildVisitResult first_expr(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    if (clang_isExpression(clang_getCursorKind(c))) {
        *(CXCursor *)data = c;
        return CXChildVisit_Break;
    }
    return CXChildVisit_Continue;
}

/* `__typeof__(p) t;` carries p's annotation: libclang shows the operand
 * as the declaration's first expression child. */
static ps_ptype typeof_ptype(ps_ptctx *ctx, CXCursor decl, CXType t)
{
    CXString sp = clang_getTypeSpelling(t);
    const char *str = clang_getCString(sp);
    bool is_typeof = str && (strncmp(str, "typeof", 6) == 0 || strncmp(str, "__typeof__", 10) == 0);
    clang_disposeString(sp);
    if (!is_typeof)
        return ptype_none();
    CXCursor operand = clang_getNullCursor();
    clang_visitChildren(decl, first_expr, &operand);
    if (clang_Cursor_isNull(operand))
        return ptype_none();
    ps_ptype pt = ps_ptype_of_expr(ctx, operand);
    return ps_ptype_is_typed_proxy(&pt) || pt.kind == PS_PROXY_OR ? pt : ptype_none();
}

static ps_ptype compute_decl_ptype(ps_ptctx *ctx, CXCursor decl)
{
    enum CXCursorKind k = clang_getCursorKind(decl);
    CXType t = k == CXCursor_TypedefDecl ? clang_getTypedefDeclUnderlyingType(decl)
                                         : clang_getCursorType(decl);
    annotation a = own_annotation(decl);
    ps_ptype pt;
    if (a.found)
        pt = ptype_from_annotation(ctx, &a, decl);
    else
        pt = typedef_ptype(ctx, t);
    if (pt.kind == PS_PROXY_NONE && k != CXCursor_TypedefDecl && k != CXCursor_FunctionDecl &&
        walk_depth(ctx, t, false, false) >= 0)
        pt = typeof_ptype(ctx, decl, t);
    if (pt.kind == PS_PROXY_NONE) {
        if (walk_depth(ctx, t, false, true) < 0)
            return ptype_none();
        pt.kind = PS_PROXY_UNTYPED;
        pt.origin = decl;
    }
    int depth = walk_depth(ctx, t, pt.kind == PS_PROXY_OR, true);
    pt.depth = depth < 0 ? 0 : (unsigned)depth;
    return pt;
}

ps_ptype ps_ptype_of_decl(ps_ptctx *ctx, CXCursor decl)
{
    if (!ps_decl_kind_is_typed(clang_getCursorKind(decl)))
        return ptype_none();
    decl_entry *e = entry_of(ctx, decl);
    if (!e)
        return compute_decl_ptype(ctx, decl);
    if (e->flags & F_PTYPE_DONE)
        return e->ptype;
    if (e->flags & F_PTYPE_BUSY)
        return ptype_none();
    e->flags |= F_PTYPE_BUSY;
    ps_ptype pt = compute_decl_ptype(ctx, decl);
    /* The table may have grown meanwhile: look the entry up again. */
    e = entry_of(ctx, decl);
    if (e) {
        e->ptype = pt;
        e->flags = (e->flags & ~F_PTYPE_BUSY) | F_PTYPE_DONE;
    }
    return pt;
}

ps_ptype ps_ptype_of_type(ps_ptctx *ctx, CXType t)
{
    ps_ptype pt = typedef_ptype(ctx, t);
    if (pt.kind == PS_PROXY_NONE) {
        int d = walk_depth(ctx, t, false, false);
        if (d < 0)
            return ptype_none();
        pt.kind = PS_PROXY_UNTYPED;
        pt.depth = (unsigned)d;
        return pt;
    }
    int d = walk_depth(ctx, t, pt.kind == PS_PROXY_OR, false);
    if (d < 0)
        return ptype_none();
    pt.depth = (unsigned)d;
    return pt;
}

/* ------------------------------------------------------------ callees */

static CXCursor function_typedef(CXType t);

CXCursor ps_callee_decl(CXCursor call)
{
    CXCursor r = clang_getCursorReferenced(call);
    if (!clang_Cursor_isNull(r) && clang_getCursorKind(r) != CXCursor_InvalidFile) {
        /* lookup(op)(p) refers to lookup, but calls what lookup returns. */
        CXType rt = clang_getCanonicalType(clang_getCursorResultType(r));
        CXCursor callee;
        if (clang_getCursorKind(r) == CXCursor_FunctionDecl && rt.kind == CXType_Pointer &&
            ps_type_is_function(clang_getCanonicalType(clang_getPointeeType(rt))) &&
            ps_children(call, &callee, 1) >= 1 &&
            clang_getCursorKind(ps_strip_implicit(callee)) == CXCursor_CallExpr)
            return function_typedef(clang_getCursorType(ps_strip_implicit(callee)));
        return r;
    }
    /* (*fp)(x): libclang does not see through the dereference. */
    CXCursor callee;
    if (ps_children(call, &callee, 1) < 1)
        return clang_getNullCursor();
    for (int i = 0; i < 16; i++) {
        callee = ps_strip_implicit(callee);
        if (clang_getCursorKind(callee) != CXCursor_UnaryOperator)
            break;
        if (ps_children(callee, &callee, 1) != 1)
            return clang_getNullCursor();
    }
    enum CXCursorKind k = clang_getCursorKind(callee);
    if (k == CXCursor_DeclRefExpr || k == CXCursor_MemberRefExpr)
        return clang_getCursorReferenced(callee);
    /* lookup(op)(p), handlers[k](p): the function pointer's typedef, whose
     * parameters carry the annotations. */
    return function_typedef(clang_getCursorType(callee));
}

typedef struct param_list {
    CXCursor *v;
    size_t n, cap;
    bool oom;
} param_list;

static bool param_push(param_list *l, CXCursor param)
{
    CXCursor *v = ps_array_reserve(l->v, &l->cap, l->n + 1, sizeof *v);
    if (!v) {
        l->oom = true;
        return false;
    }
    l->v = v;
    l->v[l->n++] = param;
    return true;
}

static enum CXChildVisitResult collect_param(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    if (clang_getCursorKind(c) != CXCursor_ParmDecl)
        return CXChildVisit_Continue;
    return param_push(data, c) ? CXChildVisit_Continue : CXChildVisit_Break;
}

/* The typedef a function (pointer) type was declared with, if any. */
static CXCursor function_typedef(CXType t)
{
    for (int i = 0; i < PS_MAX_TYPE_DEPTH; i++) {
        if (t.kind == CXType_Typedef) {
            CXCursor td = clang_getTypeDeclaration(t);
            CXType u = clang_getTypedefDeclUnderlyingType(td);
            CXType c = clang_getCanonicalType(u);
            if (ps_type_is_function(c) ||
                (c.kind == CXType_Pointer &&
                 ps_type_is_function(clang_getCanonicalType(clang_getPointeeType(c)))))
                return td;
            t = u;
        } else if (t.kind == CXType_Elaborated) {
            t = clang_Type_getNamedType(t);
        } else if (t.kind == CXType_Pointer) {
            t = clang_getPointeeType(t);
        } else {
            break;
        }
    }
    return clang_getNullCursor();
}

static param_list gather_params(CXCursor callee)
{
    param_list l = {NULL, 0, 0, false};
    if (clang_getCursorKind(callee) == CXCursor_FunctionDecl) {
        int n = clang_Cursor_getNumArguments(callee);
        for (int i = 0; i < n; i++)
            if (!param_push(&l, clang_Cursor_getArgument(callee, (unsigned)i)))
                return l;
    } else {
        clang_visitChildren(callee, collect_param, &l);
    }
    if (l.n == 0 && !l.oom) {
        CXCursor td = function_typedef(clang_getCursorType(callee));
        if (!clang_Cursor_isNull(td))
            clang_visitChildren(td, collect_param, &l);
    }
    return l;
}

const CXCursor *ps_callee_params(ps_ptctx *ctx, CXCursor callee, unsigned *n)
{
    *n = 0;
    if (clang_Cursor_isNull(callee))
        return NULL;
    decl_entry *e = entry_of(ctx, callee);
    if (!e)
        return NULL;
    if (!(e->flags & F_PARAMS_DONE)) {
        param_list l = gather_params(callee);
        e = entry_of(ctx, callee);
        if (!e) {
            free(l.v);
            return NULL;
        }
        e->params = l.v;
        e->nparams = (unsigned)l.n;
        e->flags |= F_PARAMS_DONE;
    }
    *n = e->nparams;
    return e->params;
}

static const struct {
    const char *name;
    ps_fn_role role;
} fn_roles[] = {
    {"ps_resolve", PS_FN_RESOLVE},
    {"ps_resolve_as", PS_FN_RESOLVE_AS},
    {"ps_resolve_or", PS_FN_RESOLVE_OR},
    {"ps_is_proxy", PS_FN_IS_PROXY},
    {"ps_proxy", PS_FN_CREATE},
    {"ps_proxy_array", PS_FN_CREATE_ARRAY},
    {"ps_proxy_from_key", PS_FN_FROM_KEY},
    {"ps_proxy_deserialize", PS_FN_DESERIALIZE},
    {"ps_future_proxy", PS_FN_FUTURE_PROXY},
    {"free", PS_FN_FREE},
    {"ps_owned", PS_FN_OWNED},
    {"ps_owned_array", PS_FN_OWNED_ARRAY},
    {"ps_owned_clone", PS_FN_OWNED_CLONE},
    {"ps_into_owned", PS_FN_INTO_OWNED},
    {"ps_borrow", PS_FN_BORROW},
    {"ps_borrow_mut", PS_FN_BORROW_MUT},
    {"ps_lifetime_proxy", PS_FN_LIFETIME_PROXY},
    {"ps_proxy_free", PS_FN_RELEASE},
    {"ps_proxy_evict", PS_FN_RELEASE},
    {"ps_owned_release", PS_FN_OWNED_RELEASE},
    {"ps_borrow_release", PS_FN_BORROW_RELEASE},
    {"ps_proxy_serialize", PS_FN_SERIALIZE},
    {"ps_resolve_ref", PS_FN_RESOLVE_REF},
    {"ps_resolve_mut", PS_FN_RESOLVE_MUT},
    {"ps_proxy_update", PS_FN_UPDATE},
    {"ps_lifetime_add_proxy", PS_FN_LIFETIME_ADD},
    {"ps_stream_next", PS_FN_STREAM_NEXT},
};

int ps_fn_role_out_arg(ps_fn_role role)
{
    return role == PS_FN_STREAM_NEXT ? 2 : -1;
}

int ps_fn_role_descriptor_arg(ps_fn_role role)
{
    switch (role) {
    case PS_FN_CREATE:
    case PS_FN_CREATE_ARRAY:
    case PS_FN_DESERIALIZE:
    case PS_FN_OWNED:
    case PS_FN_OWNED_ARRAY:
        return 1;
    case PS_FN_FROM_KEY:
    case PS_FN_LIFETIME_PROXY:
        return 2;
    default:
        return -1;
    }
}

int ps_fn_role_object_arg(ps_fn_role role)
{
    switch (role) {
    case PS_FN_CREATE:
    case PS_FN_CREATE_ARRAY:
    case PS_FN_OWNED:
    case PS_FN_OWNED_ARRAY:
        return 2;
    case PS_FN_LIFETIME_PROXY:
        return 3;
    default:
        return -1;
    }
}

bool ps_fn_role_creates(ps_fn_role role)
{
    return ps_fn_role_descriptor_arg(role) >= 0 || ps_fn_role_derives(role) || role == PS_FN_FUTURE_PROXY;
}

bool ps_fn_role_derives(ps_fn_role role)
{
    return role == PS_FN_OWNED_CLONE || role == PS_FN_INTO_OWNED || role == PS_FN_BORROW ||
           role == PS_FN_BORROW_MUT;
}

bool ps_fn_role_resolves(ps_fn_role role)
{
    return role == PS_FN_RESOLVE || role == PS_FN_RESOLVE_AS || role == PS_FN_RESOLVE_OR ||
           role == PS_FN_RESOLVE_REF || role == PS_FN_RESOLVE_MUT;
}

bool ps_fn_role_releases(ps_fn_role role)
{
    return role == PS_FN_RELEASE || role == PS_FN_OWNED_RELEASE || role == PS_FN_BORROW_RELEASE;
}

ps_fn_role ps_callee_role(ps_ptctx *ctx, CXCursor call)
{
    CXCursor callee = ps_callee_decl(call);
    if (clang_getCursorKind(callee) != CXCursor_FunctionDecl)
        return PS_FN_NONE;
    decl_entry *e = entry_of(ctx, callee);
    if (e && (e->flags & F_ROLE_DONE))
        return e->role;
    ps_fn_role role = PS_FN_NONE;
    CXString s = clang_getCursorSpelling(callee);
    const char *name = clang_getCString(s);
    /* Every name in the table starts with "ps_" or is "free". */
    if (name && (name[0] == 'p' || name[0] == 'f')) {
        for (size_t i = 0; i < sizeof fn_roles / sizeof fn_roles[0]; i++)
            if (strcmp(name, fn_roles[i].name) == 0) {
                role = fn_roles[i].role;
                break;
            }
    }
    clang_disposeString(s);
    if (e) {
        e->role = role;
        e->flags |= F_ROLE_DONE;
    }
    return role;
}

/* ------------------------------------------------------------ expressions */

static ps_ptype expr_origin(ps_ptctx *ctx, CXCursor expr, int budget);

static ps_ptype child_origin(ps_ptctx *ctx, CXCursor expr, unsigned index, int budget)
{
    CXCursor kids[3];
    unsigned n = ps_children(expr, kids, 3);
    if (index >= n || index >= 3)
        return ptype_none();
    return expr_origin(ctx, kids[index], budget);
}

/* The operand of pointer arithmetic that has the pointer type. */
static ps_ptype pointer_operand_origin(ps_ptctx *ctx, CXCursor expr, int budget)
{
    CXCursor kids[2];
    if (ps_children(expr, kids, 2) != 2)
        return ptype_none();
    for (int i = 0; i < 2; i++) {
        CXType t = clang_getCanonicalType(clang_getCursorType(kids[i]));
        if (t.kind == CXType_Pointer || ps_type_is_array(t))
            return expr_origin(ctx, kids[i], budget);
    }
    return ptype_none();
}

static ps_ptype call_origin(ps_ptctx *ctx, CXCursor call)
{
    ps_fn_role role = ps_callee_role(ctx, call);
    int darg = ps_fn_role_descriptor_arg(role);
    if (darg >= 0) {
        ps_ptype pt = ptype_none();
        pt.kind = PS_PROXY_UNTYPED;
        pt.created = true;
        if ((int)clang_Cursor_getNumArguments(call) > darg)
            pt.descriptor = clang_Cursor_getArgument(call, (unsigned)darg);
        pt.origin = ps_callee_decl(call);
        return pt;
    }
    if (ps_fn_role_derives(role) && clang_Cursor_getNumArguments(call) >= 1) {
        /* A borrow, clone or owner of p stands for p's target. */
        ps_ptype pt = expr_origin(ctx, clang_Cursor_getArgument(call, 0), 8);
        if (ps_ptype_is_typed_proxy(&pt) && pt.depth == 0) {
            pt.kind = role == PS_FN_BORROW       ? PS_PROXY_REF
                      : role == PS_FN_BORROW_MUT ? PS_PROXY_REF_MUT
                                                 : PS_PROXY_OWNED;
            return pt;
        }
    }
    CXCursor callee = ps_callee_decl(call);
    if (clang_Cursor_isNull(callee))
        return ptype_none();
    return ps_ptype_of_decl(ctx, callee);
}

static ps_ptype expr_origin(ps_ptctx *ctx, CXCursor expr, int budget)
{
    if (budget <= 0)
        return ptype_none();
    budget--;
    switch (clang_getCursorKind(expr)) {
    case CXCursor_DeclRefExpr: {
        CXCursor d = clang_getCursorReferenced(expr);
        enum CXCursorKind dk = clang_getCursorKind(d);
        if (dk == CXCursor_VarDecl || dk == CXCursor_ParmDecl)
            return ps_ptype_of_decl(ctx, d);
        return ptype_none();
    }
    case CXCursor_MemberRefExpr: {
        CXCursor d = clang_getCursorReferenced(expr);
        if (clang_getCursorKind(d) == CXCursor_FieldDecl)
            return ps_ptype_of_decl(ctx, d);
        return ptype_none();
    }
    case CXCursor_CallExpr:
        return call_origin(ctx, expr);
    case CXCursor_ParenExpr:
        return child_origin(ctx, expr, 0, budget);
    case CXCursor_UnexposedExpr: {
        CXCursor kids[2];
        if (ps_children(expr, kids, 2) != 1)
            return ptype_none();
        return expr_origin(ctx, kids[0], budget);
    }
    case CXCursor_UnaryOperator:
        switch (clang_getCursorUnaryOperatorKind(expr)) {
        case CXUnaryOperator_AddrOf:
        case CXUnaryOperator_Deref:
        case CXUnaryOperator_PreInc:
        case CXUnaryOperator_PreDec:
        case CXUnaryOperator_PostInc:
        case CXUnaryOperator_PostDec:
        case CXUnaryOperator_Extension:
            return child_origin(ctx, expr, 0, budget);
        default:
            return ptype_none();
        }
    case CXCursor_ArraySubscriptExpr:
        return pointer_operand_origin(ctx, expr, budget);
    case CXCursor_ConditionalOperator: {
        CXCursor kids[3];
        unsigned n = ps_children(expr, kids, 3);
        for (unsigned i = n == 3 ? 1 : 0; i < n && i < 3; i++) {
            ps_ptype pt = expr_origin(ctx, kids[i], budget);
            if (pt.kind != PS_PROXY_NONE)
                return pt;
        }
        return ptype_none();
    }
    case CXCursor_BinaryOperator:
    case CXCursor_CompoundAssignOperator:
        switch (clang_getCursorBinaryOperatorKind(expr)) {
        case CXBinaryOperator_Assign:
        case CXBinaryOperator_AddAssign:
        case CXBinaryOperator_SubAssign:
            return child_origin(ctx, expr, 0, budget);
        case CXBinaryOperator_Comma:
            return child_origin(ctx, expr, 1, budget);
        case CXBinaryOperator_Add:
        case CXBinaryOperator_Sub:
            return pointer_operand_origin(ctx, expr, budget);
        default:
            return ptype_none();
        }
    case CXCursor_StmtExpr: {
        CXCursor value = ps_stmt_expr_value(expr);
        return clang_Cursor_isNull(value) ? ptype_none() : expr_origin(ctx, value, budget);
    }
    case CXCursor_CStyleCastExpr:
    case CXCursor_CompoundLiteralExpr:
        /* An explicit cast says what the value is now: a proxy typedef gives
         * it that type, ps_proxy_t * makes it untyped, anything else is no
         * longer followed as a proxy. */
        return ps_ptype_of_type(ctx, clang_getCursorType(expr));
    default:
        return ptype_none();
    }
}

ps_ptype ps_ptype_of_expr(ps_ptctx *ctx, CXCursor expr)
{
    CXType t = clang_getCursorType(expr);
    CXType c = ps_canonical_value_type(t);
    /* The fast exit: only pointers and arrays can be, or hold, proxies. */
    if (c.kind != CXType_Pointer && !ps_type_is_array(c))
        return ptype_none();
    int od;
    int hd = walk_depth_both(ctx, c, &od);
    if (hd < 0 && od < 0)
        return ptype_none();
    ps_ptype pt = expr_origin(ctx, expr, 64);
    if (pt.kind == PS_PROXY_OR) {
        if (od < 0)
            return ptype_none();
        pt.depth = (unsigned)od;
        return pt;
    }
    if (pt.kind == PS_PROXY_NONE || hd < 0) {
        if (hd < 0)
            return ptype_none();
        return ps_ptype_of_type(ctx, t);
    }
    pt.depth = (unsigned)hd;
    return pt;
}

/* ------------------------------------------------------------ compatibility */

static unsigned qualifiers(CXType t)
{
    return (clang_isConstQualifiedType(t) ? 1u : 0u) | (clang_isVolatileQualifiedType(t) ? 2u : 0u) |
           (clang_isRestrictQualifiedType(t) ? 4u : 0u);
}

static ps_compat compat_canonical(CXType from, CXType to, int budget)
{
    if (budget <= 0)
        return PS_COMPAT_MISMATCH;
    if (ps_type_is_array(from) && ps_type_is_array(to)) {
        if (from.kind == CXType_ConstantArray && to.kind == CXType_ConstantArray &&
            clang_getArraySize(from) != clang_getArraySize(to))
            return PS_COMPAT_MISMATCH;
        return compat_canonical(clang_getCanonicalType(clang_getArrayElementType(from)),
                                clang_getCanonicalType(clang_getArrayElementType(to)), budget - 1);
    }
    if (!clang_equalTypes(clang_getUnqualifiedType(from), clang_getUnqualifiedType(to)))
        return PS_COMPAT_MISMATCH;
    unsigned qf = qualifiers(from), qt = qualifiers(to);
    return (qf & ~qt) ? PS_COMPAT_DROPS_QUALIFIERS : PS_COMPAT_OK;
}

ps_compat ps_target_compat(CXType from, CXType to)
{
    return compat_canonical(clang_getCanonicalType(from), clang_getCanonicalType(to),
                            PS_MAX_TYPE_DEPTH);
}

ps_compat ps_object_compat(CXType obj, CXType target)
{
    ps_compat c = ps_target_compat(obj, target);
    if (c != PS_COMPAT_MISMATCH)
        return c;
    CXType t = clang_getCanonicalType(target);
    if (ps_type_is_array(t))
        return ps_target_compat(obj, clang_getArrayElementType(t));
    return c;
}

/* ------------------------------------------------------------ descriptors */

static bool is_word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* Collapses blanks, dropping those next to punctuation: "double [4]" and
 * "double[4]" compare equal, "unsigned  char" becomes "unsigned char". */
static void normalize_name(const char *in, char *out, size_t n)
{
    size_t j = 0;
    bool pending_space = false;
    for (const char *p = in; *p && j + 1 < n; p++) {
        char c = *p;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            pending_space = j > 0;
            continue;
        }
        if (pending_space && is_word_char(c) && j > 0 && is_word_char(out[j - 1]) && j + 2 < n)
            out[j++] = ' ';
        pending_space = false;
        out[j++] = c;
    }
    out[j] = '\0';
}

static const struct {
    const char *var;
    const char *name;
    enum CXTypeKind kind, alt_kind;
    long long size; /* fixed-width integers: their size; else 0 */
} builtin_descriptors[] = {
    {"ps_type_bytes", "unsigned char", CXType_UChar, CXType_UChar, 0},
    {"ps_type_char", "char", CXType_Char_S, CXType_Char_U, 0},
    {"ps_type_int32", "int32_t", CXType_Int, CXType_Long, 4},
    {"ps_type_int64", "int64_t", CXType_Long, CXType_LongLong, 8},
    {"ps_type_double", "double", CXType_Double, CXType_Double, 0},
    {"ps_type_float", "float", CXType_Float, CXType_Float, 0},
};

/* "double", "unsigned long", "double[4]", "const char[16]": keywords,
 * blanks and array bounds only. */
static bool name_is_builtin_type(const char *name)
{
    static const char *const keywords[] = {
        "void", "char", "short", "int", "long", "float", "double", "signed", "unsigned",
        "_Bool", "bool", "const", "volatile", "_Complex",
    };
    const char *p = name;
    bool any = false;
    while (*p) {
        if (*p == ' ') {
            p++;
            continue;
        }
        if (*p == '[') {
            const char *close = strchr(p, ']');
            if (!close || !any)
                return false;
            for (const char *q = p + 1; q < close; q++)
                if (*q < '0' || *q > '9')
                    return false;
            p = close + 1;
            continue;
        }
        size_t len = 0;
        while (p[len] && p[len] != ' ' && p[len] != '[')
            len++;
        bool keyword = false;
        for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
            if (strlen(keywords[i]) == len && strncmp(p, keywords[i], len) == 0)
                keyword = true;
        if (!keyword)
            return false;
        any = true;
        p += len;
    }
    return any;
}

static enum CXChildVisitResult find_type_annotation(CXCursor c, CXCursor parent,
                                                    CXClientData data)
{
    (void)parent;
    if (clang_getCursorKind(c) != CXCursor_AnnotateAttr)
        return CXChildVisit_Continue;
    CXString s = clang_getCursorSpelling(c);
    bool yes = strcmp(clang_getCString(s), "ps.type") == 0;
    clang_disposeString(s);
    if (!yes)
        return CXChildVisit_Continue;
    *(CXType *)data = annotation_target(c);
    return CXChildVisit_Break;
}

static void descriptor_from_initializer(CXCursor init, ps_descriptor *d)
{
    init = ps_strip_implicit(init);
    if (clang_getCursorKind(init) != CXCursor_InitListExpr)
        return;
    CXCursor kids[2];
    if (ps_children(init, kids, 2) < 2)
        return;
    CXCursor str = ps_strip_implicit(kids[0]);
    if (clang_getCursorKind(str) != CXCursor_StringLiteral)
        return;
    CXString s = clang_getCursorSpelling(str);
    const char *lit = clang_getCString(s);
    char raw[sizeof d->name];
    size_t len = lit ? strlen(lit) : 0;
    if (len >= 2 && lit[0] == '"' && lit[len - 1] == '"' && len - 2 < sizeof raw) {
        memcpy(raw, lit + 1, len - 2);
        raw[len - 2] = '\0';
        normalize_name(raw, d->name, sizeof d->name);
        d->known = d->name[0] != '\0';
    }
    clang_disposeString(s);
    if (!d->known)
        return;
    /* sizeof(T) names T through a type reference when T is a struct, union,
     * enum or typedef name; built-in types have only their spelling. */
    CXCursor ref;
    if (!strchr(d->name, '[') && ps_children(kids[1], &ref, 1) >= 1 &&
        clang_getCursorKind(ref) == CXCursor_TypeRef) {
        CXCursor td = clang_getCursorReferenced(ref);
        CXType t = clang_getCursorType(td);
        if (t.kind != CXType_Invalid) {
            d->type = t;
            d->has_type = true;
            return;
        }
    }
    /* A hand-written descriptor's name may be any label ("counted"): only a
     * name made of C's type keywords is sure to be the spelling of T. */
    if (!name_is_builtin_type(d->name))
        d->known = false;
}

static ps_descriptor descriptor_unknown(CXCursor decl)
{
    ps_descriptor d;
    memset(&d, 0, sizeof d);
    d.decl = decl;
    d.type.kind = CXType_Invalid;
    d.builtin_kind = d.builtin_alt_kind = CXType_Invalid;
    return d;
}

static ps_descriptor descriptor_of_expr(ps_ptctx *ctx, CXCursor expr, int budget);

static ps_descriptor descriptor_of_var(ps_ptctx *ctx, CXCursor var, int budget)
{
    ps_descriptor d = descriptor_unknown(var);
    CXCursor def = clang_getCursorDefinition(var);
    if (clang_Cursor_isNull(def))
        def = var;
    CXType vt = clang_getCanonicalType(clang_getCursorType(var));
    if (vt.kind == CXType_Pointer) {
        /* const ps_type *t = &matrix_type: follow the initializer once. */
        CXCursor init = clang_Cursor_getVarDeclInitializer(def);
        if (!clang_Cursor_isNull(init) && budget > 0)
            return descriptor_of_expr(ctx, init, budget);
        return d;
    }
    /* A descriptor declared with a ps.type annotation names T directly. */
    CXType annotated = {CXType_Invalid, {NULL, NULL}};
    clang_visitChildren(var, find_type_annotation, &annotated);
    if (annotated.kind != CXType_Invalid) {
        d.known = true;
        d.has_type = true;
        d.type = annotated;
        ps_target_spelling(annotated, d.name, sizeof d.name);
        return d;
    }
    CXString s = clang_getCursorSpelling(var);
    const char *name = clang_getCString(s);
    if (name && strncmp(name, "ps_type_", 8) == 0) {
        for (size_t i = 0; i < sizeof builtin_descriptors / sizeof builtin_descriptors[0]; i++)
            if (strcmp(name, builtin_descriptors[i].var) == 0) {
                snprintf(d.name, sizeof d.name, "%s", builtin_descriptors[i].name);
                d.known = true;
                d.builtin_kind = builtin_descriptors[i].kind;
                d.builtin_alt_kind = builtin_descriptors[i].alt_kind;
                d.builtin_size = builtin_descriptors[i].size;
            }
    }
    clang_disposeString(s);
    if (d.known)
        return d;
    CXCursor init = clang_Cursor_getVarDeclInitializer(def);
    if (!clang_Cursor_isNull(init))
        descriptor_from_initializer(init, &d);
    return d;
}

static ps_descriptor descriptor_of_expr(ps_ptctx *ctx, CXCursor expr, int budget)
{
    ps_descriptor d = descriptor_unknown(clang_getNullCursor());
    expr = ps_strip_implicit(expr);
    if (clang_getCursorKind(expr) == CXCursor_UnaryOperator &&
        clang_getCursorUnaryOperatorKind(expr) == CXUnaryOperator_AddrOf) {
        CXCursor k;
        if (ps_children(expr, &k, 1) != 1)
            return d;
        expr = ps_strip_implicit(k);
    } else if (clang_getCursorKind(expr) == CXCursor_DeclRefExpr) {
        CXCursor v = clang_getCursorReferenced(expr);
        CXType vt = clang_getCanonicalType(clang_getCursorType(v));
        if (vt.kind != CXType_Pointer)
            return d;
    } else {
        return d;
    }
    if (clang_getCursorKind(expr) != CXCursor_DeclRefExpr)
        return d;
    CXCursor var = clang_getCursorReferenced(expr);
    if (clang_getCursorKind(var) != CXCursor_VarDecl || budget <= 0)
        return d;
    return descriptor_of_var(ctx, var, budget - 1);
}

ps_descriptor ps_descriptor_of_expr(ps_ptctx *ctx, CXCursor expr)
{
    return descriptor_of_expr(ctx, expr, 3);
}

char *ps_type_spelling(CXType t, char *buf, size_t n)
{
    CXString s = clang_getTypeSpelling(t);
    const char *str = clang_getCString(s);
    snprintf(buf, n, "%s", str ? str : "?");
    clang_disposeString(s);
    return buf;
}

static bool name_is(const char *want, CXType t)
{
    char raw[256], norm[256];
    ps_type_spelling(t, raw, sizeof raw);
    normalize_name(raw, norm, sizeof norm);
    return strcmp(norm, want) == 0;
}

/* Does the descriptor's name match one spelling of t: as written, through
 * its typedefs, or canonical? */
static bool name_matches(const char *want, CXType t)
{
    for (int i = 0; i < PS_MAX_TYPE_DEPTH && t.kind != CXType_Invalid; i++) {
        CXType u = clang_getUnqualifiedType(t);
        if (name_is(want, u))
            return true;
        if (u.kind == CXType_Typedef)
            t = clang_getTypedefDeclUnderlyingType(clang_getTypeDeclaration(u));
        else if (u.kind == CXType_Elaborated)
            t = clang_Type_getNamedType(u);
        else
            break;
    }
    return name_is(want, unqualified_canonical(t));
}

static bool descriptor_matches_one(const ps_descriptor *d, CXType obj)
{
    CXType c = unqualified_canonical(obj);
    if (d->builtin_kind != CXType_Invalid) {
        /* A built-in descriptor: compare kinds (and size for fixed-width). */
        if (c.kind != d->builtin_kind && c.kind != d->builtin_alt_kind)
            return false;
        return d->builtin_size == 0 || clang_Type_getSizeOf(c) == d->builtin_size;
    }
    if (d->has_type)
        return ps_target_compat(obj, d->type) != PS_COMPAT_MISMATCH ||
               clang_equalTypes(c, unqualified_canonical(d->type));
    if (name_matches(d->name, obj))
        return true;
    /* A descriptor of E[N] fits a pointer to its first element, E. */
    size_t len = strlen(d->name);
    if (len > 0 && d->name[len - 1] == ']') {
        char base[sizeof d->name];
        snprintf(base, sizeof base, "%s", d->name);
        char *open = strrchr(base, '[');
        if (open && open > base) {
            *open = '\0';
            return name_matches(base, obj);
        }
    }
    return false;
}

bool ps_descriptor_matches(ps_ptctx *ctx, const ps_descriptor *d, CXType obj)
{
    (void)ctx;
    if (!d->known)
        return true;
    if (descriptor_matches_one(d, obj))
        return true;
    /* An array of what the descriptor describes (descriptors of arrays
     * describe one element). */
    CXType c = clang_getCanonicalType(obj);
    if (ps_type_is_array(c))
        return descriptor_matches_one(d, clang_getArrayElementType(obj.kind == c.kind ? obj : c));
    return false;
}

/* ------------------------------------------------------------ spellings */

char *ps_target_spelling(CXType target, char *buf, size_t n)
{
    if (target.kind == CXType_Invalid) {
        snprintf(buf, n, "?");
        return buf;
    }
    char raw[256];
    ps_type_spelling(target, raw, sizeof raw);
    const char *s = raw;
    size_t len = strlen(s);
    /* The annotation's typeof(T) wrapper is not what the user wrote. */
    static const char *const wrappers[] = {"typeof(", "__typeof__(", "__typeof("};
    for (size_t i = 0; i < sizeof wrappers / sizeof wrappers[0]; i++) {
        size_t w = strlen(wrappers[i]);
        if (len > w && strncmp(s, wrappers[i], w) == 0 && s[len - 1] == ')') {
            snprintf(buf, n, "%.*s", (int)(len - w - 1), s + w);
            return buf;
        }
    }
    snprintf(buf, n, "%s", s);
    return buf;
}

const char *ps_proxy_kind_macro(ps_proxy_kind k)
{
    switch (k) {
    case PS_PROXY_TYPED:
        return "PROXY";
    case PS_PROXY_OWNED:
        return "PROXY_OWNED";
    case PS_PROXY_REF:
        return "PROXY_REF";
    case PS_PROXY_REF_MUT:
        return "PROXY_REF_MUT";
    case PS_PROXY_OR:
        return "PROXY_OR";
    default:
        return NULL;
    }
}

char *ps_ptype_spelling(const ps_ptype *pt, char *buf, size_t n)
{
    const char *macro = ps_proxy_kind_macro(pt->kind);
    char target[256];
    int len;
    if (macro)
        len = snprintf(buf, n, "%s(%s)", macro, ps_target_spelling(pt->target, target, sizeof target));
    else if (pt->kind == PS_PROXY_UNTYPED)
        len = snprintf(buf, n, "ps_proxy_t *");
    else
        len = snprintf(buf, n, "not a proxy");
    for (unsigned i = 0; i < pt->depth && len >= 0 && (size_t)len + 2 < n; i++)
        len += snprintf(buf + len, n - (size_t)len, "%s*",
                        pt->kind == PS_PROXY_UNTYPED || i > 0 ? "" : " ");
    return buf;
}
