/*
 * proxystore/annotations.h — proxy type annotations for C.
 *
 * Header-only and self-contained: include it from any C99-or-later code,
 * with or without libproxystore.
 *
 *   PROXY(T)          a proxy whose target is a T               (ps_proxy_t *)
 *   PROXY_OR(T)       a T * or a PROXY(T): code that takes both (void *)
 *   PROXY_OWNED(T)    a proxy that owns its target              (ps_proxy_t *)
 *   PROXY_REF(T)      a shared borrow of a proxy's target       (ps_proxy_t *)
 *   PROXY_REF_MUT(T)  an exclusive borrow of a proxy's target   (ps_proxy_t *)
 *
 * For every ordinary compiler the macros are plain types and cost nothing.
 * When ps-check reads the code it defines __PS_CHECK__, and each macro then
 * also attaches an annotate attribute whose argument is a null pointer of
 * type `__typeof__(T) *`: libclang exposes that expression's type, which is
 * how T reaches the checker structurally (not as a string).  __typeof__
 * rather than `T *` keeps array and function-pointer targets legal, e.g.
 * PROXY(double[4]).
 *
 * The types are pointer typedefs, so `PROXY(struct m) a, b;` declares two
 * proxies, as a reader expects.
 */
#ifndef PROXYSTORE_ANNOTATIONS_H
#define PROXYSTORE_ANNOTATIONS_H

#ifndef PS_PROXY_T_DEFINED
#define PS_PROXY_T_DEFINED
/* The opaque proxy handle; defined in libproxystore. */
typedef struct ps_proxy ps_proxy_t;
#endif

/* Pointer typedefs: one declaration with several declarators stays all-proxy. */
typedef ps_proxy_t *ps_proxy_ref_t;
typedef void *ps_proxy_or_t;

#ifdef __PS_CHECK__
#define PS_ANNOTATE_TARGET_(kind, T) \
  __attribute__((annotate(kind, (__typeof__(T) *)0)))
#define PROXY(T)         PS_ANNOTATE_TARGET_("ps.proxy", T) ps_proxy_ref_t
#define PROXY_OR(T)      PS_ANNOTATE_TARGET_("ps.proxy_or", T) ps_proxy_or_t
#define PROXY_OWNED(T)   PS_ANNOTATE_TARGET_("ps.proxy_owned", T) ps_proxy_ref_t
#define PROXY_REF(T)     PS_ANNOTATE_TARGET_("ps.proxy_ref", T) ps_proxy_ref_t
#define PROXY_REF_MUT(T) PS_ANNOTATE_TARGET_("ps.proxy_ref_mut", T) ps_proxy_ref_t
#else
#define PROXY(T)         ps_proxy_ref_t
#define PROXY_OR(T)      ps_proxy_or_t
#define PROXY_OWNED(T)   ps_proxy_ref_t
#define PROXY_REF(T)     ps_proxy_ref_t
#define PROXY_REF_MUT(T) ps_proxy_ref_t
#endif

#endif /* PROXYSTORE_ANNOTATIONS_H */
