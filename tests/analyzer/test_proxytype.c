/*
 * test_proxytype.c — the proxy type model: declarations, typedefs,
 * expressions, target compatibility, descriptors and spellings.
 */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse_snippet.h"
#include "proxytype.h"

#define PRELUDE                                                                                    \
    "#include <proxystore/proxystore.h>\n"                                                         \
    "struct matrix { int n; double d[4]; };\n"                                                     \
    "struct mesh { int k; };\n"                                                                    \
    "typedef struct matrix matrix_t;\n"

typedef struct fixture {
    snippet s;
    ps_ptctx *ctx;
} fixture;

static fixture open_snippet(const char *body)
{
    size_t n = strlen(PRELUDE) + strlen(body) + 1;
    char *src = malloc(n);
    cr_assert_not_null(src);
    snprintf(src, n, "%s%s", PRELUDE, body);
    fixture f;
    f.s = snippet_parse(src);
    /* libclang keeps its own copy of unsaved files once parsed. */
    free(src);
    f.ctx = ps_ptctx_new(f.s.tu);
    cr_assert_not_null(f.ctx);
    return f;
}

static void close_snippet(fixture *f)
{
    ps_ptctx_free(f->ctx);
    snippet_free(&f->s);
}

static const char *spell(ps_ptype pt)
{
    static char buf[256];
    return ps_ptype_spelling(&pt, buf, sizeof buf);
}

static ps_ptype decl_ptype(fixture *f, const char *name)
{
    return ps_ptype_of_decl(f->ctx, snippet_decl(&f->s, name));
}

static ps_ptype init_ptype(fixture *f, const char *name)
{
    return ps_ptype_of_expr(f->ctx, snippet_init(&f->s, name));
}

#define assert_ptype(pt, want) cr_assert_str_eq(spell(pt), (want))

Test(proxytype, annotated_variables_carry_kind_and_target)
{
    fixture f = open_snippet("PROXY(struct matrix) p;\n"
                             "PROXY_OR(struct matrix) x;\n"
                             "PROXY_OWNED(struct mesh) o;\n"
                             "PROXY_REF(double) r;\n"
                             "PROXY_REF_MUT(double[4]) rm;\n");
    ps_ptype p = decl_ptype(&f, "p");
    cr_assert_eq(p.kind, PS_PROXY_TYPED);
    cr_assert_eq(p.depth, 0);
    cr_assert_not(p.bad_target);
    assert_ptype(p, "PROXY(struct matrix)");
    cr_assert_eq(clang_getCanonicalType(p.target).kind, CXType_Record);
    cr_assert(clang_equalCursors(p.origin, snippet_decl(&f.s, "p")));
    cr_assert_eq(decl_ptype(&f, "x").kind, PS_PROXY_OR);
    assert_ptype(decl_ptype(&f, "x"), "PROXY_OR(struct matrix)");
    assert_ptype(decl_ptype(&f, "o"), "PROXY_OWNED(struct mesh)");
    assert_ptype(decl_ptype(&f, "r"), "PROXY_REF(double)");
    assert_ptype(decl_ptype(&f, "rm"), "PROXY_REF_MUT(double[4])");
    close_snippet(&f);
}

Test(proxytype, every_declarator_and_depth)
{
    fixture f = open_snippet("PROXY(struct matrix) a, *b, c[3], *grid[2][5];\n"
                             "PROXY_OR(struct mesh) *xs;\n");
    assert_ptype(decl_ptype(&f, "a"), "PROXY(struct matrix)");
    assert_ptype(decl_ptype(&f, "b"), "PROXY(struct matrix) *");
    assert_ptype(decl_ptype(&f, "c"), "PROXY(struct matrix) *");
    cr_assert_eq(decl_ptype(&f, "grid").depth, 3);
    cr_assert_eq(decl_ptype(&f, "xs").kind, PS_PROXY_OR);
    cr_assert_eq(decl_ptype(&f, "xs").depth, 1);
    close_snippet(&f);
}

