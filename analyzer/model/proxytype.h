/*
 * proxytype.h — the proxy type model: what ps-check knows about a
 * declaration, a type or an expression.
 *
 * A value is either not a proxy, a typed proxy (PROXY(T) and its ownership
 * kinds), a PROXY_OR(T), or an untyped proxy (a `ps_proxy_t *` nobody
 * annotated).  A proxy type also has a depth: the pointer and array levels
 * above the handle, so `PROXY(T) *pp` has depth 1 and `pp[0]` depth 0.
 *
 * T travels from the annotation macro to here as the type of the
 * attribute's argument, `(__typeof__(T) *)0` (annotations.h).  Lookups per
 * declaration are cached for the life of the context, so asking twice about
 * the same variable, parameter, field, function or typedef costs a hash
 * lookup; code that involves no proxy never gets past a type-kind test.
 */
#ifndef PS_CHECK_PROXYTYPE_H
#define PS_CHECK_PROXYTYPE_H

#include <clang-c/Index.h>
#include <stdbool.h>
#include <stddef.h>

typedef enum ps_proxy_kind {
    PS_PROXY_NONE = 0, /* not a proxy */
    PS_PROXY_TYPED,    /* PROXY(T) */
    PS_PROXY_OWNED,    /* PROXY_OWNED(T) */
    PS_PROXY_REF,      /* PROXY_REF(T) */
    PS_PROXY_REF_MUT,  /* PROXY_REF_MUT(T) */
    PS_PROXY_OR,       /* PROXY_OR(T): a T * or a PROXY(T) */
    PS_PROXY_UNTYPED,  /* an unannotated ps_proxy_t *: target unknown */
} ps_proxy_kind;

typedef struct ps_ptype {
    ps_proxy_kind kind;
    unsigned depth;      /* pointer/array levels above the handle */
    CXType target;       /* T, as written in the annotation (typed kinds and OR) */
    bool bad_target;     /* T is malformed (ps-annotation): compare as unknown */
    CXCursor origin;     /* the declaration whose annotation gave the type, or null */
    /* A proxy just made by ps_proxy & co. is untyped but created: its
     * target is what the descriptor argument (this expression) describes. */
    bool created;
    CXCursor descriptor;
} ps_ptype;

/* True for the kinds that carry a proxy handle with a known target. */
static inline bool ps_ptype_is_typed_proxy(const ps_ptype *pt)
{
    return pt->kind >= PS_PROXY_TYPED && pt->kind <= PS_PROXY_REF_MUT;
}
/* True for every proxy handle, typed or not (not PROXY_OR, which may be a T *). */
static inline bool ps_ptype_is_handle(const ps_ptype *pt)
{
    return ps_ptype_is_typed_proxy(pt) || pt->kind == PS_PROXY_UNTYPED;
}

/* The runtime functions the checks know about. */
typedef enum ps_fn_role {
    PS_FN_NONE = 0,
    PS_FN_RESOLVE,        /* ps_resolve(p) */
    PS_FN_RESOLVE_AS,     /* ps_resolve_as(p, name, size): PS_RESOLVE(T, p) */
    PS_FN_RESOLVE_OR,     /* ps_resolve_or(x, name, size): PS_RESOLVE_OR(T, x) */
    PS_FN_IS_PROXY,       /* ps_is_proxy(x) */
    PS_FN_CREATE,         /* ps_proxy(store, type, obj) */
    PS_FN_CREATE_ARRAY,   /* ps_proxy_array(store, type, obj, count) */
    PS_FN_FROM_KEY,       /* ps_proxy_from_key(store, key, type) */
    PS_FN_DESERIALIZE,    /* ps_proxy_deserialize(text, type) */
    PS_FN_FUTURE_PROXY,   /* ps_future_proxy(future): a new handle, no descriptor argument */
    PS_FN_FREE,           /* free(ptr): the C library's, never a proxy's */
    /* Ownership (proxystore.h, "ownership" and "lifetimes"). */
    PS_FN_OWNED,          /* ps_owned(store, type, obj): a new owner */
    PS_FN_OWNED_ARRAY,    /* ps_owned_array(store, type, obj, count) */
    PS_FN_OWNED_CLONE,    /* ps_owned_clone(p): a new owner; p stays */
    PS_FN_INTO_OWNED,     /* ps_into_owned(p): consumes p, returns its owner */
    PS_FN_BORROW,         /* ps_borrow(owner): a new shared borrow */
    PS_FN_BORROW_MUT,     /* ps_borrow_mut(owner): a new exclusive borrow */
    PS_FN_LIFETIME_PROXY, /* ps_lifetime_proxy(lt, store, type, obj): a plain proxy */
    PS_FN_RELEASE,        /* ps_proxy_free(p), ps_proxy_evict(p) */
    PS_FN_OWNED_RELEASE,  /* ps_owned_release(owner): refused while borrowed */
    PS_FN_BORROW_RELEASE, /* ps_borrow_release(b) */
    PS_FN_SERIALIZE,      /* ps_proxy_serialize(p): moves an owner or a borrow */
    PS_FN_RESOLVE_REF,    /* ps_resolve_ref(p, name, size): PS_RESOLVE_REF(T, p) */
    PS_FN_RESOLVE_MUT,    /* ps_resolve_mut(p, name, size): PS_RESOLVE_MUT(T, p) */
    PS_FN_UPDATE,         /* ps_proxy_update(p): writes the mutable target back */
    PS_FN_LIFETIME_ADD,   /* ps_lifetime_add_proxy(lt, p) */
    PS_FN_STREAM_NEXT,    /* ps_stream_next(c, timeout, &p, &meta): a new proxy through p */
} ps_fn_role;

