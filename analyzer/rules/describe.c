/*
 * describe.c — what every rule uses to word its findings: cursor and value
 * names, the description of a proxy value, and the notes that point at the
 * declaration or descriptor behind a type (declared in checker.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "checker.h"

#define SPELL 256

void ps_fmt(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, n, fmt, ap);
    va_end(ap);
}

void ps_cursor_name(CXCursor c, char *buf, size_t n)
{
    CXString s = clang_getCursorSpelling(c);
    const char *str = clang_getCString(s);
    ps_fmt(buf, n, "%s", str ? str : "");
    clang_disposeString(s);
}

void ps_value_name(CXCursor expr, char *buf, size_t n)
{
    buf[0] = '\0';
    expr = ps_strip_implicit(expr);
    char name[SPELL];
    switch (clang_getCursorKind(expr)) {
    case CXCursor_DeclRefExpr:
    case CXCursor_MemberRefExpr:
        ps_cursor_name(expr, name, sizeof name);
        if (name[0])
            ps_fmt(buf, n, "'%s'", name);
        break;
    case CXCursor_CallExpr: {
        CXCursor callee = ps_callee_decl(expr);
        if (clang_Cursor_isNull(callee))
            break;
        ps_cursor_name(callee, name, sizeof name);
        if (name[0])
            ps_fmt(buf, n, "'%s()'", name);
        break;
    }
    case CXCursor_ArraySubscriptExpr: {
        CXCursor kids[2];
        if (ps_children(expr, kids, 2) == 2) {
            char base[SPELL];
            ps_value_name(kids[0], base, sizeof base);
            size_t len = strlen(base);
            if (len > 2)
                ps_fmt(buf, n, "%.*s[...]'", (int)(len - 1), base);
        }
        break;
    }
    case CXCursor_UnaryOperator:
        if (clang_getCursorUnaryOperatorKind(expr) == CXUnaryOperator_Deref) {
            CXCursor k;
            char inner[SPELL];
            if (ps_children(expr, &k, 1) == 1) {
                ps_value_name(k, inner, sizeof inner);
                size_t len = strlen(inner);
                if (len > 2)
                    ps_fmt(buf, n, "'*%s", inner + 1);
            }
        }
        break;
    default:
        break;
    }
}

bool ps_extent_is_plain(CXCursor expr)
{
    CXSourceRange r = clang_getCursorExtent(expr);
    CXSourceLocation ends[2] = {clang_getRangeStart(r), clang_getRangeEnd(r)};
    for (int i = 0; i < 2; i++) {
        CXFile ef = NULL, sf = NULL;
        unsigned eo = 0, so = 0;
        clang_getExpansionLocation(ends[i], &ef, NULL, NULL, &eo);
        clang_getSpellingLocation(ends[i], &sf, NULL, NULL, &so);
        if (!ef || !sf || !clang_File_isEqual(ef, sf) || eo != so)
            return false;
    }
    return true;
}

/* The proxy type a declaration was given, at the declaration's own level:
 * "PROXY(struct matrix)" for p and for arr[3] alike. */
static const char *spell_base(const ps_ptype *pt, char *buf, size_t n)
{
    ps_ptype base = *pt;
    base.depth = 0;
    return ps_ptype_spelling(&base, buf, n);
}

void ps_note_origin(ps_checker *ck, ps_diag *diag, const ps_ptype *pt)
{
    if (!diag || clang_Cursor_isNull(pt->origin))
        return;
    char name[SPELL], what[SPELL];
    ps_cursor_name(pt->origin, name, sizeof name);
    if (!name[0])
        return;
    enum CXCursorKind k = clang_getCursorKind(pt->origin);
    ps_ptype decl_pt = ps_ptype_of_decl(ck->pt, pt->origin);
    if (decl_pt.kind == PS_PROXY_NONE)
        return;
    spell_base(&decl_pt, what, sizeof what);
    CXType t = clang_getCanonicalType(clang_getCursorType(pt->origin));
    if (t.kind == CXType_Pointer)
        t = clang_getCanonicalType(clang_getPointeeType(t));
    bool returns = ps_type_is_function(t);
    if (k == CXCursor_TypedefDecl && !returns)
        ps_diag_note(ck->sink, diag, pt->origin, "'%s' defined as %s here", name, what);
    else if (returns)
        ps_diag_note(ck->sink, diag, pt->origin, "'%s' declared to return %s here", name, what);
    else if (decl_pt.depth > 0)
        ps_diag_note(ck->sink, diag, pt->origin, "'%s' declared with %s here", name, what);
    else
        ps_diag_note(ck->sink, diag, pt->origin, "'%s' declared as %s here", name, what);
}

void ps_note_descriptor(ps_checker *ck, ps_diag *diag, const ps_descriptor *d)
{
    /* The library's built-in descriptors need no pointer into its header. */
    if (!diag || clang_Cursor_isNull(d->decl) || d->builtin_kind != CXType_Invalid)
        return;
    char name[SPELL];
    ps_cursor_name(d->decl, name, sizeof name);
    CXCursor def = clang_getCursorDefinition(d->decl);
    ps_diag_note(ck->sink, diag, clang_Cursor_isNull(def) ? d->decl : def,
                 "descriptor '%s' describes '%s' here", name, d->name);
}

void ps_describe_value(CXCursor expr, const ps_ptype *pt, char *buf, size_t n)
{
    char name[SPELL], what[SPELL];
    ps_value_name(expr, name, sizeof name);
    ps_ptype_spelling(pt, what, sizeof what);
    if (pt->kind == PS_PROXY_OR)
        ps_fmt(buf, n, "%s%s%s", what, name[0] ? " " : "", name);
    else if (name[0])
        ps_fmt(buf, n, "proxy %s (%s)", name, what);
    else
        ps_fmt(buf, n, "proxy (%s)", what);
}

const char *ps_qualifier_tail(ps_compat c)
{
    return c == PS_COMPAT_DROPS_QUALIFIERS ? ", which discards qualifiers" : "";
}
