/*
 * type_flow.c — the type rule for a value flowing into a place: ps-target-mismatch,
 * ps-or-mismatch, ps-unresolved-proxy, ps-unresolved-or, and a created
 * proxy landing in a proxy of another type (ps-create-mismatch).
 *
 * One function decides every flow, whatever the site (initialization,
 * assignment, argument, return, cast), so the rules agree on what is a
 * proxy and the messages share one grammar:
 *   mismatches:  "<dest> initialized with <src>", "<dest> assigned <src>",
 *                "<src> passed to parameter 'q' of type <dest>",
 *                "<src> returned from 'f', which returns <dest>",
 *                "<src> cast to <dest>"
 *   unresolved:  "proxy 'p' (PROXY(T)) <context> without resolving it"
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checker.h"

#define MSG 512
#define SPELL 256

/* "parameter 'q' of 'take'" style pieces for the messages. */
static bool param_has_name(const ps_dest *d, char *name, size_t n)
{
    name[0] = '\0';
    if (clang_Cursor_isNull(d->decl))
        return false;
    ps_cursor_name(d->decl, name, n);
    /* The C library's reserved parameter names (__dest) say nothing. */
    return name[0] && !(name[0] == '_' && name[1] == '_');
}

/* The mismatch grammar: S is the source's spelling, D the destination's. */
static void mismatch_message(const ps_checker *ck, const ps_dest *d, const char *S, const char *D,
                             const char *tail, char *buf, size_t n)
{
    char name[SPELL], fn[SPELL];
    switch (d->site) {
    case PS_SITE_INIT:
        ps_fmt(buf, n, "%s initialized with %s%s", D, S, tail);
        break;
    case PS_SITE_ASSIGN:
        ps_fmt(buf, n, "%s assigned %s%s", D, S, tail);
        break;
    case PS_SITE_ARG:
        if (param_has_name(d, name, sizeof name)) {
            ps_fmt(buf, n, "%s passed to parameter '%s' of type %s%s", S, name, D, tail);
        } else {
            ps_cursor_name(d->callee, fn, sizeof fn);
            ps_fmt(buf, n, "%s passed as argument %u of '%s', of type %s%s", S, d->argno, fn, D,
                     tail);
        }
        break;
    case PS_SITE_RETURN:
        ps_cursor_name(ck->function, fn, sizeof fn);
        ps_fmt(buf, n, "%s returned from '%s', which returns %s%s", S, fn, D, tail);
        break;
    case PS_SITE_CAST:
        ps_fmt(buf, n, "%s cast to %s%s", S, D, tail);
        break;
    }
}

/* The unresolved grammar's middle: where the value went, and as what. */
static void use_context(const ps_checker *ck, const ps_dest *d, char *buf, size_t n)
{
    char name[SPELL], fn[SPELL], type[SPELL];
    ps_type_spelling(d->type, type, sizeof type);
    switch (d->site) {
    case PS_SITE_INIT:
        if (param_has_name(d, name, sizeof name))
            ps_fmt(buf, n, "used to initialize '%s' of type '%s'", name, type);
        else
            ps_fmt(buf, n, "used to initialize an object of type '%s'", type);
        break;
    case PS_SITE_ASSIGN:
        if (param_has_name(d, name, sizeof name))
            ps_fmt(buf, n, "assigned to '%s' of type '%s'", name, type);
        else
            ps_fmt(buf, n, "assigned to an object of type '%s'", type);
        break;
    case PS_SITE_ARG:
        if (param_has_name(d, name, sizeof name)) {
            ps_fmt(buf, n, "passed to parameter '%s' of type '%s'", name, type);
        } else {
            ps_cursor_name(d->callee, fn, sizeof fn);
            ps_fmt(buf, n, "passed as argument %u of '%s' (type '%s')", d->argno, fn, type);
        }
        break;
    case PS_SITE_RETURN:
        ps_cursor_name(ck->function, fn, sizeof fn);
        ps_fmt(buf, n, "returned as '%s' from '%s'", type, fn);
        break;
    case PS_SITE_CAST:
        ps_fmt(buf, n, "cast to '%s'", type);
        break;
    }
}