Test(proxytype, typedefs_of_annotated_types)
{
    fixture f = open_snippet("typedef PROXY(struct matrix) matrix_proxy;\n"
                             "typedef matrix_proxy matrix_proxy2;\n"
                             "typedef PROXY_OR(matrix_t) matrix_or;\n"
                             "matrix_proxy m;\n"
                             "matrix_proxy *mp;\n"
                             "matrix_proxy2 arr[2];\n"
                             "matrix_or mo;\n");
    ps_ptype m = decl_ptype(&f, "m");
    assert_ptype(m, "PROXY(struct matrix)");
    cr_assert(clang_equalCursors(m.origin, snippet_decl(&f.s, "matrix_proxy")),
              "the note points at the typedef that gave the type");
    assert_ptype(decl_ptype(&f, "mp"), "PROXY(struct matrix) *");
    assert_ptype(decl_ptype(&f, "arr"), "PROXY(struct matrix) *");
    assert_ptype(decl_ptype(&f, "mo"), "PROXY_OR(matrix_t)");
    close_snippet(&f);
}

Test(proxytype, unannotated_handles_are_untyped_and_others_are_not_proxies)
{
    fixture f = open_snippet("ps_proxy_t *u;\n"
                             "ps_proxy_ref_t r;\n"
                             "const ps_proxy_t *cu;\n"
                             "ps_proxy_t **uu;\n"
                             "void *v;\n"
                             "ps_proxy_or_t orv;\n"
                             "int i;\n"
                             "struct matrix *sm;\n");
    cr_assert_eq(decl_ptype(&f, "u").kind, PS_PROXY_UNTYPED);
    cr_assert_eq(decl_ptype(&f, "r").kind, PS_PROXY_UNTYPED);
    cr_assert_eq(decl_ptype(&f, "cu").kind, PS_PROXY_UNTYPED);
    assert_ptype(decl_ptype(&f, "uu"), "ps_proxy_t **");
    cr_assert_eq(decl_ptype(&f, "v").kind, PS_PROXY_NONE);
    cr_assert_eq(decl_ptype(&f, "orv").kind, PS_PROXY_NONE);
    cr_assert_eq(decl_ptype(&f, "i").kind, PS_PROXY_NONE);
    cr_assert_eq(decl_ptype(&f, "sm").kind, PS_PROXY_NONE);
    close_snippet(&f);
}

Test(proxytype, functions_describe_their_return_value)
{
    fixture f = open_snippet("PROXY(struct matrix) make(void);\n"
                             "PROXY(struct matrix) *make_many(int n);\n"
                             "PROXY(struct mesh) (*maker)(void);\n"
                             "typedef PROXY(double) double_maker(void);\n"
                             "double_maker mk;\n"
                             "ps_proxy_t *plain(void);\n"
                             "struct matrix *not_proxy(void);\n");
    assert_ptype(decl_ptype(&f, "make"), "PROXY(struct matrix)");
    assert_ptype(decl_ptype(&f, "make_many"), "PROXY(struct matrix) *");
    assert_ptype(decl_ptype(&f, "maker"), "PROXY(struct mesh)");
    assert_ptype(decl_ptype(&f, "mk"), "PROXY(double)");
    cr_assert_eq(decl_ptype(&f, "plain").kind, PS_PROXY_UNTYPED);
    cr_assert_eq(decl_ptype(&f, "not_proxy").kind, PS_PROXY_NONE);
    close_snippet(&f);
}

Test(proxytype, parameters_and_fields)
{
    fixture f = open_snippet("struct job { PROXY(struct matrix) m; PROXY_OR(struct mesh) mo[2]; };\n"
                             "void take(PROXY(struct mesh) q);\n"
                             "void take(ps_proxy_ref_t q2) { (void)q2; }\n");
    assert_ptype(decl_ptype(&f, "m"), "PROXY(struct matrix)");
    assert_ptype(decl_ptype(&f, "mo"), "PROXY_OR(struct mesh) *");
    /* The definition's parameter inherits the prototype's annotation. */
    assert_ptype(decl_ptype(&f, "q2"), "PROXY(struct mesh)");
    close_snippet(&f);
}

