/*
 * lifetime.c — scope, lease and static lifetimes (docs/ownership.md).
 *
 * A lifetime is a list of (store, key) pairs that it evicts when it ends;
 * each pair holds a store reference, so the eviction works even after every
 * opener closed the store.  A lease also gives each object its expiry in
 * the store (ps_store_set_expiry, or the header of an object put into the
 * lease), so the objects of a process that dies before its lease ends
 * still go away: the Redis server deletes them, shm and file read them as
 * missing.
 *
 * The lease's timer and ps_lifetime_extend meet under the lifetime's lock:
 * the timer callback ends the lease only if its end, read under the lock,
 * has passed; an extend that came first has pushed the end and re-armed the
 * timer, so the callback just goes back to sleep.
 *
 * Handles are recorded in a live set: a freed handle is refused with an
 * error, never read.
 */
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "key.h"
#include "live_set.h"
#include "proxy.h"
#include "timer.h"

typedef enum { LIFETIME_SCOPE, LIFETIME_LEASE, LIFETIME_STATIC } lifetime_kind;

typedef struct lifetime_entry {
    ps_store *store; /* a reference */
    char key[PS_KEY_MAX];
} lifetime_entry;

struct ps_lifetime {
    ps_timer timer; /* first: the callback finds the lifetime from it */
    lifetime_kind kind;
    pthread_mutex_t lock;
    bool ended;              /* lock */
    uint64_t ends_ms;        /* leases: Unix ms (lock) */
    uint64_t ends_ns;        /* leases: the same on CLOCK_MONOTONIC (lock) */
    lifetime_entry *entries; /* lock */
    size_t n, cap;
};

static ps_live_set live_lifetimes = PS_LIVE_SET_INIT;
static const char *const kind_names[] = {"scope", "lease", "static"};

static ps_status check(const ps_lifetime *lt, const char *fn)
{
    if (!lt)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: no lifetime given", fn);
    if (!ps_live_set_contains(&live_lifetimes, lt))
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: %p is not a live lifetime (freed already?)", fn,
                            (const void *)lt);
    return PS_OK;
}

/* Evict everything and forget it.  Lock held; the evictions' first error
 * is returned (every key is tried). */
static ps_status end_locked(ps_lifetime *lt)
{
    if (lt->ended)
        return PS_OK;
    lt->ended = true;
    ps_status first = PS_OK;
    ps_saved_error saved;
    for (size_t i = 0; i < lt->n; i++) {
        ps_status st = ps_store_evict_key(lt->entries[i].store, lt->entries[i].key);
        if (st != PS_OK && first == PS_OK) {
            first = st;
            ps_error_save(&saved);
        }
        ps_store_unref(lt->entries[i].store);
    }
    free(lt->entries);
    lt->entries = NULL;
    lt->n = lt->cap = 0;
    if (first != PS_OK)
        ps_error_restore(&saved);
    return first;
}

static void lease_fire(ps_timer *t)
{
    ps_lifetime *lt = (ps_lifetime *)t;
    pthread_mutex_lock(&lt->lock);
    if (!lt->ended) {
        if (ps_timer_now_ns() < lt->ends_ns) {
            ps_timer_arm(t, lt->ends_ns); /* extended meanwhile */
        } else {
            ps_saved_error saved;
            ps_error_save(&saved);
            end_locked(lt);
            ps_error_restore(&saved);
        }
    }
    pthread_mutex_unlock(&lt->lock);
}

static ps_lifetime *lifetime_new(lifetime_kind kind)
{
    ps_lifetime *lt = ps_calloc(1, sizeof *lt);
    if (!lt)
        return NULL;
    lt->kind = kind;
    lt->timer.fire = lease_fire;
    pthread_mutex_init(&lt->lock, NULL);
    if (ps_live_set_add(&live_lifetimes, lt) != PS_OK) {
        pthread_mutex_destroy(&lt->lock);
        free(lt);
        return NULL;
    }
    return lt;
}

ps_lifetime *ps_lifetime_scope(void)
{
    return lifetime_new(LIFETIME_SCOPE);
}