/* The argument through which a role returns a new proxy (`&p`), or -1. */
int ps_fn_role_out_arg(ps_fn_role role);

/* The argument index of the type descriptor for a creating role, or -1. */
int ps_fn_role_descriptor_arg(ps_fn_role role);
/* The argument index of the object a creating role stores, or -1. */
int ps_fn_role_object_arg(ps_fn_role role);
/* Roles that return a new handle the caller must release. */
bool ps_fn_role_creates(ps_fn_role role);
/* Roles that return the target of their first argument (a proxy). */
bool ps_fn_role_resolves(ps_fn_role role);
/* Roles that release their (only) argument. */
bool ps_fn_role_releases(ps_fn_role role);
/* Roles whose result is a new handle to the target of their first
 * argument (borrows, clones, ps_into_owned): the result has its type. */
bool ps_fn_role_derives(ps_fn_role role);

/* What a ps_type descriptor variable describes. */
typedef struct ps_descriptor {
    bool known;
    bool has_type;    /* type is valid (the initializer names a type) */
    CXType type;
    char name[128];   /* T as the descriptor spells it, blanks normalized */
    CXCursor decl;    /* the descriptor variable */
    /* The library's built-in descriptors (ps_type_double, ...) match by
     * type kind, and fixed-width integers also by size. */
    enum CXTypeKind builtin_kind, builtin_alt_kind;
    long long builtin_size;
} ps_descriptor;

typedef struct ps_ptctx ps_ptctx;

/* A context for one translation unit; NULL when out of memory. */
ps_ptctx *ps_ptctx_new(CXTranslationUnit tu);
void ps_ptctx_free(ps_ptctx *ctx);

/* A number other modules may keep per declaration (0 until set), in the
 * context's one table of declarations: the flow rules keep the index of a
 * function's summary there.  NULL when out of memory. */
size_t *ps_decl_user_slot(ps_ptctx *ctx, CXCursor decl);

/* The proxy type of a declaration: a variable, parameter, field, typedef,
 * or a function or function pointer (its return value). */
ps_ptype ps_ptype_of_decl(ps_ptctx *ctx, CXCursor decl);
/* The proxy type a value of type t has when nothing else is known: an
 * annotated typedef (at any pointer/array level), an untyped handle, or none. */
ps_ptype ps_ptype_of_type(ps_ptctx *ctx, CXType t);
/* The proxy type of an expression, following variables, parameters, calls,
 * fields, subscripts, *, &, ?:, casts to proxy typedefs and conversions. */
ps_ptype ps_ptype_of_expr(ps_ptctx *ctx, CXCursor expr);

/* The runtime function a call goes to, if it is one the checks know. */
ps_fn_role ps_callee_role(ps_ptctx *ctx, CXCursor call);
/* The declaration a call goes through (a function, or a variable, field or
 * parameter of function pointer type), or a null cursor. */
CXCursor ps_callee_decl(CXCursor call);
/* The parameter declarations of a callee; *n gets their number.  NULL when
 * none are visible.  The array belongs to the context. */
const CXCursor *ps_callee_params(ps_ptctx *ctx, CXCursor callee, unsigned *n);