/* The source text of an expression written in the file (not by a macro). */
static bool source_text(CXCursor expr, char *buf, size_t n)
{
    if (!ps_extent_is_plain(expr))
        return false;
    CXSourceRange r = clang_getCursorExtent(expr);
    CXFile f = NULL, f2 = NULL;
    unsigned b = 0, e = 0;
    clang_getSpellingLocation(clang_getRangeStart(r), &f, NULL, NULL, &b);
    clang_getSpellingLocation(clang_getRangeEnd(r), &f2, NULL, NULL, &e);
    if (!f || !f2 || !clang_File_isEqual(f, f2) || e <= b || (size_t)(e - b) >= n)
        return false;
    size_t size = 0;
    const char *text = clang_getFileContents(clang_Cursor_getTranslationUnit(expr), f, &size);
    if (!text || e > size)
        return false;
    memcpy(buf, text + b, e - b);
    buf[e - b] = '\0';
    return true;
}

/* Replaces `whole` (the operand itself, or a cast around it) with
 * PS_RESOLVE(T, operand) or PS_RESOLVE_OR(T, operand). */
static void fixit_wrap(ps_checker *ck, ps_diag *diag, CXCursor whole, CXCursor operand,
                       const ps_ptype *pt)
{
    if (!diag || pt->bad_target || (!ps_ptype_is_typed_proxy(pt) && pt->kind != PS_PROXY_OR))
        return;
    char target[SPELL], text[SPELL], fix[3 * SPELL];
    if (!ps_extent_is_plain(whole) || !source_text(operand, text, sizeof text))
        return;
    ps_target_spelling(pt->target, target, sizeof target);
    ps_fmt(fix, sizeof fix, "%s(%s, %s)", pt->kind == PS_PROXY_OR ? "PS_RESOLVE_OR" : "PS_RESOLVE",
           target, text);
    ps_diag_fixit(ck->sink, diag, clang_getCursorExtent(whole), fix);
}

/* ------------------------------------------------------------ the rules */

static CXType pointee_object(CXType t)
{
    CXType c = clang_getCanonicalType(t);
    if (c.kind == CXType_Pointer)
        return clang_getPointeeType(t.kind == CXType_Pointer ? t : c);
    if (ps_type_is_array(c))
        return clang_getArrayElementType(c);
    CXType invalid = {CXType_Invalid, {NULL, NULL}};
    return invalid;
}

static bool is_void(CXType t)
{
    return clang_getCanonicalType(t).kind == CXType_Void;
}

/* Would the C compiler itself accept this as a null pointer constant? Then
 * there is nothing to check. */
static bool is_null_constant(CXCursor src)
{
    CXCursor s = ps_strip_implicit(src);
    enum CXCursorKind k = clang_getCursorKind(s);
    if (k == CXCursor_IntegerLiteral)
        return true;
    if (k == CXCursor_CStyleCastExpr) {
        CXType t = clang_getCanonicalType(clang_getCursorType(s));
        if (t.kind == CXType_Pointer && is_void(clang_getPointeeType(t))) {
            CXCursor kids[2];
            unsigned nk = ps_children(s, kids, 2);
            return nk >= 1 && clang_getCursorKind(ps_strip_implicit(kids[nk - 1])) ==
                                  CXCursor_IntegerLiteral;
        }
    }
    return false;
}


/* A proxy with a target meets a proxy destination (typed or PROXY_OR). */
static void check_targets(ps_checker *ck, const ps_dest *d, CXCursor src, const ps_ptype *sp,
                          ps_rule rule)
{
    if (sp->bad_target || d->pt.bad_target)
        return;
    ps_compat c = ps_target_compat(sp->target, d->pt.target);
    if (c == PS_COMPAT_OK)
        return;
    char S[SPELL], D[SPELL], msg[MSG];
    mismatch_message(ck, d, ps_ptype_spelling(sp, S, sizeof S),
                     ps_ptype_spelling(&d->pt, D, sizeof D), ps_qualifier_tail(c), msg, sizeof msg);
    ps_diag *diag = ps_diag_report(ck->sink, rule, src, "%s", msg);
    ps_note_origin(ck, diag, sp);
    if (!clang_equalCursors(sp->origin, d->pt.origin))
        ps_note_origin(ck, diag, &d->pt);
}