Test(proxytype, expressions_follow_the_proxy)
{
    fixture f = open_snippet(
        "typedef PROXY(struct matrix) matrix_proxy;\n"
        "struct job { PROXY(struct matrix) m; PROXY(struct mesh) ms[2]; };\n"
        "PROXY(struct matrix) make(void);\n"
        "PROXY(struct mesh) (*maker)(void);\n"
        "PS_TYPE_POD_DEFINE(matrix_type, struct matrix);\n"
        "void f(PROXY(struct matrix) p, PROXY(struct matrix) *pp, struct job j, struct job *jp,\n"
        "       ps_proxy_t *u, PROXY_OR(struct mesh) x, int c, ps_store *st) {\n"
        "  PROXY(struct matrix) arr[3] = {p, p, p};\n"
        "  __auto_type e_sub = arr[1];\n"
        "  __auto_type e_addr = &p;\n"
        "  __auto_type e_deref = *pp;\n"
        "  __auto_type e_cond = c ? p : make();\n"
        "  __auto_type e_call = make();\n"
        "  __auto_type e_fp = maker();\n"
        "  __auto_type e_fpderef = (*maker)();\n"
        "  __auto_type e_dot = j.m;\n"
        "  __auto_type e_arrow = jp->ms[1];\n"
        "  __auto_type e_cast = (matrix_proxy)u;\n"
        "  __auto_type e_uncast = (ps_proxy_t *)p;\n"
        "  __auto_type e_void = (void *)p;\n"
        "  __auto_type e_lit = (matrix_proxy[]){p, p};\n"
        "  __auto_type e_or = x;\n"
        "  __auto_type e_create = ps_proxy(st, &matrix_type, (void *)0);\n"
        "  __auto_type e_assign = (arr[0] = p);\n"
        "  __auto_type e_arith = pp + 1;\n"
        "  __auto_type e_int = c;\n"
        "}\n");
    assert_ptype(init_ptype(&f, "e_sub"), "PROXY(struct matrix)");
    assert_ptype(init_ptype(&f, "e_addr"), "PROXY(struct matrix) *");
    assert_ptype(init_ptype(&f, "e_deref"), "PROXY(struct matrix)");
    assert_ptype(init_ptype(&f, "e_cond"), "PROXY(struct matrix)");
    assert_ptype(init_ptype(&f, "e_call"), "PROXY(struct matrix)");
    assert_ptype(init_ptype(&f, "e_fp"), "PROXY(struct mesh)");
    assert_ptype(init_ptype(&f, "e_fpderef"), "PROXY(struct mesh)");
    assert_ptype(init_ptype(&f, "e_dot"), "PROXY(struct matrix)");
    assert_ptype(init_ptype(&f, "e_arrow"), "PROXY(struct mesh)");
    assert_ptype(init_ptype(&f, "e_cast"), "PROXY(struct matrix)");
    assert_ptype(init_ptype(&f, "e_uncast"), "ps_proxy_t *");
    cr_assert_eq(init_ptype(&f, "e_void").kind, PS_PROXY_NONE);
    assert_ptype(init_ptype(&f, "e_lit"), "PROXY(struct matrix) *");
    assert_ptype(init_ptype(&f, "e_or"), "PROXY_OR(struct mesh)");
    ps_ptype created = init_ptype(&f, "e_create");
    cr_assert_eq(created.kind, PS_PROXY_UNTYPED);
    cr_assert(created.created);
    ps_descriptor d = ps_descriptor_of_expr(f.ctx, created.descriptor);
    cr_assert(d.known);
    cr_assert_str_eq(d.name, "struct matrix");
    assert_ptype(init_ptype(&f, "e_assign"), "PROXY(struct matrix)");
    assert_ptype(init_ptype(&f, "e_arith"), "PROXY(struct matrix) *");
    cr_assert_eq(init_ptype(&f, "e_int").kind, PS_PROXY_NONE);
    close_snippet(&f);
}

