/*
 * checks.c — the rules that need no control flow, in one pass over a
 * translation unit.
 *
 * The walk looks at a node's kind and, for the few kinds where a value
 * flows somewhere (variable initializers, =, call arguments, return,
 * casts, compound literals, *), at its type: a flow involves a proxy only
 * if a pointer is involved, so code without pointers costs a switch and a
 * type-kind test per node.  Declarations in system headers are skipped
 * whole.  The rules themselves live in check_*.c.
 */
#include <stdlib.h>
#include <string.h>

#include "cfg.h"
#include "checker.h"

static bool is_pointerish(CXType t)
{
    CXType c = ps_canonical_value_type(t);
    return c.kind == CXType_Pointer || ps_type_is_array(c);
}

/* Only pointers and aggregates can hold a proxy: `int table[4096] = {...}`
 * is not worth a look. */
static bool may_hold_proxy(CXType t)
{
    CXType c = ps_canonical_value_type(t);
    while (ps_type_is_array(c))
        c = clang_getCanonicalType(clang_getArrayElementType(c));
    return c.kind == CXType_Pointer || c.kind == CXType_Record;
}

ps_dest ps_dest_none(ps_site site)
{
    ps_dest d;
    memset(&d, 0, sizeof d);
    d.site = site;
    d.type.kind = CXType_Invalid;
    d.decl = d.callee = d.call = clang_getNullCursor();
    d.role = PS_FN_NONE;
    d.pt.kind = PS_PROXY_NONE;
    d.pt.target.kind = CXType_Invalid;
    d.pt.origin = d.pt.descriptor = clang_getNullCursor();
    return d;
}

static void check_var(ps_checker *ck, CXCursor var)
{
    CXType t = clang_getCursorType(var);
    if (!may_hold_proxy(t))
        return;
    CXCursor init = clang_Cursor_getVarDeclInitializer(var);
    if (clang_Cursor_isNull(init))
        return;
    ps_dest d = ps_dest_none(PS_SITE_INIT);
    d.type = t;
    d.pt = ps_ptype_of_decl(ck->pt, var);
    d.decl = var;
    ps_check_flow(ck, &d, init);
}

static void check_assign(ps_checker *ck, CXCursor op)
{
    if (clang_getCursorBinaryOperatorKind(op) != CXBinaryOperator_Assign)
        return;
    if (!is_pointerish(clang_getCursorType(op)))
        return;
    CXCursor kids[2];
    if (ps_children(op, kids, 2) != 2)
        return;
    ps_dest d = ps_dest_none(PS_SITE_ASSIGN);
    d.type = clang_getCursorType(kids[0]);
    d.pt = ps_ptype_of_expr(ck->pt, kids[0]);
    CXCursor lhs = ps_strip_implicit(kids[0]);
    enum CXCursorKind k = clang_getCursorKind(lhs);
    if (k == CXCursor_DeclRefExpr || k == CXCursor_MemberRefExpr)
        d.decl = clang_getCursorReferenced(lhs);
    ps_check_flow(ck, &d, kids[1]);
}

static void check_call(ps_checker *ck, CXCursor call)
{
    int nargs = clang_Cursor_getNumArguments(call);
    if (nargs <= 0)
        return;
    CXCursor callee = ps_callee_decl(call);
    if (clang_Cursor_isNull(callee))
        return;
    ps_fn_role role = ps_callee_role(ck->pt, call);
    unsigned nparams = 0;
    const CXCursor *params = NULL;
    for (int i = 0; i < nargs; i++) {
        CXCursor arg = clang_Cursor_getArgument(call, (unsigned)i);
        if (!is_pointerish(clang_getCursorType(arg)))
            continue;
        if (!params) {
            params = ps_callee_params(ck->pt, callee, &nparams);
            if (!params)
                break;
        }
        if ((unsigned)i >= nparams)
            break; /* variadic arguments go nowhere a type says */
        ps_dest d = ps_dest_none(PS_SITE_ARG);
        d.type = clang_getCursorType(params[i]);
        d.pt = ps_ptype_of_decl(ck->pt, params[i]);
        d.decl = params[i];
        d.callee = callee;
        d.call = call;
        d.argno = (unsigned)i + 1;
        d.role = role;
        ps_check_flow(ck, &d, arg);
    }
    if (ps_fn_role_object_arg(role) >= 0)
        ps_check_create_call(ck, call, role);
}

static void check_return(ps_checker *ck, CXCursor ret)
{
    if (clang_Cursor_isNull(ck->function))
        return;
    CXType rt = clang_getResultType(clang_getCursorType(ck->function));
    if (!is_pointerish(rt))
        return;
    CXCursor value;
    if (ps_children(ret, &value, 1) != 1)
        return;
    ps_dest d = ps_dest_none(PS_SITE_RETURN);
    d.type = rt;
    d.pt = ps_ptype_of_decl(ck->pt, ck->function);
    d.callee = ck->function;
    ps_check_flow(ck, &d, value);
}

static void check_compound_literal(ps_checker *ck, CXCursor lit)
{
    CXType t = clang_getCursorType(lit);
    if (!may_hold_proxy(t))
        return;
    CXCursor kids[2];
    unsigned n = ps_children(lit, kids, 2);
    if (n == 0 || n > 2 || clang_getCursorKind(kids[n - 1]) != CXCursor_InitListExpr)
        return;
    ps_dest d = ps_dest_none(PS_SITE_INIT);
    d.type = t;
    d.pt = ps_ptype_of_type(ck->pt, t);
    ps_check_flow(ck, &d, kids[n - 1]);
}