/* A proxy just made by ps_proxy & co. meets a typed destination. */
static void check_created(ps_checker *ck, const ps_dest *d, CXCursor src, const ps_ptype *sp)
{
    if (d->pt.bad_target || clang_Cursor_isNull(sp->descriptor))
        return;
    ps_descriptor desc = ps_descriptor_of_expr(ck->pt, sp->descriptor);
    if (!desc.known || ps_descriptor_matches(ck->pt, &desc, d->pt.target))
        return;
    char S[SPELL + 160], D[SPELL], dname[SPELL], msg[MSG];
    ps_cursor_name(desc.decl, dname, sizeof dname);
    ps_fmt(S, sizeof S, "a proxy of '%s' (descriptor '%s')", desc.name, dname);
    mismatch_message(ck, d, S, ps_ptype_spelling(&d->pt, D, sizeof D), "", msg, sizeof msg);
    ps_diag *diag = ps_diag_report(ck->sink, PS_RULE_CREATE_MISMATCH, src, "%s", msg);
    ps_note_descriptor(ck, diag, &desc);
    ps_note_origin(ck, diag, &d->pt);
}

/* A plain pointer (not a proxy) meets a PROXY_OR(T). */
static void check_or_plain(ps_checker *ck, const ps_dest *d, CXCursor src, CXCursor stripped)
{
    if (d->pt.bad_target || is_null_constant(src))
        return;
    CXType st = clang_getCursorType(stripped);
    CXType obj = pointee_object(st);
    if (obj.kind == CXType_Invalid || is_void(obj))
        return; /* not a pointer, or a void * nobody can see into */
    ps_compat c = ps_object_compat(obj, d->pt.target);
    if (c == PS_COMPAT_OK)
        return;
    char S[SPELL], T[SPELL], D[SPELL], msg[MSG];
    ps_fmt(S, sizeof S, "'%s'", ps_type_spelling(st, T, sizeof T));
    mismatch_message(ck, d, S, ps_ptype_spelling(&d->pt, D, sizeof D), ps_qualifier_tail(c), msg,
                     sizeof msg);
    ps_diag *diag = ps_diag_report(ck->sink, PS_RULE_OR_MISMATCH, src, "%s", msg);
    ps_note_origin(ck, diag, &d->pt);
}

/* Runtime parameters that take any pointer, proxy or not, on purpose. */
static bool dest_takes_anything(const ps_dest *d)
{
    return d->site == PS_SITE_ARG && d->argno == 1 &&
           (d->role == PS_FN_RESOLVE_OR || d->role == PS_FN_IS_PROXY);
}

/* A proxy handle used as a plain pointer. */
static void report_unresolved(ps_checker *ck, const ps_dest *d, CXCursor src, const ps_ptype *sp,
                              CXCursor whole)
{
    char what[MSG], ctx[MSG];
    ps_describe_value(src, sp, what, sizeof what);
    if (d->site == PS_SITE_ARG && d->role == PS_FN_FREE) {
        ps_diag *diag = ps_diag_report(ck->sink, PS_RULE_UNRESOLVED_PROXY, src,
                                       "%s passed to 'free'; release a proxy with ps_proxy_free",
                                       what);
        ps_note_origin(ck, diag, sp);
        CXCursor callee_expr;
        if (diag && ps_children(d->call, &callee_expr, 1) >= 1) {
            callee_expr = ps_strip_implicit(callee_expr);
            if (ps_extent_is_plain(callee_expr))
                ps_diag_fixit(ck->sink, diag, clang_getCursorExtent(callee_expr), "ps_proxy_free");
        }
        return;
    }
    use_context(ck, d, ctx, sizeof ctx);
    ps_diag *diag = ps_diag_report(ck->sink, PS_RULE_UNRESOLVED_PROXY, src,
                                   "%s %s without resolving it", what, ctx);
    ps_note_origin(ck, diag, sp);
    /* The fix is obvious only when the destination wants the target. */
    CXType obj = pointee_object(d->type);
    if (ps_ptype_is_typed_proxy(sp) && obj.kind != CXType_Invalid &&
        (is_void(obj) || ps_object_compat(sp->target, obj) == PS_COMPAT_OK))
        fixit_wrap(ck, diag, whole, src, sp);
}

