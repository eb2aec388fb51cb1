/*
 * checker.h — what every rule shares: the checker state of one translation
 * unit, the description of a place a value flows into, and the functions that
 * word findings (describe.c).
 *
 * Two families of rules, named by prefix:
 *   type_*.c  type rules, one look at each site, no control flow.
 *             checks.c walks the AST once and hands each flow site
 *             (initialization, assignment, argument, return, cast) to
 *             type_flow.c, which applies ps-target-mismatch,
 *             ps-unresolved-proxy, ps-or-mismatch, ps-unresolved-or and the
 *             result half of ps-create-mismatch; type_resolve.c does
 *             ps-resolve-mismatch, type_create.c the object half of
 *             ps-create-mismatch, type_annotation.c ps-annotation and
 *             ps-untyped-proxy.
 *   flow_*.c  flow-sensitive rules, a dataflow over each function's CFG
 *             (flow/cfg.h): flow_ownership.c runs it (ps-use-after-free,
 *             ps-double-free, ps-leak, ps-dangling-target, function
 *             summaries), flow_borrow.c adds ps-borrow (flow_state.h).
 */
#ifndef PS_CHECK_CHECKER_H
#define PS_CHECK_CHECKER_H

#include <clang-c/Index.h>
#include <stdbool.h>

#include "checks.h"
#include "diag.h"
#include "proxytype.h"

typedef struct ps_checker {
    ps_diag_sink *sink;
    const ps_check_options *opts;
    ps_ptctx *pt;
    CXCursor function; /* the function whose body is being walked, or null */
    bool function_has_proxy; /* it declares a variable or parameter holding a proxy */
    struct ps_cfg_memo *cfg_memo; /* what CFG building learnt in this unit, or NULL */
    struct ps_flow_summaries *summaries; /* function summaries made in this unit, or NULL */
    /* Across the files of one run (checks.h ps_unit_summaries): */
    const struct ps_summary_table *external; /* the other files' summaries, or NULL */
    struct ps_summary_table *reads;    /* out: every lookup in external, or NULL */
    struct ps_summary_table *exported; /* out: this file's functions' summaries, or NULL */
    bool reads_incomplete;             /* a lookup could not be kept (out of memory) */
} ps_checker;

typedef enum ps_site {
    PS_SITE_INIT,   /* a variable, field or element initialized */
    PS_SITE_ASSIGN, /* the left side of = */
    PS_SITE_ARG,    /* a call argument */
    PS_SITE_RETURN, /* return e; */
    PS_SITE_CAST,   /* an explicit cast */
} ps_site;

/* Where a value goes. */
typedef struct ps_dest {
    ps_site site;
    CXType type;      /* the destination's C type */
    ps_ptype pt;      /* its proxy type (PS_PROXY_NONE for a plain type) */
    CXCursor decl;    /* the variable, parameter or field written, or null */
    CXCursor callee;  /* PS_SITE_ARG: the function called; PS_SITE_RETURN: the function */
    CXCursor call;    /* PS_SITE_ARG: the call expression */
    unsigned argno;   /* PS_SITE_ARG: 1-based */
    ps_fn_role role;  /* PS_SITE_ARG: the callee's role, if a runtime function */
} ps_dest;

/* checks.c: a destination of that site with nothing known yet (no type,
 * not a proxy, no declaration, callee or call). */
ps_dest ps_dest_none(ps_site site);

/* type_flow.c */
void ps_check_flow(ps_checker *ck, const ps_dest *dest, CXCursor src);
/* A proxy (or PROXY_OR) used where its target is: *p. */
void ps_check_deref(ps_checker *ck, CXCursor deref);
/* An explicit cast: to a proxy typedef, to an object pointer, of a resolve. */
void ps_check_cast(ps_checker *ck, CXCursor cast);

/* Utilities shared by the rules (describe.c). */
/* snprintf for message pieces: long type names are cut, never overflow. */
void ps_fmt(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A cursor's spelling ("" when it has none). */
void ps_cursor_name(CXCursor c, char *buf, size_t n);
/* "'p'", "'j.m'"-like short name of the value an expression reads, or "". */
void ps_value_name(CXCursor expr, char *buf, size_t n);
/* The value in messages: "proxy 'p' (PROXY(struct matrix))" or
 * "PROXY_OR(struct matrix) 'x'". */
void ps_describe_value(CXCursor expr, const ps_ptype *pt, char *buf, size_t n);
/* ", which discards qualifiers" for PS_COMPAT_DROPS_QUALIFIERS, else "". */
const char *ps_qualifier_tail(ps_compat c);
/* Adds "'p' declared as PROXY(T) here" at the declaration behind pt. */
void ps_note_origin(ps_checker *ck, ps_diag *diag, const ps_ptype *pt);
/* Adds "descriptor 'd' describes 'T' here" (not for the library's
 * built-in descriptors). */
void ps_note_descriptor(ps_checker *ck, ps_diag *diag, const ps_descriptor *d);
/* True when the expression is written in the file, not produced by a
 * macro, so a fix-it can rewrite it. */
bool ps_extent_is_plain(CXCursor expr);

/* type_resolve.c: the value of a resolve call used as a U * (dest is the
 * object type U; at is where to report). */
void ps_check_resolve_into(ps_checker *ck, CXCursor call, ps_fn_role role, CXType object,
                           CXCursor at);

/* type_create.c: ps_proxy & co. given an object of another type. */
void ps_check_create_call(ps_checker *ck, CXCursor call, ps_fn_role role);

/* flow_ownership.c: the flow-sensitive rules over one function definition. */
void ps_check_lifetime(ps_checker *ck, CXCursor function);
/* Frees the function summaries the flow rules made for this unit. */
void ps_flow_summaries_free(ps_checker *ck);
/* Adds to ck->exported the summary of every function with external linkage
 * defined in the unit's main file that involves a proxy. */
void ps_flow_export_summaries(ps_checker *ck, CXTranslationUnit tu);

/* type_annotation.c */
void ps_check_annotation(ps_checker *ck, CXCursor attr, CXCursor decl);
void ps_check_untyped_decl(ps_checker *ck, CXCursor decl);

#endif /* PS_CHECK_CHECKER_H */
