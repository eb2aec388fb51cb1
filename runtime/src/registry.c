/*
 * registry.c — the process-wide name -> store registry, store lifetime, and
 * the cleanup that runs at exit (see store.h for the two counts).
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "key.h"
#include "live_set.h"
#include "prefetch.h"
#include "store.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static ps_store *registry_head; /* registry_lock */
static pthread_once_t exit_hook_once = PTHREAD_ONCE_INIT;

/* At exit: stop the prefetch workers, then drop the opens still held (by
 * callers that never closed, and by stores ps_proxy_deserialize opened), so
 * connectors close and a leak checker sees nothing left behind.  A forked
 * child that exits leaves the stores it inherited alone: closing them would
 * let their connectors delete what the parent still uses (shm segments). */
static void shutdown_at_exit(void)
{
    ps_prefetch_shutdown();
    pid_t self = getpid();
    ps_store *closing = NULL;
    pthread_mutex_lock(&registry_lock);
    ps_store **pp = &registry_head;
    while (*pp) {
        ps_store *s = *pp;
        if (s->owner != self) {
            pp = &s->next;
            continue;
        }
        *pp = s->next;
        __atomic_store_n(&s->opens, 0, __ATOMIC_RELAXED);
        s->next = closing;
        closing = s;
    }
    pthread_mutex_unlock(&registry_lock);
    while (closing) {
        ps_store *next = closing->next;
        closing->next = NULL;
        ps_store_unref(closing);
        closing = next;
    }
}

static void install_exit_hook(void)
{
    atexit(shutdown_at_exit);
}

ps_status ps_store_name_check(const char *name)
{
    if (!name)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "no store name given");
    if (!ps_key_valid(name))
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "invalid store name '%.80s': names are 1-%d bytes of "
                            "letters, digits and . _ : -, not starting with '.'", name, PS_KEY_MAX - 1);
    return PS_OK;
}