Test(proxytype, target_compatibility_follows_c)
{
    fixture f = open_snippet("PROXY(struct matrix) a;\n"
                             "PROXY(matrix_t) a2;\n"
                             "PROXY(const struct matrix) ca;\n"
                             "PROXY(struct mesh) b;\n"
                             "PROXY(double[4]) d4;\n"
                             "PROXY(double[]) dn;\n"
                             "PROXY(double[3]) d3;\n"
                             "PROXY(double) d;\n");
    CXType a = decl_ptype(&f, "a").target, a2 = decl_ptype(&f, "a2").target,
           ca = decl_ptype(&f, "ca").target, b = decl_ptype(&f, "b").target,
           d4 = decl_ptype(&f, "d4").target, dn = decl_ptype(&f, "dn").target,
           d3 = decl_ptype(&f, "d3").target, d = decl_ptype(&f, "d").target;
    cr_assert_eq(ps_target_compat(a, a2), PS_COMPAT_OK, "a typedef names the same type");
    cr_assert_eq(ps_target_compat(a, ca), PS_COMPAT_OK, "adding const is allowed");
    cr_assert_eq(ps_target_compat(ca, a), PS_COMPAT_DROPS_QUALIFIERS);
    cr_assert_eq(ps_target_compat(a, b), PS_COMPAT_MISMATCH);
    cr_assert_eq(ps_target_compat(d4, dn), PS_COMPAT_OK);
    cr_assert_eq(ps_target_compat(dn, d4), PS_COMPAT_OK);
    cr_assert_eq(ps_target_compat(d3, d4), PS_COMPAT_MISMATCH);
    cr_assert_eq(ps_target_compat(d, d4), PS_COMPAT_MISMATCH);
    cr_assert_eq(ps_object_compat(d, d4), PS_COMPAT_OK, "an element of a proxied array");
    cr_assert_eq(ps_object_compat(a, d4), PS_COMPAT_MISMATCH);
    close_snippet(&f);
}

Test(proxytype, malformed_targets_are_flagged)
{
    fixture f = open_snippet("typedef PROXY(struct matrix) matrix_proxy;\n"
                             "PROXY(void) v;\n"
                             "PROXY(int (int)) fn;\n"
                             "PROXY(int (*)(int)) fnp;\n"
                             "PROXY(matrix_proxy) pp;\n"
                             "PROXY(ps_proxy_t) h;\n"
                             "PROXY(struct matrix *) ok;\n");
    cr_assert(decl_ptype(&f, "v").bad_target);
    cr_assert(decl_ptype(&f, "fn").bad_target);
    cr_assert(decl_ptype(&f, "fnp").bad_target);
    cr_assert(decl_ptype(&f, "pp").bad_target);
    cr_assert(decl_ptype(&f, "h").bad_target);
    cr_assert_not(decl_ptype(&f, "ok").bad_target);
    close_snippet(&f);
}

