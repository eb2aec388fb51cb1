/*
 * proxy.h — the proxy object, shared by proxy.c and descriptor.c.
 *
 * A proxy knows its target without resolving it (facts), and resolves at most
 * once: the state moves UNRESOLVED -> FETCHING -> RESOLVED, back to
 * UNRESOLVED if a fetch fails (the next ps_resolve tries again).  FETCHING
 * is either a ps_resolve in another thread or a prefetch job; whoever needs
 * the result waits on the condition, and ps_proxy_free waits too, so a
 * prefetch never outlives its proxy.
 */
#ifndef PS_PROXY_H
#define PS_PROXY_H

#include <pthread.h>

#include "cache.h"
#include "object.h"
#include "store.h"

/* What a proxy knows about its target before resolving. */
typedef struct ps_proxy_facts {
    const char *type_name;
    size_t elem_size;
    size_t count;
    size_t size;      /* payload bytes */
    uint64_t hash;    /* XXH3-64 of the payload */
    bool pod;
} ps_proxy_facts;

typedef enum { PROXY_UNRESOLVED, PROXY_FETCHING, PROXY_RESOLVED } ps_proxy_state;

struct ps_proxy {
    ps_store *store;       /* a reference */
    const ps_type *type;   /* the caller's descriptor; NULL: raw plain data */
    char key[PS_KEY_MAX];
    char type_name[PS_TYPE_NAME_MAX + 1]; /* normalized */
    size_t elem_size, count, size;
    uint64_t hash;
    bool pod;

    /* A future's proxy (future.c): resolving waits for the object, and while
     * pending the facts above beyond type, element size and kind are not
     * known yet (they are learnt, under lock, by the fetch that finds it). */
    bool future;
    bool pending;

    pthread_mutex_t lock;
    pthread_cond_t changed;
    ps_proxy_state state;  /* lock */
    ps_resolved *resolved; /* set once RESOLVED */
};

/* A live proxy for key in store (a store reference is taken). */
ps_proxy_t *ps_proxy_make(ps_store *store, const ps_type *type, const char *key,
                          const ps_proxy_facts *facts);
/* Resolve as ps_resolve does; a future's proxy waits up to timeout_ms
 * (PS_WAIT_DEFAULT: the store's wait timeout). */
#define PS_WAIT_DEFAULT (-2L)
void *ps_proxy_resolve_within(ps_proxy_t *p, long timeout_ms);
/* PS_OK if p is a live proxy; PS_ERR_INVALID_ARGUMENT naming fn otherwise. */
ps_status ps_proxy_check(const ps_proxy_t *p, const char *fn);

#endif /* PS_PROXY_H */