static void report_unresolved_or(ps_checker *ck, const ps_dest *d, CXCursor src, const ps_ptype *sp,
                                 CXCursor whole)
{
    char what[MSG], ctx[MSG];
    ps_describe_value(src, sp, what, sizeof what);
    use_context(ck, d, ctx, sizeof ctx);
    ps_diag *diag = ps_diag_report(ck->sink, PS_RULE_UNRESOLVED_OR, src,
                                   "%s %s without PS_RESOLVE_OR", what, ctx);
    ps_note_origin(ck, diag, sp);
    CXType obj = pointee_object(d->type);
    if (obj.kind != CXType_Invalid && !sp->bad_target &&
        (is_void(obj) || ps_object_compat(sp->target, obj) == PS_COMPAT_OK))
        fixit_wrap(ck, diag, whole, src, sp);
}

/* Whether a proxy (or PROXY_OR) value used as a plain pointer is worth a
 * finding: at the handle's own level, and not in the library's own code,
 * which handles its own objects. */
static bool unresolved_use_matters(ps_checker *ck, const ps_ptype *sp)
{
    if (sp->kind == PS_PROXY_NONE || sp->depth != 0)
        return false;
    return !(sp->kind == PS_PROXY_UNTYPED && ps_proxy_struct_is_complete(ck->pt));
}

/* A proxy or PROXY_OR value src going into d, a plain pointer; whole is
 * what a fix-it rewrites (src itself, or a cast around it). */
static void check_unresolved_use(ps_checker *ck, const ps_dest *d, CXCursor src,
                                 const ps_ptype *sp, CXCursor whole)
{
    if (!unresolved_use_matters(ck, sp))
        return;
    if (ps_ptype_is_handle(sp))
        report_unresolved(ck, d, src, sp, whole);
    else if (sp->kind == PS_PROXY_OR)
        report_unresolved_or(ck, d, src, sp, whole);
}

static void flow_init_list(ps_checker *ck, const ps_dest *dest, CXCursor list);