/* What the descriptor expression (e.g. `&matrix_type`) describes. */
ps_descriptor ps_descriptor_of_expr(ps_ptctx *ctx, CXCursor expr);
/* Whether an object of type obj (or its elements) is what d describes. */
bool ps_descriptor_matches(ps_ptctx *ctx, const ps_descriptor *d, CXType obj);

/* Does type t reach a proxy handle (struct ps_proxy *) through pointers and
 * arrays?  Returns the depth or -1. */
int ps_handle_depth(ps_ptctx *ctx, CXType t);
/* The same for a declaration's type, where functions and function pointers
 * count as their return value; or_handle looks for PROXY_OR's void *. */
int ps_decl_handle_depth(ps_ptctx *ctx, CXCursor decl, bool or_handle);
/* Is struct ps_proxy defined in this translation unit?  Then the code is
 * the library's own implementation, where a ps_proxy_t * is an ordinary
 * pointer to an object it owns. */
bool ps_proxy_struct_is_complete(ps_ptctx *ctx);
/* Is t exactly a proxy handle: a pointer to (possibly const) struct ps_proxy? */
bool ps_type_is_handle(ps_ptctx *ctx, CXType t);

typedef enum ps_compat {
    PS_COMPAT_OK,
    PS_COMPAT_MISMATCH,
    PS_COMPAT_DROPS_QUALIFIERS, /* same type, but the destination lacks a qualifier */
} ps_compat;

/* Is a PROXY(from) acceptable where a PROXY(to) is expected?  As C does for
 * from * to to *: same type up to typedefs; the destination may add const,
 * volatile or restrict but not drop them; T[] and T[N] are compatible. */
ps_compat ps_target_compat(CXType from, CXType to);
/* Is an object of type obj a target T (or one element of an array T)? */
ps_compat ps_object_compat(CXType obj, CXType target);

/* "struct matrix" for T as written in the annotation (typeof unwrapped).
 * Writes at most n bytes, always NUL-terminated; returns buf. */
char *ps_target_spelling(CXType target, char *buf, size_t n);
/* "PROXY(struct matrix)", "PROXY_OR(double[4]) *", "ps_proxy_t *". */
char *ps_ptype_spelling(const ps_ptype *pt, char *buf, size_t n);
/* "struct matrix *" for any type. */
char *ps_type_spelling(CXType t, char *buf, size_t n);

/* A ps.* annotate attribute: its kind (PS_PROXY_NONE for "ps.type" and
 * unknown ps.* names) and T (CXType_Invalid when the argument is missing).
 * Returns false for attributes that are not ps.* annotations. */
bool ps_annotation_of_attr(CXCursor attr, ps_proxy_kind *kind, CXType *target, char *name,
                           size_t n);
/* The declaration an attribute found under parent annotates: parent, or
 * for a K&R definition's parameter declarations, that parameter. */
CXCursor ps_annotation_owner(CXCursor attr, CXCursor parent);
/* Is target unusable as a proxy's target (void, a function, a proxy)? */
bool ps_target_is_bad(ps_ptctx *ctx, CXType target);

/* "PROXY", "PROXY_OR", ...: the macro that writes an annotated kind; NULL
 * for PS_PROXY_NONE and PS_PROXY_UNTYPED. */
const char *ps_proxy_kind_macro(ps_proxy_kind k);
/* The declarations that have a proxy type (and may carry an annotation):
 * variables, parameters, fields, functions and typedefs. */
bool ps_decl_kind_is_typed(enum CXCursorKind k);
/* The canonical type of t, seen through _Atomic (an atomic handle is a
 * handle). */
CXType ps_canonical_value_type(CXType t);
/* Type kinds, by t's own kind (pass a canonical type to see through
 * typedefs). */
bool ps_type_is_array(CXType t);
bool ps_type_is_function(CXType t);

/* Children of a cursor (immediate): fills up to max, returns how many exist. */
unsigned ps_children(CXCursor c, CXCursor *out, unsigned max);
/* Strips parentheses and implicit conversions (UnexposedExpr with one child). */
CXCursor ps_strip_implicit(CXCursor expr);
CXCursor ps_strip_parens(CXCursor expr);
/* The branch a _Generic selection takes: the one association whose type
 * is the selection's; a null cursor when that does not single one out. */
CXCursor ps_generic_selected(CXCursor selection);
/* The value of a GNU statement expression ({ ...; v; }): its last
 * statement when that is an expression, else a null cursor. */
CXCursor ps_stmt_expr_value(CXCursor stmt_expr);

#endif /* PS_CHECK_PROXYTYPE_H */
