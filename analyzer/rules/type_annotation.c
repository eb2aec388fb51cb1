/*
 * type_annotation.c — ps-annotation (malformed annotations) and
 * ps-untyped-proxy (a ps_proxy_t * nobody annotated; --strict only).
 */
#include <stdio.h>
#include <string.h>

#include "checker.h"

/* Byte offsets of the expansion sites, to tell an attribute written on this
 * declaration from one it inherited from an earlier declaration. */
static bool attr_is_own(CXCursor attr, CXCursor decl)
{
    CXFile af = NULL, bf = NULL, ef = NULL;
    unsigned ao = 0, bo = 0, eo = 0;
    CXSourceRange r = clang_getCursorExtent(decl);
    clang_getExpansionLocation(clang_getCursorLocation(attr), &af, NULL, NULL, &ao);
    clang_getExpansionLocation(clang_getRangeStart(r), &bf, NULL, NULL, &bo);
    clang_getExpansionLocation(clang_getRangeEnd(r), &ef, NULL, NULL, &eo);
    if (!af || !bf || !clang_File_isEqual(af, bf))
        return false;
    return ao >= bo && ao <= eo;
}

/* The named type an annotation's `(__typeof__(T) *)0` refers to, when T is
 * a typedef: libclang shows typeof(T) only as its canonical type, but the
 * cast keeps a reference to the name. */
static enum CXChildVisitResult find_type_ref(CXCursor c, CXCursor parent, CXClientData data)
{
    (void)parent;
    if (clang_getCursorKind(c) == CXCursor_TypeRef) {
        *(CXCursor *)data = clang_getCursorReferenced(c);
        return CXChildVisit_Break;
    }
    return CXChildVisit_Recurse;
}

static CXType named_target(CXCursor attr, CXType target)
{
    CXCursor decl = clang_getNullCursor();
    clang_visitChildren(attr, find_type_ref, &decl);
    if (clang_getCursorKind(decl) != CXCursor_TypedefDecl)
        return target;
    CXType named = clang_getCursorType(decl);
    if (!clang_equalTypes(clang_getCanonicalType(named), clang_getCanonicalType(target)))
        return target;
    return named;
}

void ps_check_annotation(ps_checker *ck, CXCursor attr, CXCursor decl)
{
    ps_proxy_kind kind;
    CXType target;
    char aname[64];
    if (!ps_annotation_of_attr(attr, &kind, &target, aname, sizeof aname))
        return;
    if (!attr_is_own(attr, decl))
        return; /* reported where it was written */
    if (strcmp(aname, "ps.type") == 0)
        return; /* a descriptor's type: any object type is fine */
    char name[256], tspell[256], written[320];
    ps_cursor_name(decl, name, sizeof name);
    enum CXCursorKind dk = clang_getCursorKind(decl);
    if (kind == PS_PROXY_NONE) {
        ps_diag_report(ck->sink, PS_RULE_ANNOTATION, decl, "unknown proxy annotation '%s' on '%s'",
                       aname, name);
        return;
    }
    /* Every other kind an annotation names has its macro. */
    const char *macro = ps_proxy_kind_macro(kind);
    if (!ps_decl_kind_is_typed(dk)) {
        ps_diag_report(ck->sink, PS_RULE_ANNOTATION, decl,
                       "%s annotation on '%s', which is not a variable, parameter, field, "
                       "function or typedef",
                       macro, name);
        return;
    }
    if (target.kind == CXType_Invalid) {
        ps_diag_report(ck->sink, PS_RULE_ANNOTATION, decl,
                       "malformed '%s' annotation on '%s': it names no target type", aname, name);
        return;
    }
    ps_target_spelling(target, tspell, sizeof tspell);
    ps_fmt(written, sizeof written, "%s(%s)", macro, tspell);
    CXType c = clang_getCanonicalType(target);
    if (c.kind == CXType_Void) {
        ps_diag_report(ck->sink, PS_RULE_ANNOTATION, decl,
                       "%s: a proxy's target must be an object type, not void", written);
        return;
    }
    if (ps_type_is_function(c)) {
        ps_diag_report(ck->sink, PS_RULE_ANNOTATION, decl,
                       "%s: a function cannot be a proxy's target", written);
        return;
    }
    if (c.kind == CXType_Pointer &&
        ps_type_is_function(clang_getCanonicalType(clang_getPointeeType(c)))) {
        ps_diag_report(ck->sink, PS_RULE_ANNOTATION, decl,
                       "%s: a function pointer cannot be a proxy's target (its value means "
                       "nothing in another process)",
                       written);
        return;
    }
    if (ps_target_is_bad(ck->pt, target)) {
        /* What remains of "bad": T is itself a proxy handle. */
        ps_ptype inner = ps_ptype_of_type(ck->pt, named_target(attr, target));
        if (ps_ptype_is_typed_proxy(&inner) && inner.depth == 0 && !inner.bad_target) {
            char inner_t[256];
            ps_target_spelling(inner.target, inner_t, sizeof inner_t);
            ps_diag_report(ck->sink, PS_RULE_ANNOTATION, decl,
                           "%s: the target is itself a proxy; did you mean %s(%s)?", written,
                           macro, inner_t);
        } else {
            ps_diag_report(ck->sink, PS_RULE_ANNOTATION, decl,
                           "%s: the target is itself a proxy handle; a proxy of a proxy is not "
                           "supported",
                           written);
        }
        return;
    }
    /* The annotation must sit on the handle it describes (hand-written
     * attributes can put it anywhere). */
    if (ps_decl_handle_depth(ck->pt, decl, kind == PS_PROXY_OR) < 0) {
        char type[256];
        CXType dt = dk == CXCursor_TypedefDecl ? clang_getTypedefDeclUnderlyingType(decl)
                                               : clang_getCursorType(decl);
        ps_type_spelling(dt, type, sizeof type);
        ps_diag_report(ck->sink, PS_RULE_ANNOTATION, decl,
                       "%s annotation on '%s' of type '%s', which is not %s", written, name, type,
                       kind == PS_PROXY_OR ? "a void pointer" : "a proxy handle (ps_proxy_t *)");
    }
}