void ps_check_flow(ps_checker *ck, const ps_dest *dest, CXCursor src)
{
    CXCursor s = ps_strip_implicit(src);
    switch (clang_getCursorKind(s)) {
    case CXCursor_ConditionalOperator: {
        /* Each arm flows into the destination on its own. */
        CXCursor kids[3];
        unsigned n = ps_children(s, kids, 3);
        for (unsigned i = n == 3 ? 1 : 0; i < n && i < 3; i++)
            ps_check_flow(ck, dest, kids[i]);
        return;
    }
    case CXCursor_InitListExpr:
        flow_init_list(ck, dest, s);
        return;
    case CXCursor_GenericSelectionExpr: {
        CXCursor selected = ps_generic_selected(s);
        if (!clang_Cursor_isNull(selected))
            ps_check_flow(ck, dest, selected);
        return;
    }
    case CXCursor_StmtExpr: {
        CXCursor value = ps_stmt_expr_value(s);
        if (!clang_Cursor_isNull(value))
            ps_check_flow(ck, dest, value);
        return;
    }
    case CXCursor_BinaryOperator:
        if (clang_getCursorBinaryOperatorKind(s) == CXBinaryOperator_Comma) {
            CXCursor kids[2];
            if (ps_children(s, kids, 2) == 2)
                ps_check_flow(ck, dest, kids[1]);
            return;
        }
        break;
    default:
        break;
    }
    CXType dc = ps_canonical_value_type(dest->type);
    /* A parameter declared as an array (`PROXY(T) r[4]`, `r[][2]`) is a
     * pointer to its element, as C adjusts it. */
    bool array_param = dest->site == PS_SITE_ARG && ps_type_is_array(dc);
    if (dc.kind != CXType_Pointer && !array_param)
        return;

    /* A resolved target going into a U *: is U the proxy's T? */
    if (clang_getCursorKind(s) == CXCursor_CallExpr && dest->pt.kind == PS_PROXY_NONE) {
        ps_fn_role role = ps_callee_role(ck->pt, s);
        if (ps_fn_role_resolves(role)) {
            CXType obj = array_param ? clang_getArrayElementType(dc) : clang_getPointeeType(dc);
            if (!is_void(obj))
                ps_check_resolve_into(ck, s, role,
                                      array_param ? obj : clang_getPointeeType(dest->type), s);
            return;
        }
    }

    ps_ptype sp = ps_ptype_of_expr(ck->pt, s);
    switch (dest->pt.kind) {
    case PS_PROXY_TYPED:
    case PS_PROXY_OWNED:
    case PS_PROXY_REF:
    case PS_PROXY_REF_MUT:
        if (sp.depth != dest->pt.depth)
            return; /* a pointer-level mismatch is the C compiler's to report */
        if (ps_ptype_is_typed_proxy(&sp) || sp.kind == PS_PROXY_OR)
            check_targets(ck, dest, s, &sp, PS_RULE_TARGET_MISMATCH);
        else if (sp.created && dest->pt.depth == 0)
            check_created(ck, dest, s, &sp);
        return;
    case PS_PROXY_OR:
        if (dest->pt.depth > 0) {
            if (sp.kind != PS_PROXY_NONE && sp.depth == dest->pt.depth &&
                (ps_ptype_is_typed_proxy(&sp) || sp.kind == PS_PROXY_OR))
                check_targets(ck, dest, s, &sp, PS_RULE_OR_MISMATCH);
            return;
        }
        if (sp.kind == PS_PROXY_NONE) {
            check_or_plain(ck, dest, src, s);
        } else if (sp.created) {
            if (sp.depth == 0)
                check_created(ck, dest, s, &sp);
        } else if (sp.kind == PS_PROXY_UNTYPED) {
            return; /* a proxy of unknown target: accepted */
        } else if (sp.depth == 0) {
            check_targets(ck, dest, s, &sp, PS_RULE_OR_MISMATCH);
        } else {
            /* A PROXY(T) * is neither a T * nor a PROXY(T). */
            char S[SPELL], D[SPELL], msg[MSG];
            mismatch_message(ck, dest, ps_ptype_spelling(&sp, S, sizeof S),
                             ps_ptype_spelling(&dest->pt, D, sizeof D), "", msg, sizeof msg);
            ps_diag *diag = ps_diag_report(ck->sink, PS_RULE_OR_MISMATCH, s, "%s", msg);
            ps_note_origin(ck, diag, &sp);
        }
        return;
    case PS_PROXY_UNTYPED:
        return; /* the runtime's own ps_proxy_t * parameters take any proxy */
    case PS_PROXY_NONE:
        if (!dest_takes_anything(dest))
            check_unresolved_use(ck, dest, s, &sp, s);
        return;
    }
}

/* ------------------------------------------------------------ initializer lists */

/* The destination one level down: an element of an array destination. */
static ps_dest element_dest(const ps_dest *d)
{
    ps_dest e = *d;
    e.site = PS_SITE_INIT;
    CXType c = clang_getCanonicalType(d->type);
    e.type = clang_getArrayElementType(c);
    if (e.pt.kind != PS_PROXY_NONE && e.pt.depth > 0)
        e.pt.depth--;
    else
        e.pt.kind = PS_PROXY_NONE;
    return e;
}

static ps_dest field_dest(ps_checker *ck, const ps_dest *parent, CXCursor field)
{
    ps_dest f = *parent;
    f.site = PS_SITE_INIT;
    f.type = clang_getCursorType(field);
    f.pt = ps_ptype_of_decl(ck->pt, field);
    f.decl = field;
    return f;
}

typedef struct field_list {
    CXCursor v[64];
    unsigned n;
} field_list;

static enum CXVisitorResult collect_field(CXCursor c, CXClientData data)
{
    field_list *l = data;
    if (l->n < sizeof l->v / sizeof l->v[0])
        l->v[l->n++] = c;
    return CXVisit_Continue;
}

/* A designated initializer (`.m = v`, `[2] = v`, `.a.b[1] = v`): libclang
 * shows it as an UnexposedExpr of type void whose last child is the value
 * and whose other children are the designators. */