ps_lifetime *ps_lifetime_lease(uint64_t ms)
{
    if (ms == 0 || ms > UINT64_C(1) << 40) {
        ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_lifetime_lease: a lease of %llu ms (give 1 ms to 2^40 ms)",
                     (unsigned long long)ms);
        return NULL;
    }
    ps_lifetime *lt = lifetime_new(LIFETIME_LEASE);
    if (!lt)
        return NULL;
    pthread_mutex_lock(&lt->lock);
    lt->ends_ms = ps_unix_ms() + ms;
    lt->ends_ns = ps_timer_now_ns() + ms * 1000000u;
    ps_status st = ps_timer_arm(&lt->timer, lt->ends_ns);
    pthread_mutex_unlock(&lt->lock);
    if (st != PS_OK) {
        ps_live_set_remove(&live_lifetimes, lt);
        pthread_mutex_destroy(&lt->lock);
        free(lt);
        return NULL;
    }
    return lt;
}

static ps_lifetime *static_lifetime;
static pthread_once_t static_once = PTHREAD_ONCE_INIT;

static void static_at_exit(void)
{
    ps_lifetime *lt = static_lifetime;
    pthread_mutex_lock(&lt->lock);
    end_locked(lt);
    pthread_mutex_unlock(&lt->lock);
}

static void make_static(void)
{
    static_lifetime = lifetime_new(LIFETIME_STATIC);
    if (static_lifetime)
        atexit(static_at_exit);
}

ps_lifetime *ps_lifetime_static(void)
{
    pthread_once(&static_once, make_static);
    if (!static_lifetime)
        ps_error_set(PS_ERR_NO_MEMORY, "ps_lifetime_static: out of memory making the static lifetime");
    return static_lifetime;
}

/* Record (store, key); lock held, lifetime open. */
static ps_status add_locked(ps_lifetime *lt, ps_store *store, const char *key)
{
    if (lt->n == lt->cap) {
        size_t cap = lt->cap ? lt->cap * 2 : 16;
        lifetime_entry *grown = realloc(lt->entries, cap * sizeof *grown);
        if (!grown)
            return ps_error_set(PS_ERR_NO_MEMORY, "out of memory adding '%s' to a lifetime", key);
        lt->entries = grown;
        lt->cap = cap;
    }
    lifetime_entry *e = &lt->entries[lt->n++];
    ps_store_ref(store);
    e->store = store;
    memcpy(e->key, key, strlen(key) + 1);
    return PS_OK;
}

/* The checks every add makes; lock held. */
static ps_status can_add(ps_lifetime *lt, const char *fn)
{
    if (lt->ended)
        return ps_error_set(PS_ERR_STATE, "%s: the %s lifetime has ended; nothing can be added to it", fn,
                            kind_names[lt->kind]);
    return PS_OK;
}

ps_status ps_lifetime_add_key(ps_lifetime *lt, ps_store *store, const char *key)
{
    const char *fn = "ps_lifetime_add_key";
    ps_status st = check(lt, fn);
    if (st != PS_OK || (st = ps_store_usable(store)) != PS_OK || (st = ps_key_check(key)) != PS_OK)
        return st;
    pthread_mutex_lock(&lt->lock);
    st = can_add(lt, fn);
    if (st == PS_OK && lt->kind == LIFETIME_LEASE)
        st = ps_store_set_expiry(store, key, lt->ends_ms);
    if (st == PS_OK)
        st = add_locked(lt, store, key);
    pthread_mutex_unlock(&lt->lock);
    return st;
}

ps_status ps_lifetime_add_proxy(ps_lifetime *lt, ps_proxy_t *proxy)
{
    const char *fn = "ps_lifetime_add_proxy";
    ps_status st = check(lt, fn);
    if (st != PS_OK || (st = ps_proxy_check(proxy, fn)) != PS_OK)
        return st;
    if (proxy->kind != PS_KIND_PLAIN)
        return ps_error_set(PS_ERR_STATE, "%s: '%s' is an %s proxy: an owned proxy or a borrow cannot also be "
                            "in a lifetime (its owner evicts it)", fn, proxy->key, ps_proxy_kind_name(proxy->kind));
    pthread_mutex_lock(&lt->lock);
    st = can_add(lt, fn);
    if (st == PS_OK && lt->kind == LIFETIME_LEASE)
        st = ps_store_set_expiry(proxy->store, proxy->key, lt->ends_ms);
    if (st == PS_OK)
        st = add_locked(lt, proxy->store, proxy->key);
    pthread_mutex_unlock(&lt->lock);
    if (st == PS_OK) {
        pthread_mutex_lock(&proxy->lock);
        proxy->in_lifetime = true;
        pthread_mutex_unlock(&proxy->lock);
    }
    return st;
}

