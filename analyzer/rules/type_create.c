/*
 * type_create.c — ps-create-mismatch, the object half: ps_proxy (or
 * ps_proxy_array, ps_owned, ps_owned_array, ps_lifetime_proxy) given an object whose type is not the one its type
 * descriptor describes.  (The result half — a created proxy stored in a
 * PROXY(U) of another type — is a flow, in type_flow.c.)
 *
 * A descriptor's type is known when its variable is visible with its
 * initializer (PS_TYPE_POD_DEFINE / PS_TYPE_POD_INIT name T twice: as #T
 * and in sizeof(T)), for the library's built-in descriptors, and for
 * variables carrying a ps.type annotation.  Otherwise nothing is reported.
 */
#include <stdio.h>

#include "checker.h"

void ps_check_create_call(ps_checker *ck, CXCursor call, ps_fn_role role)
{
    int oarg = ps_fn_role_object_arg(role), darg = ps_fn_role_descriptor_arg(role);
    if (oarg < 0 || clang_Cursor_getNumArguments(call) <= oarg)
        return;
    CXCursor obj = ps_strip_implicit(clang_Cursor_getArgument(call, (unsigned)oarg));
    CXType ot = clang_getCursorType(obj);
    CXType oc = clang_getCanonicalType(ot);
    CXType object;
    if (oc.kind == CXType_Pointer)
        object = clang_getPointeeType(ot.kind == CXType_Pointer ? ot : oc);
    else if (ps_type_is_array(oc))
        object = ot; /* the array itself: a descriptor of it or of its elements fits */
    else
        return;
    CXType objc = clang_getCanonicalType(object);
    if (objc.kind == CXType_Void || objc.kind == CXType_Invalid)
        return; /* a void * says nothing about what it points to */
    ps_descriptor desc = ps_descriptor_of_expr(ck->pt, clang_Cursor_getArgument(call, (unsigned)darg));
    if (!desc.known || ps_descriptor_matches(ck->pt, &desc, object))
        return;
    char dname[256], tspell[256], fname[128];
    ps_cursor_name(desc.decl, dname, sizeof dname);
    ps_cursor_name(ps_callee_decl(call), fname, sizeof fname);
    ps_type_spelling(ot, tspell, sizeof tspell);
    ps_diag *diag = ps_diag_report(ck->sink, PS_RULE_CREATE_MISMATCH, obj,
                                   "%s given an object of type '%s' with descriptor '%s', which "
                                   "describes '%s'",
                                   fname, tspell,
                                   dname, desc.name);
    ps_note_descriptor(ck, diag, &desc);
}