static bool is_designated(CXCursor c, CXCursor *kids, unsigned max, unsigned *n)
{
    if (clang_getCursorKind(c) != CXCursor_UnexposedExpr ||
        clang_getCursorType(c).kind != CXType_Void)
        return false;
    *n = ps_children(c, kids, max);
    if (*n < 2 || *n > max)
        return false;
    enum CXCursorKind k0 = clang_getCursorKind(kids[0]);
    return k0 == CXCursor_MemberRef || clang_isExpression(k0);
}

static unsigned field_index(const field_list *fields, CXCursor field)
{
    for (unsigned i = 0; i < fields->n; i++)
        if (clang_equalCursors(fields->v[i], field))
            return i;
    return fields->n;
}

/* Consumes the initializers for dest from kids[*at...], with brace elision:
 * an aggregate met by a value that is not its own braced list takes as
 * many values as it has members. */
static void consume(ps_checker *ck, const ps_dest *dest, const CXCursor *kids, unsigned n,
                    unsigned *at, int budget)
{
    if (*at >= n)
        return;
    CXCursor k = kids[*at];
    CXType dc = clang_getCanonicalType(dest->type);
    bool aggregate = ps_type_is_array(dc) || dc.kind == CXType_Record;
    CXCursor s = ps_strip_implicit(k);
    if (!aggregate || budget <= 0 || clang_getCursorKind(s) == CXCursor_InitListExpr ||
        clang_equalTypes(clang_getUnqualifiedType(clang_getCanonicalType(clang_getCursorType(s))),
                         clang_getUnqualifiedType(dc)) ||
        clang_getCursorKind(s) == CXCursor_StringLiteral) {
        ps_check_flow(ck, dest, k);
        (*at)++;
        return;
    }
    if (ps_type_is_array(dc)) {
        ps_dest e = element_dest(dest);
        long long count = dc.kind == CXType_ConstantArray ? clang_getArraySize(dc) : (long long)n;
        for (long long i = 0; i < count && *at < n; i++)
            consume(ck, &e, kids, n, at, budget - 1);
        return;
    }
    field_list fields = {.n = 0};
    clang_Type_visitFields(dc, collect_field, &fields);
    for (unsigned i = 0; i < fields.n && *at < n; i++) {
        ps_dest f = field_dest(ck, dest, fields.v[i]);
        consume(ck, &f, kids, n, at, budget - 1);
    }
    if (fields.n == 0)
        (*at)++;
}

/* The destination named by a designator chain, from the list's own type. */
static bool designated_dest(ps_checker *ck, const ps_dest *list_dest, const CXCursor *kids,
                            unsigned ndesig, ps_dest *out)
{
    ps_dest cur = *list_dest;
    for (unsigned i = 0; i < ndesig; i++) {
        CXType c = clang_getCanonicalType(cur.type);
        if (clang_getCursorKind(kids[i]) == CXCursor_MemberRef) {
            CXCursor field = clang_getCursorReferenced(kids[i]);
            if (clang_getCursorKind(field) != CXCursor_FieldDecl || c.kind != CXType_Record)
                return false;
            cur = field_dest(ck, &cur, field);
        } else if (ps_type_is_array(c)) {
            cur = element_dest(&cur);
        } else {
            return false;
        }
    }
    *out = cur;
    return true;
}

/* When kid is a designated initializer (`.m = v`, `[2] = v`), checks its
 * value against the place it names and returns true; *field is then the
 * field the designator starts with (null for an index). */
static bool flow_designated(ps_checker *ck, const ps_dest *dest, CXCursor kid, CXCursor *field)
{
    CXCursor dk[8];
    unsigned nd;
    *field = clang_getNullCursor();
    if (!is_designated(kid, dk, 8, &nd))
        return false;
    ps_dest target;
    if (designated_dest(ck, dest, dk, nd - 1, &target)) {
        ps_check_flow(ck, &target, dk[nd - 1]);
        if (clang_getCursorKind(dk[0]) == CXCursor_MemberRef)
            *field = clang_getCursorReferenced(dk[0]);
    }
    return true;
}