ps_proxy_t *ps_lifetime_proxy(ps_lifetime *lt, ps_store *store, const ps_type *type, const void *obj)
{
    const char *fn = "ps_lifetime_proxy";
    if (check(lt, fn) != PS_OK)
        return NULL;
    pthread_mutex_lock(&lt->lock);
    ps_proxy_t *p = NULL;
    char key[PS_KEY_MAX];
    ps_object_info info;
    ps_status st = can_add(lt, fn);
    /* A lease's object carries its expiry from the first byte written. */
    if (st == PS_OK)
        st = ps_store_put_expiring(store, NULL, type, obj, 1, lt->kind == LIFETIME_LEASE ? lt->ends_ms : 0, key,
                                   &info);
    if (st == PS_OK && (st = add_locked(lt, store, key)) != PS_OK) {
        ps_saved_error saved;
        ps_error_save(&saved);
        ps_store_evict_key(store, key);
        ps_error_restore(&saved);
    }
    if (st == PS_OK) {
        ps_proxy_facts facts = {type->name, info.elem_size, info.count, info.payload_len, info.payload_hash,
                                info.flags == PS_OBJECT_POD};
        p = ps_proxy_make(store, type, key, &facts);
        if (p)
            p->in_lifetime = true; /* the object stays the lifetime's if this fails */
    }
    pthread_mutex_unlock(&lt->lock);
    return p;
}

ps_status ps_lifetime_extend(ps_lifetime *lt, uint64_t ms)
{
    const char *fn = "ps_lifetime_extend";
    ps_status st = check(lt, fn);
    if (st != PS_OK)
        return st;
    if (lt->kind != LIFETIME_LEASE)
        return ps_error_set(PS_ERR_STATE, "%s: a %s lifetime has no expiry to extend", fn, kind_names[lt->kind]);
    if (ms > UINT64_C(1) << 40)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s: %llu ms is too long", fn, (unsigned long long)ms);
    pthread_mutex_lock(&lt->lock);
    if (lt->ended) {
        st = ps_error_set(PS_ERR_STATE, "%s: the lease has ended already (its objects are evicted)", fn);
    } else {
        lt->ends_ms += ms;
        lt->ends_ns += ms * 1000000u;
        st = ps_timer_arm(&lt->timer, lt->ends_ns);
        /* The objects' own expiry follows; a key evicted by someone else
         * meanwhile is not an error of the lease. */
        for (size_t i = 0; i < lt->n && st == PS_OK; i++) {
            st = ps_store_set_expiry(lt->entries[i].store, lt->entries[i].key, lt->ends_ms);
            if (st == PS_ERR_NOT_FOUND)
                st = PS_OK;
        }
    }
    pthread_mutex_unlock(&lt->lock);
    return st;
}

bool ps_lifetime_done(const ps_lifetime *lt)
{
    if (check(lt, "ps_lifetime_done") != PS_OK)
        return false;
    ps_lifetime *l = (ps_lifetime *)lt;
    pthread_mutex_lock(&l->lock);
    bool ended = l->ended;
    pthread_mutex_unlock(&l->lock);
    return ended;
}

ps_status ps_lifetime_close(ps_lifetime *lt)
{
    ps_status st = check(lt, "ps_lifetime_close");
    if (st != PS_OK)
        return st;
    pthread_mutex_lock(&lt->lock);
    st = end_locked(lt);
    pthread_mutex_unlock(&lt->lock);
    return st;
}

ps_status ps_lifetime_free(ps_lifetime *lt)
{
    ps_status st = check(lt, "ps_lifetime_free");
    if (st != PS_OK)
        return st;
    if (lt == static_lifetime)
        return ps_error_set(PS_ERR_STATE, "ps_lifetime_free: the static lifetime lasts until exit (close it to "
                            "end it early)");
    if (!ps_live_set_remove(&live_lifetimes, lt))
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "ps_lifetime_free: the lifetime was freed twice at once");
    ps_timer_cancel(&lt->timer);
    pthread_mutex_lock(&lt->lock);
    st = end_locked(lt);
    pthread_mutex_unlock(&lt->lock);
    pthread_mutex_destroy(&lt->lock);
    free(lt);
    return st;
}