/* The flow rules build a CFG, so only for functions that declare a
 * variable or parameter holding a proxy, or read a proxy field (a cached
 * type lookup here). */
static void note_proxy_variable(ps_checker *ck, CXCursor decl)
{
    if (!ck->function_has_proxy && !clang_Cursor_isNull(ck->function) &&
        ps_decl_handle_depth(ck->pt, decl, false) == 0)
        ck->function_has_proxy = true;
}

/* Called when the walk leaves a top-level declaration. */
static void finish_function(ps_checker *ck)
{
    if (ck->function_has_proxy && clang_isCursorDefinition(ck->function))
        ps_check_lifetime(ck, ck->function);
    ck->function_has_proxy = false;
    ck->function = clang_getNullCursor();
}

static enum CXChildVisitResult visit(CXCursor c, CXCursor parent, CXClientData data)
{
    ps_checker *ck = data;
    enum CXCursorKind k = clang_getCursorKind(c);
    if (clang_getCursorKind(parent) == CXCursor_TranslationUnit) {
        finish_function(ck);
        if (clang_Location_isInSystemHeader(clang_getCursorLocation(c)))
            return CXChildVisit_Continue;
        ck->function = k == CXCursor_FunctionDecl ? c : clang_getNullCursor();
    }
    switch (k) {
    case CXCursor_UnaryExpr:
        /* sizeof and _Alignof evaluate nothing: no value flows there. */
        return CXChildVisit_Continue;
    case CXCursor_GenericSelectionExpr: {
        /* Only the branch _Generic selects is compiled in: check that one. */
        CXCursor selected = ps_generic_selected(c);
        if (!clang_Cursor_isNull(selected) && visit(selected, c, data) == CXChildVisit_Recurse)
            clang_visitChildren(selected, visit, data);
        return CXChildVisit_Continue;
    }
    case CXCursor_VarDecl:
        check_var(ck, c);
        ps_check_untyped_decl(ck, c);
        note_proxy_variable(ck, c);
        break;
    case CXCursor_ParmDecl:
        note_proxy_variable(ck, c);
        ps_check_untyped_decl(ck, c);
        break;
    case CXCursor_FieldDecl:
    case CXCursor_FunctionDecl:
    case CXCursor_TypedefDecl:
        ps_check_untyped_decl(ck, c);
        break;
    case CXCursor_AnnotateAttr:
        ps_check_annotation(ck, c, ps_annotation_owner(c, parent));
        break;
    case CXCursor_BinaryOperator:
        check_assign(ck, c);
        break;
    case CXCursor_CallExpr:
        check_call(ck, c);
        break;
    case CXCursor_ReturnStmt:
        check_return(ck, c);
        break;
    case CXCursor_CStyleCastExpr:
        ps_check_cast(ck, c);
        break;
    case CXCursor_CompoundLiteralExpr:
        check_compound_literal(ck, c);
        break;
    case CXCursor_MemberRefExpr:
        /* job->input: the flow rules follow proxy fields too. */
        if (!ck->function_has_proxy && !clang_Cursor_isNull(ck->function))
            note_proxy_variable(ck, clang_getCursorReferenced(c));
        break;
    case CXCursor_UnaryOperator:
        /* &*p reads nothing: only a dereference that is not undone. */
        if (clang_getCursorUnaryOperatorKind(c) == CXUnaryOperator_Deref &&
            !(clang_getCursorKind(parent) == CXCursor_UnaryOperator &&
              clang_getCursorUnaryOperatorKind(parent) == CXUnaryOperator_AddrOf))
            ps_check_deref(ck, c);
        break;
    default:
        break;
    }
    return CXChildVisit_Recurse;
}

void ps_check_translation_unit(CXTranslationUnit tu, ps_diag_sink *sink,
                               const ps_check_options *opts)
{
    ps_check_translation_unit_with(tu, sink, opts, NULL);
}

void ps_check_translation_unit_with(CXTranslationUnit tu, ps_diag_sink *sink,
                                    const ps_check_options *opts, ps_unit_summaries *io)
{
    if (!tu || !sink)
        return;
    ps_checker ck;
    ck.sink = sink;
    ck.opts = opts;
    ck.function = clang_getNullCursor();
    ck.function_has_proxy = false;
    ck.pt = ps_ptctx_new(tu);
    if (!ck.pt)
        return; /* out of memory: no findings rather than a crash */
    ck.cfg_memo = ps_cfg_memo_new(); /* without it CFGs are only slower to build */
    ck.summaries = NULL;
    ck.external = io ? io->external : NULL;
    ck.reads = io ? io->reads : NULL;
    ck.exported = io ? io->exported : NULL;
    ck.reads_incomplete = false;
    clang_visitChildren(clang_getTranslationUnitCursor(tu), visit, &ck);
    finish_function(&ck);
    ps_flow_export_summaries(&ck, tu);
    if (io)
        io->reads_incomplete = ck.reads_incomplete;
    ps_flow_summaries_free(&ck);
    ps_ptctx_free(ck.pt);
    ps_cfg_memo_free(ck.cfg_memo);
}