static void flow_init_list(ps_checker *ck, const ps_dest *dest, CXCursor list)
{
    CXType dc = clang_getCanonicalType(dest->type);
    CXCursor small[16];
    unsigned n = ps_children(list, small, 16);
    CXCursor *kids = small;
    CXCursor *heap = NULL;
    if (n > 16) {
        heap = malloc(n * sizeof *heap);
        if (!heap)
            return;
        ps_children(list, heap, n);
        kids = heap;
    }
    if (dc.kind == CXType_Pointer) {
        /* A scalar in braces: PROXY(T) p = { q }; */
        if (n >= 1)
            ps_check_flow(ck, dest, kids[0]);
    } else if (ps_type_is_array(dc)) {
        ps_dest e = element_dest(dest);
        unsigned at = 0;
        while (at < n) {
            CXCursor field;
            if (flow_designated(ck, dest, kids[at], &field))
                at++;
            else
                consume(ck, &e, kids, n, &at, 8);
        }
    } else if (dc.kind == CXType_Record) {
        field_list fields = {.n = 0};
        clang_Type_visitFields(dc, collect_field, &fields);
        unsigned fi = 0, at = 0;
        while (at < n) {
            CXCursor field;
            if (flow_designated(ck, dest, kids[at], &field)) {
                /* Positional values continue after the named field. */
                if (!clang_Cursor_isNull(field))
                    fi = field_index(&fields, field) + 1;
                at++;
                continue;
            }
            if (fi >= fields.n)
                break;
            ps_dest f = field_dest(ck, dest, fields.v[fi++]);
            consume(ck, &f, kids, n, &at, 8);
        }
    }
    free(heap);
}

/* ------------------------------------------------------------ casts, derefs */

void ps_check_cast(ps_checker *ck, CXCursor cast)
{
    CXType t = clang_getCursorType(cast);
    CXType c = clang_getCanonicalType(t);
    if (c.kind != CXType_Pointer)
        return;
    CXCursor kids[2];
    unsigned n = ps_children(cast, kids, 2);
    if (n == 0 || n > 2)
        return;
    CXCursor operand = kids[n - 1];
    if (!clang_isExpression(clang_getCursorKind(operand)))
        return;
    CXCursor s = ps_strip_implicit(operand);

    ps_dest d = ps_dest_none(PS_SITE_CAST);
    d.type = t;
    d.pt = ps_ptype_of_type(ck->pt, t);
    const ps_ptype *to = &d.pt;
    if (ps_ptype_is_typed_proxy(to) || to->kind == PS_PROXY_OR) {
        ps_check_flow(ck, &d, operand);
        return;
    }
    if (to->kind == PS_PROXY_UNTYPED)
        return; /* (ps_proxy_t *)p: the author drops the target on purpose */
    CXType obj = clang_getPointeeType(c);
    if (is_void(obj) || ps_type_is_function(clang_getCanonicalType(obj)))
        return; /* (void *)p is an explicit opt-out */

    if (clang_getCursorKind(s) == CXCursor_CallExpr) {
        ps_fn_role role = ps_callee_role(ck->pt, s);
        if (ps_fn_role_resolves(role)) {
            ps_check_resolve_into(ck, s, role, clang_getPointeeType(t), cast);
            return;
        }
    }
    ps_ptype sp = ps_ptype_of_expr(ck->pt, s);
    check_unresolved_use(ck, &d, s, &sp, cast);
}

void ps_check_deref(ps_checker *ck, CXCursor deref)
{
    CXCursor k;
    if (ps_children(deref, &k, 1) != 1)
        return;
    CXCursor s = ps_strip_implicit(k);
    ps_ptype sp = ps_ptype_of_expr(ck->pt, s);
    if (!unresolved_use_matters(ck, &sp))
        return;
    char what[MSG];
    ps_describe_value(s, &sp, what, sizeof what);
    ps_diag *diag;
    if (sp.kind == PS_PROXY_OR)
        diag = ps_diag_report(ck->sink, PS_RULE_UNRESOLVED_OR, s,
                              "%s dereferenced without PS_RESOLVE_OR", what);
    else
        diag = ps_diag_report(ck->sink, PS_RULE_UNRESOLVED_PROXY, s,
                              "%s dereferenced without resolving it", what);
    ps_note_origin(ck, diag, &sp);
}
