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

    /* Ownership (ownership.c, docs/ownership.md). */
    ps_proxy_kind kind;
    bool in_lifetime;        /* a lifetime evicts its target: never owned */
    void *mut_obj;           /* PS_RESOLVE_MUT's private copy (lock) */
    struct ps_owner_state *owner_state; /* owners: their borrows (lock) */
    struct ps_proxy *owner;  /* borrows made here: their owner (a borrow
                              * keeps it from being released) */
    struct ps_remote_borrow *remote; /* borrows received from elsewhere */
};

/* A live proxy for key in store (a store reference is taken). */
ps_proxy_t *ps_proxy_make(ps_store *store, const ps_type *type, const char *key,
                          const ps_proxy_facts *facts);
/* A live proxy for an object just put under key, its facts from the header
 * the put wrote (info). */
ps_proxy_t *ps_proxy_of_put(ps_store *store, const ps_type *type, const char *key, const ps_object_info *info);
/* Resolve as ps_resolve does; a future's proxy waits up to timeout_ms
 * (PS_WAIT_DEFAULT: the store's wait timeout). */
#define PS_WAIT_DEFAULT (-2L)
void *ps_proxy_resolve_within(ps_proxy_t *p, long timeout_ms);
/* PS_OK if p is a live proxy; PS_ERR_INVALID_ARGUMENT naming fn otherwise
 * (PS_ERR_STATE for a handle that was moved away). */
ps_status ps_proxy_check(const ps_proxy_t *p, const char *fn);
/* Free the handle's memory and drop its store reference, whatever its kind
 * (after the ownership rules have been applied by the caller). */
void ps_proxy_destroy(ps_proxy_t *p);
/* Remove p from the live proxies as moved: later calls on it say so. */
void ps_proxy_mark_moved(ps_proxy_t *p);
/* The facts of the stored object now under the proxy's key (after an
 * update): the proxy answers them from now on (lock not held). */
void ps_proxy_adopt_facts(ps_proxy_t *p, const ps_object_info *info);

/* ownership.c: what ps_proxy_free, ps_proxy_evict and the resolves do for
 * the ownership kinds. */
ps_status ps_ownership_release(ps_proxy_t *p);
/* PS_OK if p may be resolved for reading as fn does (a shared borrow only
 * through ps_resolve_ref). */
ps_status ps_ownership_check_resolve(ps_proxy_t *p, bool const_view, const char *fn);
/* Resolve for reading after the type check (the ownership check is the
 * caller's); fn names the call in messages. */
void *ps_proxy_resolve_typed(ps_proxy_t *p, const char *type_name, size_t elem_size, const char *fn);
/* PS_ERR_TYPE_MISMATCH unless type_name/elem_size are p's target's. */
ps_status ps_proxy_check_type(const ps_proxy_t *p, const char *type_name, size_t elem_size, const char *fn);
/* Free what the ownership kinds add to a handle. */
void ps_ownership_destroy(ps_proxy_t *p);

/* Descriptor support: what a descriptor of an ownership handle carries
 * (descriptor.c parses and prints, ownership.c decides). */
typedef struct ps_move {
    char move_id[33];   /* the move token this descriptor claims */
    char borrow_id[33]; /* borrows: their record in the store */
    unsigned lease_ms;  /* borrows: how long the record lives unrenewed */
} ps_move;
ps_status ps_ownership_prepare_move(ps_proxy_t *p, ps_move *m);
void ps_ownership_finish_move(ps_proxy_t *p, const ps_move *m, bool moved);
ps_status ps_ownership_receive(ps_proxy_t *p, ps_proxy_kind kind, const ps_move *m);

#endif /* PS_PROXY_H */
