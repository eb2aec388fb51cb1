/*
 * type_resolve.c — ps-resolve-mismatch: the target of a PROXY(T) resolved
 * as a U * (ps_resolve(p) stored in a U *, PS_RESOLVE(U, p),
 * PS_RESOLVE_OR(U, x)).
 *
 * A proxy of an array, PROXY(E[N]) or PROXY(E[]), may be resolved as its
 * element type E (the runtime hands out the first element) or as the array.
 */
#include <stdio.h>

#include "checker.h"

/* Is a U * a view of a target T?  Same rules as proxies: U may add
 * qualifiers, not drop them. */
static ps_compat resolve_compat(CXType target, CXType object)
{
    ps_compat c = ps_target_compat(target, object);
    CXType tc = clang_getCanonicalType(target);
    if (c == PS_COMPAT_MISMATCH && ps_type_is_array(tc))
        c = ps_target_compat(clang_getArrayElementType(tc), object);
    return c;
}

void ps_check_resolve_into(ps_checker *ck, CXCursor call, ps_fn_role role, CXType object,
                           CXCursor at)
{
    if (clang_Cursor_getNumArguments(call) < 1 || object.kind == CXType_Invalid)
        return;
    CXCursor arg = ps_strip_implicit(clang_Cursor_getArgument(call, 0));
    ps_ptype sp = ps_ptype_of_expr(ck->pt, arg);
    CXType target;
    char what[512], name[256], tspell[256], ospell[256];
    if ((ps_ptype_is_typed_proxy(&sp) || sp.kind == PS_PROXY_OR) && sp.depth == 0) {
        if (sp.bad_target)
            return;
        target = sp.target;
        ps_describe_value(arg, &sp, what, sizeof what);
    } else if (role == PS_FN_RESOLVE_OR && sp.kind == PS_PROXY_NONE) {
        /* PS_RESOLVE_OR(U, x) with a plain T *x: the same question. */
        CXType at_type = clang_getCanonicalType(clang_getCursorType(arg));
        if (at_type.kind != CXType_Pointer)
            return;
        target = clang_getPointeeType(clang_getCursorType(arg));
        if (clang_getCanonicalType(target).kind == CXType_Void ||
            clang_getCanonicalType(target).kind == CXType_Invalid)
            return;
        ps_value_name(arg, name, sizeof name);
        ps_type_spelling(clang_getCursorType(arg), tspell, sizeof tspell);
        ps_fmt(what, sizeof what, "%s%s('%s')", name, name[0] ? " " : "", tspell);
    } else {
        return; /* an untyped proxy, or nothing we can see */
    }
    ps_compat c = resolve_compat(target, object);
    if (c == PS_COMPAT_OK)
        return;
    ps_type_spelling(object, ospell, sizeof ospell);
    ps_diag *diag = ps_diag_report(ck->sink, PS_RULE_RESOLVE_MISMATCH, at, "%s resolved as '%s'%s",
                                   what, ospell, ps_qualifier_tail(c));
    if (sp.kind != PS_PROXY_NONE)
        ps_note_origin(ck, diag, &sp);
}