/* The library's own headers declare the generic, unannotated API. */
static bool in_library_header(CXCursor decl)
{
    CXFile f = NULL;
    clang_getExpansionLocation(clang_getCursorLocation(decl), &f, NULL, NULL, NULL);
    if (!f)
        return false;
    CXString s = clang_getFileName(f);
    const char *path = clang_getCString(s);
    bool yes = false;
    if (path) {
        size_t len = strlen(path);
        static const char *const headers[] = {"proxystore/proxystore.h", "proxystore/annotations.h"};
        for (size_t i = 0; i < sizeof headers / sizeof headers[0]; i++) {
            size_t h = strlen(headers[i]);
            if (len >= h && strcmp(path + len - h, headers[i]) == 0)
                yes = true;
        }
    }
    clang_disposeString(s);
    return yes;
}

void ps_check_untyped_decl(ps_checker *ck, CXCursor decl)
{
    if (!ck->opts || !ck->opts->strict)
        return;
    ps_ptype pt = ps_ptype_of_decl(ck->pt, decl);
    if (pt.kind != PS_PROXY_UNTYPED || !clang_equalCursors(pt.origin, decl))
        return;
    if (in_library_header(decl))
        return;
    char name[256];
    ps_cursor_name(decl, name, sizeof name);
    if (!name[0])
        return;
    enum CXCursorKind k = clang_getCursorKind(decl);
    if (k == CXCursor_FunctionDecl)
        ps_diag_report(ck->sink, PS_RULE_UNTYPED_PROXY, decl,
                       "'%s' returns an unannotated proxy (ps_proxy_t *); declare its return "
                       "type with PROXY(T) so its target is checked",
                       name);
    else if (k == CXCursor_TypedefDecl)
        ps_diag_report(ck->sink, PS_RULE_UNTYPED_PROXY, decl,
                       "'%s' is an unannotated proxy type (ps_proxy_t *); define it with "
                       "PROXY(T) so its target is checked",
                       name);
    else
        ps_diag_report(ck->sink, PS_RULE_UNTYPED_PROXY, decl,
                       "'%s' is an unannotated proxy (ps_proxy_t *); declare it with PROXY(T) "
                       "so its target is checked",
                       name);
}