Test(proxytype, descriptors_name_their_type)
{
    fixture f = open_snippet("PS_TYPE_POD_DEFINE(matrix_type, struct matrix);\n"
                             "PS_TYPE_POD_DEFINE(matrix_t_type, matrix_t);\n"
                             "PS_TYPE_POD_DEFINE(vec_type, double [4]);\n"
                             "PS_TYPE_POD_DEFINE(ul_type, unsigned  long);\n"
                             "extern const ps_type opaque_type;\n"
                             "static const ps_type label_type = {\"counter\", sizeof(int), 4, 0, 0, 0, 0};\n"
                             "PS_TYPE_DECLARE(declared_type, struct mesh);\n"
                             "const ps_type *indirect = &matrix_type;\n"
                             "struct matrix m; struct mesh me; double v4[4]; double dd;\n"
                             "float ff; unsigned long ul; long sl;\n"
                             "const void *d_matrix = &matrix_type, *d_matrix_t = &matrix_t_type,\n"
                             "  *d_vec = &vec_type, *d_ul = &ul_type, *d_opaque = &opaque_type,\n"
                             "  *d_double = &ps_type_double, *d_label = &label_type,\n"
                             "  *d_declared = &declared_type;\n"
                             "void g(void) { const ps_type *d_indirect = indirect; (void)d_indirect; }\n");
#define DESC(var) ps_descriptor_of_expr(f.ctx, snippet_init(&f.s, var))
#define TYPE(var) clang_getCursorType(snippet_decl(&f.s, var))
    ps_descriptor dm = DESC("d_matrix");
    cr_assert(dm.known);
    cr_assert(dm.has_type);
    cr_assert_str_eq(dm.name, "struct matrix");
    cr_assert(ps_descriptor_matches(f.ctx, &dm, TYPE("m")));
    cr_assert_not(ps_descriptor_matches(f.ctx, &dm, TYPE("me")));

    ps_descriptor dt = DESC("d_matrix_t");
    cr_assert(ps_descriptor_matches(f.ctx, &dt, TYPE("m")), "a typedef of the same struct");
    cr_assert_not(ps_descriptor_matches(f.ctx, &dt, TYPE("me")));

    ps_descriptor dv = DESC("d_vec");
    cr_assert_str_eq(dv.name, "double[4]");
    cr_assert(ps_descriptor_matches(f.ctx, &dv, TYPE("v4")));
    cr_assert(ps_descriptor_matches(f.ctx, &dv, TYPE("dd")), "the array's first element");
    cr_assert_not(ps_descriptor_matches(f.ctx, &dv, TYPE("ff")));

    ps_descriptor du = DESC("d_ul");
    cr_assert_str_eq(du.name, "unsigned long");
    cr_assert(ps_descriptor_matches(f.ctx, &du, TYPE("ul")));
    cr_assert_not(ps_descriptor_matches(f.ctx, &du, TYPE("sl")));

    ps_descriptor dd = DESC("d_double");
    cr_assert(dd.known);
    cr_assert(ps_descriptor_matches(f.ctx, &dd, TYPE("dd")));
    cr_assert(ps_descriptor_matches(f.ctx, &dd, TYPE("v4")), "an array of doubles");
    cr_assert_not(ps_descriptor_matches(f.ctx, &dd, TYPE("ff")));

    cr_assert_not(DESC("d_opaque").known, "no initializer visible: unknown");
    cr_assert_not(DESC("d_label").known, "a label is not a C type name");
    ps_descriptor dd2 = DESC("d_declared");
    cr_assert(dd2.known, "PS_TYPE_DECLARE names the type");
    cr_assert(ps_descriptor_matches(f.ctx, &dd2, TYPE("me")));
    cr_assert_not(ps_descriptor_matches(f.ctx, &dd2, TYPE("m")));
    cr_assert(ps_descriptor_matches(f.ctx, &(ps_descriptor){.known = false}, TYPE("m")));

    /* Through a pointer variable initialized with the descriptor's address. */
    ps_descriptor di = DESC("d_indirect");
    cr_assert(di.known);
    cr_assert_str_eq(di.name, "struct matrix");
#undef DESC
#undef TYPE
    close_snippet(&f);
}

Test(proxytype, callee_parameters_through_function_pointers)
{
    fixture f = open_snippet("void direct(PROXY(struct mesh) q, int n);\n"
                             "void (*fp)(PROXY(struct mesh) q);\n"
                             "typedef void runner(PROXY(double) r);\n"
                             "runner *rp;\n"
                             "struct ops { void (*run)(PROXY(struct matrix) m); } ops;\n");
    unsigned n;
    const CXCursor *params = ps_callee_params(f.ctx, snippet_decl(&f.s, "direct"), &n);
    cr_assert_eq(n, 2);
    assert_ptype(ps_ptype_of_decl(f.ctx, params[0]), "PROXY(struct mesh)");
    params = ps_callee_params(f.ctx, snippet_decl(&f.s, "fp"), &n);
    cr_assert_eq(n, 1);
    assert_ptype(ps_ptype_of_decl(f.ctx, params[0]), "PROXY(struct mesh)");
    params = ps_callee_params(f.ctx, snippet_decl(&f.s, "rp"), &n);
    cr_assert_eq(n, 1);
    assert_ptype(ps_ptype_of_decl(f.ctx, params[0]), "PROXY(double)");
    params = ps_callee_params(f.ctx, snippet_decl(&f.s, "run"), &n);
    cr_assert_eq(n, 1);
    assert_ptype(ps_ptype_of_decl(f.ctx, params[0]), "PROXY(struct matrix)");
    close_snippet(&f);
}