static ps_store *find_locked(const char *name)
{
    for (ps_store *s = registry_head; s; s = s->next)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

static ps_status url_clash(const ps_store *s, const char *url)
{
    return ps_error_set(PS_ERR_EXISTS, "store '%s' is already open with URL '%s', not '%s'", s->name,
                        s->url, url);
}

/* A new store with its connector open, not yet registered.  No lock is
 * held: opening a connector may wait for a server (a Redis connect or PING
 * takes up to its timeout), and every other open, close and lookup in the
 * process would wait with it. */
static ps_store *store_new(const char *name, const char *url, size_t cache_size)
{
    ps_store *s = ps_calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (!(s->name = ps_strdup(name)) || !(s->url = ps_strdup(url)) ||
        ps_cache_init(&s->cache, cache_size) != PS_OK)
        goto fail;
    if (ps_connector_open(url, &s->conn) != PS_OK) {
        ps_error_wrap("opening store '%s'", name);
        ps_cache_destroy(&s->cache);
        goto fail;
    }
    s->owner = getpid();
    return s;
fail:
    free(s->name);
    free(s->url);
    free(s);
    return NULL;
}

/* A store that lost the race to register its name: nothing was put through
 * it, so closing its connector deletes nothing. */
static void store_discard(ps_store *s)
{
    ps_cache_destroy(&s->cache);
    s->conn->ops->close(s->conn);
    free(s->name);
    free(s->url);
    free(s);
}

/* Register fresh under its name; registry_lock held. */
static ps_status register_locked(ps_store *fresh)
{
    if (ps_live_set_add(&ps_live_stores, fresh) != PS_OK)
        return PS_ERR_NO_MEMORY;
    fresh->opens = 1;
    fresh->refs = 1; /* held by the opens together */
    fresh->next = registry_head;
    registry_head = fresh;
    pthread_once(&exit_hook_once, install_exit_hook);
    return PS_OK;
}

/* The store registered as name with url — found, or opened and registered —
 * with an open (ps_store_open) or a reference (ps_store_attach) taken.  Two
 * threads opening a new name at once both open a connector; the first to
 * register wins and the other discards its own. */
static ps_store *find_or_open(const char *name, const char *url, size_t cache_size, bool as_open)
{
    ps_store *fresh = NULL;
    for (;;) {
        pthread_mutex_lock(&registry_lock);
        ps_store *s = find_locked(name);
        if (s && strcmp(s->url, url) != 0) {
            url_clash(s, url);
            s = NULL;
        } else if (s) {
            if (as_open)
                __atomic_add_fetch(&s->opens, 1, __ATOMIC_RELAXED);
            else
                ps_store_ref(s);
        } else if (fresh) {
            if (register_locked(fresh) == PS_OK) {
                s = fresh;
                fresh = NULL;
                if (!as_open)
                    ps_store_ref(s);
            }
        } else {
            pthread_mutex_unlock(&registry_lock);
            if (!(fresh = store_new(name, url, cache_size)))
                return NULL;
            continue;
        }
        pthread_mutex_unlock(&registry_lock);
        if (fresh)
            store_discard(fresh);
        return s;
    }
}

ps_store *ps_store_open(const char *name, const char *url, const ps_store_options *opts)
{
    if (ps_store_name_check(name) != PS_OK)
        return NULL;
    if (!url) {
        ps_error_set(PS_ERR_BAD_URL, "no URL given for store '%s'", name);
        return NULL;
    }
    size_t cache_size = PS_STORE_DEFAULT_CACHE;
    if (opts && opts->cache_size >= 0)
        cache_size = (size_t)opts->cache_size;
    ps_store *s = find_or_open(name, url, cache_size, true);
    /* Like the cache size, the first open that gives a lease sets it. */
    unsigned none = 0;
    if (s && opts && opts->borrow_lease_ms)
        __atomic_compare_exchange_n(&s->borrow_lease_ms, &none, opts->borrow_lease_ms, false, __ATOMIC_RELAXED,
                                    __ATOMIC_RELAXED);
    return s;
}

ps_store *ps_store_attach(const char *name, const char *url)
{
    if (ps_store_name_check(name) != PS_OK)
        return NULL;
    return find_or_open(name, url, PS_STORE_DEFAULT_CACHE, false);
}

ps_store *ps_store_lookup(const char *name)
{
    if (!name)
        return NULL;
    pthread_mutex_lock(&registry_lock);
    ps_store *s = find_locked(name);
    pthread_mutex_unlock(&registry_lock);
    return s;
}

void ps_store_close(ps_store *store)
{
    if (!store)
        return;
    pthread_mutex_lock(&registry_lock);
    /* Only a registered store is touched: a handle closed too often is
     * reported, never dereferenced. */
    ps_store **pp = &registry_head;
    while (*pp && *pp != store)
        pp = &(*pp)->next;
    if (!*pp) {
        pthread_mutex_unlock(&registry_lock);
        ps_error_set(PS_ERR_CLOSED, "ps_store_close: not an open store (closed more often than opened?)");
        return;
    }
    bool last = __atomic_sub_fetch(&store->opens, 1, __ATOMIC_RELAXED) == 0;
    if (last) {
        *pp = store->next;
        store->next = NULL;
    }
    pthread_mutex_unlock(&registry_lock);
    if (last)
        ps_store_unref(store);
}

void ps_store_ref(ps_store *store)
{
    __atomic_add_fetch(&store->refs, 1, __ATOMIC_RELAXED);
}

void ps_store_unref(ps_store *store)
{
    if (!store || __atomic_sub_fetch(&store->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    ps_live_set_remove(&ps_live_stores, store);
    /* Cached entries may hold connector blobs: release them first. */
    ps_cache_destroy(&store->cache);
    store->conn->ops->close(store->conn);
    free(store->name);
    free(store->url);
    free(store);
}

ps_status ps_store_live(const ps_store *store, const char *fn)
{
    const char *sep = fn ? ": " : "";
    fn = fn ? fn : "";
    if (!store)
        return ps_error_set(PS_ERR_INVALID_ARGUMENT, "%s%sno store given", fn, sep);
    if (!ps_live_set_contains(&ps_live_stores, store))
        return ps_error_set(PS_ERR_CLOSED, "%s%sstore handle %p is not an open store (closed by every "
                            "opener and released, or never a store)", fn, sep, (const void *)store);
    return PS_OK;
}

ps_status ps_store_usable(const ps_store *store)
{
    ps_status st = ps_store_live(store, NULL);
    if (st != PS_OK)
        return st;
    if (__atomic_load_n(&store->opens, __ATOMIC_RELAXED) <= 0)
        return ps_error_set(PS_ERR_CLOSED, "store '%s' is closed", store->name);
    return PS_OK;
}

const char *ps_store_name(const ps_store *store)
{
    return ps_store_live(store, "ps_store_name") == PS_OK ? store->name : NULL;
}

const char *ps_store_url(const ps_store *store)
{
    return ps_store_live(store, "ps_store_url") == PS_OK ? store->url : NULL;
}
