/*
 * Every form the annotation macros must accept, compiled by each C compiler
 * at each standard with -pedantic -Werror (annotations.cmake), and with
 * __PS_CHECK__ by clang the way ps-check reads it.  The _Static_asserts
 * check what an ordinary compiler sees.
 */
#include <proxystore/annotations.h>

struct m { int x; };
typedef struct m m_t;

PROXY(struct m) a, b;            /* both declarators are proxies */
PROXY(double[4]) fixed_array;    /* array target */
PROXY(int (*)(int)) function;    /* function-pointer target */
PROXY_OR(m_t) either;
PROXY_OWNED(struct m) owned;
PROXY_REF(struct m) shared;
PROXY_REF_MUT(struct m) exclusive;

typedef PROXY(struct m) m_proxy;
m_proxy c, d;

struct holder {
    PROXY(struct m) field;
    PROXY(struct m) several[3];
    PROXY(struct m) *indirect;
};

void take(PROXY(struct m) p, PROXY_OR(struct m) q, PROXY(m_t) r[2]);
PROXY(struct m) give(void);
void (*callback)(PROXY(struct m) p);

#if !defined(__PS_CHECK__) && defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
_Static_assert(sizeof b == sizeof(ps_proxy_t *), "PROXY(T) b is a pointer, not a struct");
_Static_assert(sizeof either == sizeof(void *), "PROXY_OR(T) is a void *");
_Static_assert(sizeof d == sizeof(ps_proxy_t *), "typedef'd proxies stay pointers");
#endif

int annotations_compile(void)
{
    ps_proxy_t *plain = a;       /* a PROXY(T) is a ps_proxy_t * to a compiler */
    void *any = either;
    either = plain;              /* PROXY_OR(T) takes a proxy ... */
    either = &(struct m){ 1 };   /* ... or a T * */
    return (plain == b) + (any != 0);
}