Test(proxytype, runtime_roles)
{
    fixture f = open_snippet("#include <stdlib.h>\n"
                             "void g(ps_proxy_t *p, void *x) {\n"
                             "  __auto_type r1 = ps_resolve(p);\n"
                             "  __auto_type r2 = ps_resolve_as(p, \"x\", 1);\n"
                             "  __auto_type r3 = ps_resolve_or(x, \"x\", 1);\n"
                             "  __auto_type r4 = ps_proxy(0, 0, 0);\n"
                             "  __auto_type r5 = ps_proxy_from_key(0, 0, 0);\n"
                             "  __auto_type r6 = malloc(1);\n"
                             "}\n");
    cr_assert_eq(ps_callee_role(f.ctx, snippet_init(&f.s, "r1")), PS_FN_RESOLVE);
    cr_assert_eq(ps_callee_role(f.ctx, snippet_init(&f.s, "r2")), PS_FN_RESOLVE_AS);
    cr_assert_eq(ps_callee_role(f.ctx, snippet_init(&f.s, "r3")), PS_FN_RESOLVE_OR);
    cr_assert_eq(ps_callee_role(f.ctx, snippet_init(&f.s, "r4")), PS_FN_CREATE);
    cr_assert_eq(ps_callee_role(f.ctx, snippet_init(&f.s, "r5")), PS_FN_FROM_KEY);
    cr_assert_eq(ps_callee_role(f.ctx, snippet_init(&f.s, "r6")), PS_FN_NONE);
    cr_assert_eq(ps_fn_role_descriptor_arg(PS_FN_FROM_KEY), 2);
    cr_assert_eq(ps_fn_role_descriptor_arg(PS_FN_CREATE), 1);
    cr_assert_eq(ps_fn_role_descriptor_arg(PS_FN_RESOLVE), -1);
    close_snippet(&f);
}

Test(proxytype, the_cache_survives_growth)
{
    /* Enough declarations to grow the per-declaration table several times;
     * every answer must stay the same after the growth. */
    size_t cap = 64 * 1024;
    char *src = malloc(cap);
    cr_assert_not_null(src);
    size_t len = 0;
    for (int i = 0; i < 600; i++)
        len += (size_t)snprintf(src + len, cap - len, "%s v%d;\n",
                                i % 2 ? "PROXY(struct mesh)" : "int", i);
    fixture f = open_snippet(src);
    free(src);
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 600; i++) {
            char name[16];
            snprintf(name, sizeof name, "v%d", i);
            ps_ptype pt = decl_ptype(&f, name);
            cr_assert_eq(pt.kind, i % 2 ? PS_PROXY_TYPED : PS_PROXY_NONE, "%s", name);
        }
    close_snippet(&f);
}

Test(proxytype, the_library_implementation_is_recognized)
{
    fixture user = open_snippet("void f(ps_proxy_t *p) { (void)p; }\n");
    ps_ptype p = decl_ptype(&user, "p");
    cr_assert_eq(p.kind, PS_PROXY_UNTYPED);
    cr_assert_not(ps_proxy_struct_is_complete(user.ctx));
    close_snippet(&user);
    fixture lib = open_snippet("struct ps_proxy { int refs; };\n"
                               "void f(ps_proxy_t *p) { p->refs++; }\n");
    cr_assert_eq(decl_ptype(&lib, "p").kind, PS_PROXY_UNTYPED);
    cr_assert(ps_proxy_struct_is_complete(lib.ctx));
    close_snippet(&lib);
}

Test(proxytype, spellings)
{
    fixture f = open_snippet("PROXY(double[4]) *d4; PROXY_OR(matrix_t) mo; ps_proxy_t **u;\n");
    assert_ptype(decl_ptype(&f, "d4"), "PROXY(double[4]) *");
    assert_ptype(decl_ptype(&f, "mo"), "PROXY_OR(matrix_t)");
    assert_ptype(decl_ptype(&f, "u"), "ps_proxy_t **");
    char buf[8];
    ps_ptype_spelling(&(ps_ptype){.kind = PS_PROXY_UNTYPED, .depth = 40}, buf, sizeof buf);
    cr_assert_lt(strlen(buf), sizeof buf, "spellings are truncated, never overflow");
    close_snippet(&f);
}
